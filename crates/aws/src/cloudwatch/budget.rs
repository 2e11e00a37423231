//! The scan budget: how many bytes a run may have Logs Insights scan, checked against each
//! query's estimate *before* the query starts.
//!
//! Logs Insights bills bytes scanned ($0.005 per GB in us-east-1, CloudWatch pricing page),
//! and a query over `/aws/eks/<cluster>/cluster` scans every stream of the window, the large
//! audit streams included. So every query is estimated first (the `estimate` command, which
//! costs nothing; [`Insights::estimate`](super::Insights::estimate)) and admitted by
//! [`ScanBudget::reserve`], which refuses once the estimates admitted so far plus this one
//! would pass the limit. When the query completes, [`Reservation::record`] replaces its
//! estimate with the bytes the service says it scanned.
//!
//! One budget is shared, through an `Arc`, by every query of a run, whatever runs them
//! concurrently (regions, accounts, audit windows): it knows nothing about clusters,
//! reports or the CLI.
//!
//! ```
//! use std::sync::Arc;
//! use eks_authlog_aws::cloudwatch::budget::ScanBudget;
//!
//! let budget = Arc::new(ScanBudget::from_gb(1.0));
//! let r = budget.reserve(600e6, "recent on /aws/eks/demo/cluster").unwrap();
//! assert!(budget.reserve(600e6, "audit-unauthorized on /aws/eks/demo/cluster").is_err());
//! r.record(Some(450e6)); // the query scanned less than estimated
//! assert!(budget.reserve(500e6, "audit-unauthorized on /aws/eks/demo/cluster").is_ok());
//! ```

use std::fmt;
use std::sync::{Arc, Mutex};

/// Bytes per GB as Logs Insights bills them (decimal).
pub const BYTES_PER_GB: f64 = 1e9;

/// The default `--max-scan-gb`: 10 GB, $0.05 at the us-east-1 list price. A day of a busy
/// cluster's control-plane logs (audit included) fits, so the usual incident question runs
/// without a flag; a month over every cluster of a region, which can cost dollars per run,
/// stops and asks for `--max-scan-gb` or `--yes`.
pub const DEFAULT_MAX_SCAN_GB: f64 = 10.0;

/// A limit on bytes scanned, shared by every query of a run (thread-safe: share it with
/// `Arc`). [`ScanBudget::unlimited`] admits everything but still counts.
#[derive(Debug)]
pub struct ScanBudget {
    limit: Option<f64>,
    ledger: Mutex<Ledger>,
}

#[derive(Debug, Default)]
struct Ledger {
    /// Estimates of admitted queries still running.
    held: f64,
    /// Bytes of finished queries: what the service reported, else their estimate.
    spent: f64,
    /// Every estimate admitted (what the run was expected to scan).
    estimated: f64,
    /// Queries admitted with no estimate (unlimited budgets only).
    unestimated: u64,
}

/// Why [`ScanBudget`] refused a query. Nothing was started: the run stops before spending.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BudgetError {
    /// The query's estimate does not fit in what is left.
    #[error(
        "{what} would scan about {} (its estimate), more than the {} left of the {} scan \
         budget; nothing more was started. Narrow the window (--since/--until), raise \
         --max-scan-gb, or pass --yes to run without a budget",
        Bytes(*.estimate_bytes), Bytes(*.left_bytes), Bytes(*.limit_bytes)
    )]
    Exceeded {
        /// The query (name and log group, or what the caller passed).
        what: String,
        /// Its estimate, bytes.
        estimate_bytes: f64,
        /// The budget left before it, bytes.
        left_bytes: f64,
        /// The whole budget, bytes.
        limit_bytes: f64,
    },
    /// The query has no estimate, so the budget cannot be checked.
    #[error(
        "{what}: the bytes it would scan are unknown ({why}), so the {} scan budget cannot be \
         checked; nothing more was started. Pass --yes to run it without an estimate",
        Bytes(*.limit_bytes)
    )]
    Unknown {
        /// The query.
        what: String,
        /// Why there is no estimate.
        why: String,
        /// The whole budget, bytes.
        limit_bytes: f64,
    },
}

/// An admitted query's hold on the budget. [`Reservation::record`] settles it with the
/// bytes actually scanned; dropping it (the query never ran) releases the hold.
#[must_use = "record the bytes scanned, or drop the reservation if the query did not run"]
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<ScanBudget>,
    bytes: f64,
    settled: bool,
}

impl ScanBudget {
    /// A budget of `limit_bytes` (negative or NaN counts as 0).
    pub fn new(limit_bytes: f64) -> ScanBudget {
        ScanBudget {
            limit: Some(if limit_bytes > 0.0 { limit_bytes } else { 0.0 }),
            ledger: Mutex::new(Ledger::default()),
        }
    }

    /// A budget of `gb` decimal gigabytes (`--max-scan-gb`).
    pub fn from_gb(gb: f64) -> ScanBudget {
        ScanBudget::new(gb * BYTES_PER_GB)
    }

    /// No limit (`--yes`): everything is admitted, and still counted.
    pub fn unlimited() -> ScanBudget {
        ScanBudget {
            limit: None,
            ledger: Mutex::new(Ledger::default()),
        }
    }

    /// The limit in bytes; `None` when unlimited.
    pub fn limit_bytes(&self) -> Option<f64> {
        self.limit
    }

    /// What is left: the limit minus finished queries' bytes and running queries' estimates.
    pub fn left_bytes(&self) -> Option<f64> {
        let l = self.ledger.lock().unwrap();
        self.limit.map(|limit| (limit - l.spent - l.held).max(0.0))
    }

    /// Bytes of finished queries (as reported, else as estimated).
    pub fn spent_bytes(&self) -> f64 {
        self.ledger.lock().unwrap().spent
    }

    /// Sum of every estimate admitted so far.
    pub fn estimated_bytes(&self) -> f64 {
        self.ledger.lock().unwrap().estimated
    }

    /// Admits a query estimated to scan `estimated_bytes`, or refuses with
    /// [`BudgetError::Exceeded`] naming `what`, the estimate and what is left.
    pub fn reserve(
        self: &Arc<Self>,
        estimated_bytes: f64,
        what: &str,
    ) -> Result<Reservation, BudgetError> {
        let bytes = if estimated_bytes.is_finite() {
            estimated_bytes.max(0.0)
        } else {
            f64::INFINITY
        };
        let mut l = self.ledger.lock().unwrap();
        if let Some(limit) = self.limit {
            let left = (limit - l.spent - l.held).max(0.0);
            if bytes > left {
                return Err(BudgetError::Exceeded {
                    what: what.to_owned(),
                    estimate_bytes: bytes,
                    left_bytes: left,
                    limit_bytes: limit,
                });
            }
        }
        l.held += bytes;
        l.estimated += bytes;
        Ok(Reservation {
            budget: Arc::clone(self),
            bytes,
            settled: false,
        })
    }

    /// Admits a query whose scan could not be estimated (`why`): only an unlimited budget
    /// does; a limited one refuses with [`BudgetError::Unknown`].
    pub fn reserve_unknown(
        self: &Arc<Self>,
        what: &str,
        why: &str,
    ) -> Result<Reservation, BudgetError> {
        if let Some(limit) = self.limit {
            return Err(BudgetError::Unknown {
                what: what.to_owned(),
                why: why.to_owned(),
                limit_bytes: limit,
            });
        }
        self.ledger.lock().unwrap().unestimated += 1;
        Ok(Reservation {
            budget: Arc::clone(self),
            bytes: 0.0,
            settled: false,
        })
    }
}

impl Reservation {
    /// The estimate this reservation holds, bytes.
    pub fn bytes(&self) -> f64 {
        self.bytes
    }

    /// Settles the reservation once its query finished: `actual_bytes` is the service's
    /// `statistics.bytesScanned`; `None` (no statistics, as from emulators) counts the
    /// estimate as spent.
    pub fn record(mut self, actual_bytes: Option<f64>) {
        let mut l = self.budget.ledger.lock().unwrap();
        l.held -= self.bytes;
        l.spent += actual_bytes.filter(|b| b.is_finite()).unwrap_or(self.bytes);
        self.settled = true;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.settled {
            self.budget.ledger.lock().unwrap().held -= self.bytes;
        }
    }
}

/// Bytes for people: `812 B`, `1.4 MB`, `12.0 GB` (decimal, as billed).
#[derive(Clone, Copy, Debug)]
pub struct Bytes(pub f64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if !b.is_finite() {
            return f.write_str("an unknown amount");
        }
        match b {
            b if b < 1e3 => write!(f, "{b:.0} B"),
            b if b < 1e6 => write!(f, "{:.1} kB", b / 1e3),
            b if b < 1e9 => write!(f, "{:.1} MB", b / 1e6),
            b if b < 1e12 => write!(f, "{:.2} GB", b / 1e9),
            b => write!(f, "{:.2} TB", b / 1e12),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_does_not_fit_and_names_it() {
        let b = Arc::new(ScanBudget::new(1000.0));
        let r1 = b.reserve(600.0, "a on g").unwrap();
        let e = b.reserve(500.0, "b on g").unwrap_err();
        assert_eq!(
            e,
            BudgetError::Exceeded {
                what: "b on g".into(),
                estimate_bytes: 500.0,
                left_bytes: 400.0,
                limit_bytes: 1000.0
            }
        );
        let text = e.to_string();
        for part in [
            "b on g",
            "500 B",
            "400 B",
            "1.0 kB",
            "--max-scan-gb",
            "--yes",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        assert_eq!(b.left_bytes(), Some(400.0));
        r1.record(Some(100.0));
        assert_eq!(b.spent_bytes(), 100.0);
        assert_eq!(b.left_bytes(), Some(900.0));
        assert!(b.reserve(500.0, "b on g").is_ok());
        assert_eq!(b.estimated_bytes(), 1100.0);
    }

    #[test]
    fn a_dropped_reservation_is_released_and_no_statistics_spends_the_estimate() {
        let b = Arc::new(ScanBudget::new(1000.0));
        drop(b.reserve(900.0, "x").unwrap());
        assert_eq!(b.left_bytes(), Some(1000.0));
        b.reserve(300.0, "y").unwrap().record(None);
        assert_eq!(b.spent_bytes(), 300.0);
        assert_eq!(b.left_bytes(), Some(700.0));
        // A NaN or infinite estimate never fits a limited budget.
        assert!(b.reserve(f64::NAN, "z").is_err());
    }

    #[test]
    fn unknown_estimates_pass_only_an_unlimited_budget() {
        let limited = Arc::new(ScanBudget::from_gb(1.0));
        let e = limited
            .reserve_unknown("q on g", "no estimate")
            .unwrap_err();
        assert!(e.to_string().contains("--yes"), "{e}");
        let open = Arc::new(ScanBudget::unlimited());
        open.reserve_unknown("q on g", "no estimate")
            .unwrap()
            .record(Some(5e9));
        assert!(open.reserve(1e15, "huge").is_ok());
        assert_eq!(open.left_bytes(), None);
        assert_eq!(open.spent_bytes(), 5e9);
    }

    #[test]
    fn shared_across_threads_the_limit_holds() {
        let b = Arc::new(ScanBudget::new(10_000.0));
        let admitted: usize = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|_| {
                    let b = Arc::clone(&b);
                    s.spawn(move || {
                        (0..100)
                            .filter_map(|_| b.reserve(30.0, "q").ok())
                            .map(|r| r.record(Some(30.0)))
                            .count()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(admitted, 333);
        assert!(b.spent_bytes() <= 10_000.0);
    }

    #[test]
    fn bytes_read_like_the_bill() {
        assert_eq!(Bytes(812.0).to_string(), "812 B");
        assert_eq!(Bytes(1.44e6).to_string(), "1.4 MB");
        assert_eq!(Bytes(12e9).to_string(), "12.00 GB");
        assert_eq!(Bytes(f64::INFINITY).to_string(), "an unknown amount");
    }
}
