//! The finished report: plain owned data, serialized as the `eks-authlog.report/v1` document.
//!
//! Field names here are the JSON contract documented in the README; the golden tests decode
//! them field by field. Lists are sorted so output is deterministic.

use std::collections::BTreeMap;

use super::HashMap;

use serde::Serialize;

use crate::classify::{self, Arn, Class, RemedyContext};
use crate::event::Kind;
use crate::merge::Merge;
use crate::time::format_ms;

use super::creator::CreatorStatus;
use super::{Analyzer, FailureAcc, HOUR_MS};

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Time covered by the events read.
    pub window: Coverage,
    /// Every line read, and what became of it.
    pub events: LineCounts,
    /// Who created the cluster.
    pub creator: Creator,
    /// Failures by class.
    pub failures: Failures,
    /// Who authenticated as whom, and who was denied.
    pub principals: Principals,
    /// Failures over time.
    pub timeline: Timeline,
    /// What the kube-apiserver audit events say (only when the inputs held audit events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<crate::audit::AuditSection>,
}

/// Time covered.
#[derive(Clone, Debug, Serialize)]
pub struct Coverage {
    /// Earliest event time (RFC 3339), or null.
    pub start: Option<String>,
    /// Latest event time (RFC 3339), or null.
    pub end: Option<String>,
    /// `--since`, when given.
    pub since: Option<String>,
    /// `--until`, when given.
    pub until: Option<String>,
}

/// Line accounting: `total == parsed + unparsed + not_authenticator`.
#[derive(Clone, Debug, Serialize)]
pub struct LineCounts {
    /// Lines read.
    pub total: u64,
    /// Lines parsed as authenticator (logrus) lines.
    pub parsed: u64,
    /// Lines that could not be parsed.
    pub unparsed: u64,
    /// Lines recognised as something else (blank, klog, version banner, Go runtime).
    pub not_authenticator: u64,
    /// Unparsed lines by reason.
    pub unparsed_by_reason: BTreeMap<&'static str, u64>,
    /// Non-authenticator lines by reason.
    pub not_authenticator_by_reason: BTreeMap<&'static str, u64>,
    /// Parsed lines outside `--since`/`--until`.
    pub outside_window: u64,
    /// Grants and denials left out by `--principal`.
    pub filtered_out: u64,
    /// Parsed lines whose time was outside 2000–2100 and was not used (their time is null).
    /// Omitted when zero.
    #[serde(skip_serializing_if = "is_zero")]
    pub implausible_time: u64,
    /// Events CloudWatch returned for the window whose own `time=` lies outside it: kept,
    /// and counted here. Omitted when zero.
    #[serde(skip_serializing_if = "is_zero")]
    pub window_skew: u64,
    /// Responses, grants and denials that arrived further out of time order than the sort
    /// window allows (an event on their key that comes after them in time was already
    /// settled): counted, and never paired.
    pub out_of_order_beyond_window: u64,
    /// Parsed lines in the window, by kind (every kind present, zeros included).
    pub by_kind: BTreeMap<&'static str, u64>,
    /// Paste repairs by kind (only kinds that happened): records repaired, except `wrapped`
    /// and `pretty_json`, which count physical lines joined into the record before them.
    pub repairs: BTreeMap<&'static str, u64>,
    /// Where the first unparsed line was and why (`input:line: reason`), for `--strict`.
    /// Not serialised.
    #[serde(skip)]
    pub first_unparsed: Option<String>,
}

impl LineCounts {
    /// `--strict`: an error naming the first line that did not parse, if any did not.
    pub fn check_strict(&self) -> crate::error::Result<()> {
        if self.unparsed == 0 {
            return Ok(());
        }
        Err(crate::error::Error::Strict {
            unparsed: self.unparsed,
            first: self.first_unparsed.clone().unwrap_or_default(),
        })
    }

    /// One line accounting for every line read.
    pub fn summary(&self) -> String {
        let reasons = |m: &BTreeMap<&str, u64>| {
            if m.is_empty() {
                String::new()
            } else {
                let r: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v}")).collect();
                format!(" ({})", r.join(", "))
            }
        };
        let mut s = format!(
            "{} lines read: {} parsed, {} unparsed{}, {} not authenticator lines{}",
            self.total,
            self.parsed,
            self.unparsed,
            reasons(&self.unparsed_by_reason),
            self.not_authenticator,
            reasons(&self.not_authenticator_by_reason)
        );
        if self.outside_window > 0 {
            s.push_str(&format!(
                ", {} outside the time window",
                self.outside_window
            ));
        }
        if self.filtered_out > 0 {
            s.push_str(&format!(", {} left out by --principal", self.filtered_out));
        }
        if self.implausible_time > 0 {
            s.push_str(&format!(
                ", {} with an implausible time (not used)",
                self.implausible_time
            ));
        }
        if self.window_skew > 0 {
            s.push_str(&format!(
                ", {} kept with a time= outside the window (clock skew)",
                self.window_skew
            ));
        }
        if self.out_of_order_beyond_window > 0 {
            s.push_str(&format!(
                ", {} out of time order beyond the sort window (not paired)",
                self.out_of_order_beyond_window
            ));
        }
        if !self.repairs.is_empty() {
            s.push_str(&format!("; repaired{}", reasons(&self.repairs)));
        }
        s
    }
}

/// The creator section.
#[derive(Clone, Debug, Serialize)]
pub struct Creator {
    /// `found`, `ambiguous` or `not_found`.
    pub status: CreatorStatus,
    /// Every candidate, the likely creator first, then by strength of evidence.
    pub identities: Vec<CreatorIdentity>,
    /// What the answer rests on: disagreements between sources and how they were settled,
    /// and, when not found, what was searched and what was not available.
    pub reasons: Vec<String>,
    /// What to do next, with commands.
    pub next_steps: Vec<String>,
    /// The cluster's service role (`roleArn`), which is never the creator, when known.
    pub service_role: Option<String>,
    /// Each source of evidence: what was read and what it cost.
    pub sources: Vec<super::verdict::SourceUse>,
    /// Everything the answer was built from, for sources that join later.
    #[serde(skip)]
    pub(super) basis: Box<super::verdict::Basis>,
}

/// One identity mapped to `kubernetes-admin`.
#[derive(Clone, Debug, Serialize)]
pub struct CreatorIdentity {
    /// ARN as logged (first seen).
    pub arn: String,
    /// Canonical ARN (assumed-role sessions folded to the role).
    pub canonical_arn: String,
    /// Account id.
    pub account: Option<String>,
    /// IAM unique ids seen in `uid` (more than one: the principal was re-created).
    pub principal_ids: Vec<String>,
    /// Kubernetes groups.
    pub groups: Vec<String>,
    /// `mapping_static`, `access_granted`, `audit_kubernetes_admin`,
    /// `access_entry_bootstrap`, `cloudtrail_create_cluster`.
    pub evidence: Vec<&'static str>,
    /// Lines of evidence.
    pub count: u64,
    /// RFC 3339.
    pub first_seen: Option<String>,
    /// RFC 3339.
    pub last_seen: Option<String>,
    /// Whether this is the creator (with `found`) or the likeliest one (with `ambiguous`).
    pub likely_creator: bool,
    /// The person behind an assumed role: the CreateCluster call's session name.
    pub person: Option<String>,
    /// The CreateCluster calls CloudTrail has for it.
    pub create_cluster: Vec<crate::cloudtrail::CreateCall>,
    /// Its access entry, when that is creator evidence.
    pub access_entry: Option<super::verdict::EntryEvidence>,
    /// Whether it still exists (only when IAM was asked).
    pub iam: Option<crate::access::IamState>,
    /// How to get back in (only when IAM was asked).
    pub recovery: Option<super::recovery::Recovery>,
}

/// The failures section.
#[derive(Clone, Debug, Serialize)]
pub struct Failures {
    /// Failures shown (after `--class`).
    pub total: u64,
    /// By class, most frequent first.
    pub by_class: Vec<FailureClass>,
}

/// One failure class.
#[derive(Clone, Debug, Serialize)]
pub struct FailureClass {
    /// Class name (stable).
    pub class: Class,
    /// Family of the class.
    pub family: classify::Family,
    /// Who must fix it.
    pub fixer: classify::Fixer,
    /// What it means.
    pub meaning: &'static str,
    /// How many lines.
    pub count: u64,
    /// Principals denied, most frequent first (EKS-internal ones only with
    /// `--include-internal`).
    pub principals: Vec<Count>,
    /// Failures that carry no identity (token and STS failures).
    pub unattributed: u64,
    /// Failures of EKS-internal identities.
    pub internal: u64,
    /// RFC 3339.
    pub first_seen: Option<String>,
    /// RFC 3339.
    pub last_seen: Option<String>,
    /// The earliest failure of the class.
    pub example: Option<FailureExample>,
    /// What to do, filled with what is known.
    pub remedy: classify::Remedy,
    /// The top (source IP, user agent) pairs behind the failures without identity, from
    /// their audit 401s (only with audit events).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub callers: Vec<crate::audit::CallerCount>,
    /// How the failures without identity were paired with audit 401s (only with audit
    /// events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<ClassPairing>,
}

/// How a class's failures without identity were paired with audit 401s.
#[derive(Clone, Debug, Serialize)]
pub struct ClassPairing {
    /// One to one.
    pub exact: u64,
    /// Every candidate from the same caller.
    pub likely: u64,
    /// Candidates from several callers.
    pub ambiguous: u64,
    /// No 401 in the window.
    pub unmatched: u64,
}

/// A name and a count.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Count {
    /// ARN, username or class.
    pub name: String,
    /// How many.
    pub count: u64,
    /// Why the access configuration does not map this principal (not-mapped failures, when
    /// `--access-config` was given; see `report::diagnoses`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<Box<crate::access::Diagnosis>>,
    /// First and last failure of this principal in its class (epoch ms), for the fleet's
    /// findings. Not in `eks-authlog.report/v1`, whose class entries keep their shape.
    #[serde(skip)]
    pub span: Option<(i64, i64)>,
}

/// The earliest line of a class; of lines at the same time, the one whose text sorts first,
/// so that the example does not depend on the order the lines were read in.
#[derive(Clone, Debug, Serialize)]
pub struct FailureExample {
    /// RFC 3339, or null.
    pub time: Option<String>,
    /// The decoded `error` (or message, for health lines).
    pub error: String,
    /// Input name.
    pub input: String,
    /// Line number.
    pub line: u64,
}

/// The principals section.
#[derive(Clone, Debug, Serialize)]
pub struct Principals {
    /// EKS-internal principals not listed (see `--include-internal`).
    pub internal_hidden: u64,
    /// Principals, most denied first.
    pub list: Vec<Principal>,
}

/// One IAM principal (canonical ARN).
#[derive(Clone, Debug, Serialize)]
pub struct Principal {
    /// Canonical ARN.
    pub arn: String,
    /// Account id.
    pub account: Option<String>,
    /// Kubernetes usernames it was granted as.
    pub usernames: Vec<Count>,
    /// Grants.
    pub granted: u64,
    /// Denials.
    pub denied: u64,
    /// Denials by class.
    pub denied_by_class: Vec<Count>,
    /// RFC 3339.
    pub first_seen: Option<String>,
    /// RFC 3339.
    pub last_seen: Option<String>,
    /// EKS-internal identity.
    pub internal: bool,
    /// What the audit log shows of it: requests, usernames, unique ids, long-term keys (only
    /// when audit events name it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<crate::audit::PrincipalAudit>,
}

/// Failures over time.
#[derive(Clone, Debug, Serialize)]
pub struct Timeline {
    /// The bin width's name: `hour`, `day`, `week`, or `<n> weeks` (the finest of these that
    /// draws the whole span in at most 2000 bins).
    pub bin: String,
    /// The bin width in seconds. Bins start at multiples of it since 1970-01-01T00:00:00Z.
    pub bin_seconds: i64,
    /// Consecutive bins from the first failure to the last (empty bins included).
    pub bins: Vec<Bin>,
}

/// One time bin.
#[derive(Clone, Debug, Serialize)]
pub struct Bin {
    /// Start of the bin (RFC 3339).
    pub start: String,
    /// Failures in the bin.
    pub total: u64,
    /// Failures by class in the bin (non-zero only).
    pub by_class: BTreeMap<Class, u64>,
}

/// Longest span drawn in hours before switching to days; most bins ever drawn.
const HOURLY_UP_TO_HOURS: i64 = 72;
const MAX_BINS: usize = 2000;
const DAY_MS: i64 = 24 * HOUR_MS;
const WEEK_MS: i64 = 7 * DAY_MS;

/// The finest bin width that draws `span` ms in at most [`MAX_BINS`] bins: hours up to
/// [`HOURLY_UP_TO_HOURS`], then days, weeks, and whole numbers of weeks. A coarser bin,
/// rather than a cap on the number of bins, so that no event is ever put in a wrong bin.
fn bin_width(span: i64) -> (String, i64) {
    // Aligning the first and last bin to the width adds at most one bin to `span / width`.
    let fits = |width: i64| span / width + 2 <= MAX_BINS as i64;
    if span / HOUR_MS <= HOURLY_UP_TO_HOURS {
        return ("hour".to_owned(), HOUR_MS);
    }
    if fits(DAY_MS) {
        return ("day".to_owned(), DAY_MS);
    }
    if fits(WEEK_MS) {
        return ("week".to_owned(), WEEK_MS);
    }
    // `n * (MAX_BINS - 2) > span / WEEK_MS`, so `span / width <= MAX_BINS - 3`.
    let n = span / WEEK_MS / (MAX_BINS as i64 - 2) + 1;
    (format!("{n} weeks"), n * WEEK_MS)
}

pub(super) fn build(
    mut a: Analyzer,
    failures: HashMap<Class, FailureAcc>,
    hours: HashMap<(i64, Class), u64>,
) -> Report {
    // Audit evidence joins the creator and the principals before they are built.
    let (audit, mut pairings) = if a.audit.is_empty() {
        (None, BTreeMap::new())
    } else {
        for act in a.audit.admin_activity() {
            a.creator.add_audit(&act);
        }
        let (section, per_class) = a
            .audit
            .finish(a.opts.cluster.as_deref(), a.opts.region.as_deref());
        (Some(section), per_class)
    };
    let mut audit_principals = a.audit.principals();
    let opts = &a.opts;
    let acct = &a.accounting;
    let events = LineCounts {
        total: acct.read,
        parsed: acct.parsed,
        unparsed: acct.unparsed(),
        not_authenticator: acct.not_authenticator(),
        unparsed_by_reason: acct.reasons(false).collect(),
        not_authenticator_by_reason: acct.reasons(true).collect(),
        outside_window: acct.outside_window,
        filtered_out: a.filtered_out,
        implausible_time: acct.implausible_time,
        window_skew: acct.window_skew,
        out_of_order_beyond_window: a.corr.beyond_window(),
        // `audit` only when audit events were read, so authenticator-only reports keep
        // their shape.
        by_kind: Kind::ALL
            .iter()
            .filter(|k| **k != Kind::Audit || acct.by_kind[**k as usize] > 0)
            .map(|k| (k.as_str(), acct.by_kind[*k as usize]))
            .collect(),
        repairs: acct.repair_counts().collect(),
        first_unparsed: acct.first_unparsed_text(),
    };
    let window = Coverage {
        start: a.span.first.map(format_ms),
        end: a.span.last.map(format_ms),
        since: opts.since_ms.map(format_ms),
        until: opts.until_ms.map(format_ms),
    };
    let creator = creator_section(
        &a,
        a.principals.keys().any(|arn| {
            a.principals[arn]
                .usernames
                .keys()
                .any(|u| u.starts_with("arn:"))
        }),
    );
    let mut by_class: Vec<FailureClass> = failures
        .into_iter()
        .filter(|(c, _)| opts.keeps_class(*c))
        .map(|(class, acc)| {
            let mut c = failure_class(class, acc, opts);
            if let Some((callers, n)) = pairings.remove(&class) {
                c.callers = callers;
                c.attribution = Some(ClassPairing {
                    exact: n[0],
                    likely: n[1],
                    ambiguous: n[2],
                    unmatched: n[3],
                });
            }
            c
        })
        .collect();
    by_class.sort_by(|x, y| y.count.cmp(&x.count).then(x.class.cmp(&y.class)));
    let total = by_class.iter().map(|c| c.count).sum();

    let mut list = Vec::new();
    let mut internal_hidden = 0;
    let mut principals: Vec<(String, super::PrincipalAcc)> = a.principals.into_iter().collect();
    // Principals only the audit log names join the list with no authenticator lines.
    for arn in audit_principals.keys() {
        if !principals.iter().any(|(p, _)| p == arn) {
            principals.push((
                arn.clone(),
                super::PrincipalAcc {
                    internal: super::is_internal(Some(arn), None),
                    ..super::PrincipalAcc::default()
                },
            ));
        }
    }
    for (arn, mut p) in principals {
        let audit = audit_principals.remove(&arn).map(|(pa, first, last)| {
            p.span.merge(super::Span { first, last });
            p.internal |= pa.usernames.iter().any(|u| u.name.starts_with("eks:"));
            pa
        });
        if p.internal && !opts.include_internal {
            internal_hidden += 1;
            continue;
        }
        list.push(Principal {
            account: account_of(&arn),
            arn,
            usernames: sorted_counts(p.usernames.into_iter()),
            granted: p.granted,
            denied: p.denied,
            denied_by_class: sorted_counts(
                p.denied_by_class
                    .into_iter()
                    .map(|(c, n)| (c.as_str().to_owned(), n)),
            ),
            first_seen: p.span.first.map(format_ms),
            last_seen: p.span.last.map(format_ms),
            internal: p.internal,
            audit,
        });
    }
    list.sort_by(|x, y| {
        y.denied
            .cmp(&x.denied)
            .then(y.granted.cmp(&x.granted))
            .then(x.arn.cmp(&y.arn))
    });

    let timeline = timeline(hours.into_iter().filter(|((_, c), _)| opts.keeps_class(*c)));
    Report {
        window,
        events,
        creator,
        failures: Failures { total, by_class },
        principals: Principals {
            internal_hidden,
            list,
        },
        timeline,
        audit,
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

pub(crate) fn account_of(arn: &str) -> Option<String> {
    Arn::parse(arn)
        .ok()
        .map(|a| a.account().to_owned())
        .filter(|a| !a.is_empty())
}

fn sorted_counts(it: impl Iterator<Item = (String, u64)>) -> Vec<Count> {
    let mut v: Vec<Count> = it
        .map(|(name, count)| Count {
            name,
            count,
            diagnosis: None,
            span: None,
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
    v
}

fn failure_class(class: Class, acc: FailureAcc, opts: &super::Options) -> FailureClass {
    let mut spans: HashMap<String, (i64, i64)> = HashMap::default();
    let counts = acc.principals.into_iter().map(|(name, t)| {
        if let (Some(first), Some(last)) = (t.span.first, t.span.last) {
            spans.insert(name.clone(), (first, last));
        }
        (name, t.count)
    });
    let mut principals = sorted_counts(counts);
    for p in &mut principals {
        p.span = spans.remove(&p.name);
    }
    let ex = acc.example.as_ref();
    let top = principals
        .first()
        .map(|p| p.name.as_str())
        .or(ex.and_then(|e| e.arn.as_deref()));
    let account = top.and_then(account_of);
    let ctx = RemedyContext {
        cluster: opts.cluster.as_deref(),
        region: opts.region.as_deref(),
        arn: top,
        account: account.as_deref(),
        username: None,
        session: ex.and_then(|e| e.session.as_deref()),
        instance_id: ex.and_then(|e| e.instance_id.as_deref()),
        request_id: ex.and_then(|e| e.request_id.as_deref()),
    };
    let remedy = classify::remedy(class, &ctx);
    FailureClass {
        class,
        family: class.family(),
        fixer: class.fixer(),
        meaning: class.meaning(),
        count: acc.count,
        principals,
        unattributed: acc.unattributed,
        internal: acc.internal,
        first_seen: acc.span.first.map(format_ms),
        last_seen: acc.span.last.map(format_ms),
        example: acc.example.map(|e| FailureExample {
            time: (e.key.0 != i64::MAX).then(|| format_ms(e.key.0)),
            // Under every output: a pre-signed URL or token quoted in the error is a
            // credential.
            error: match crate::secrets::mask_credentials(&e.error) {
                std::borrow::Cow::Owned(masked) => masked,
                std::borrow::Cow::Borrowed(_) => e.error,
            },
            input: e.input,
            line: e.line,
        }),
        remedy,
        callers: Vec::new(),
        attribution: None,
    }
}

fn creator_section(a: &Analyzer, arn_usernames: bool) -> Creator {
    super::verdict::Basis {
        ev: a.creator.clone(),
        cluster: a.opts.cluster.clone(),
        region: a.opts.region.clone(),
        log_lines: a
            .accounting
            .parsed
            .saturating_sub(a.accounting.by_kind[Kind::Audit as usize]),
        audit_events: a.accounting.by_kind[Kind::Audit as usize],
        arn_usernames,
        ..Default::default()
    }
    .settle()
}

fn timeline(hours: impl Iterator<Item = ((i64, Class), u64)>) -> Timeline {
    let hours: Vec<((i64, Class), u64)> = hours.collect();
    let empty = Timeline {
        bin: "hour".to_owned(),
        bin_seconds: HOUR_MS / 1000,
        bins: Vec::new(),
    };
    let (Some(first), Some(last)) = (
        hours.iter().map(|((h, _), _)| *h).min(),
        hours.iter().map(|((h, _), _)| *h).max(),
    ) else {
        return empty;
    };
    // Event times are plausible (2000–2100) by the time they get here, but the arithmetic is
    // checked anyway: a span that does not fit gives an empty timeline, never a panic.
    let Some(span) = last.checked_sub(first) else {
        return empty;
    };
    let (bin, size) = bin_width(span);
    let floor = |t: i64| t.div_euclid(size) * size;
    let start = floor(first);
    let index = |t: i64| {
        floor(t)
            .checked_sub(start)
            .and_then(|d| usize::try_from(d / size).ok())
    };
    let Some(n) = index(last).and_then(|i| i.checked_add(1)) else {
        return empty;
    };
    if n > MAX_BINS {
        // Not reached (the width was chosen for the span); never squeeze events into the
        // last bin, which would misdate them.
        return empty;
    }
    let mut bins: Vec<Bin> = (0..n)
        .map(|i| Bin {
            // `start + i * size <= floor(last)` for every `i < n`: no overflow.
            start: format_ms(start + i as i64 * size),
            total: 0,
            by_class: BTreeMap::new(),
        })
        .collect();
    for ((h, class), count) in hours {
        let Some(b) = index(h).and_then(|i| bins.get_mut(i)) else {
            continue;
        };
        b.total += count;
        *b.by_class.entry(class).or_default() += count;
    }
    Timeline {
        bin,
        bin_seconds: size / 1000,
        bins,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_arithmetic_is_checked() {
        // Hours at both ends of i64: before the checks, `last - first` overflowed and the
        // bin index ran out of bounds (a panic in `report`).
        let far = [i64::MIN, -HOUR_MS, 0, i64::MAX - HOUR_MS];
        for (a, b) in [(far[0], far[3]), (far[1], far[3]), (far[0], far[2])] {
            let hours = [
                ((a, Class::IdentityNotMapped), 1),
                ((b, Class::IdentityNotMapped), 1),
            ];
            let t = timeline(hours.into_iter());
            assert!(t.bins.len() <= MAX_BINS);
        }
        let t = timeline([((0, Class::IdentityNotMapped), 2)].into_iter());
        assert_eq!((t.bins.len(), t.bins[0].total), (1, 2));
    }

    /// Issue 10, item 4: a span that needs more than 2000 of the default bins used to keep
    /// 2000 and put every later event into the last one, under a wrong date.
    #[test]
    fn a_long_span_gets_a_coarser_bin_and_every_event_its_own_date() {
        // 2020-01-01 and 2026-01-01: six years, 2193 days.
        let (a, b) = (1_577_836_800_000, 1_767_225_600_000);
        let hours = [
            ((a, Class::IdentityNotMapped), 1),
            ((a + 3000 * HOUR_MS, Class::TokenExpired), 2),
            ((b, Class::IdentityNotMapped), 3),
        ];
        let t = timeline(hours.into_iter());
        assert_eq!((t.bin.as_str(), t.bin_seconds), ("week", 7 * 24 * 3600));
        assert!(t.bins.len() <= MAX_BINS);
        for ((h, _), n) in hours {
            // The bin that holds `h` starts at most a week before it, and holds its count.
            let bin = t
                .bins
                .iter()
                .find(|x| {
                    let start = crate::time::rfc3339(&x.start).unwrap();
                    start <= h && h < start + WEEK_MS
                })
                .unwrap();
            assert_eq!(bin.total, n, "{}", bin.start);
        }
        assert_eq!(t.bins.iter().map(|b| b.total).sum::<u64>(), 6);
        // Spans of decades get whole numbers of weeks.
        let t = timeline(
            [
                ((a, Class::TokenExpired), 1),
                ((a + 50 * 365 * DAY_MS, Class::TokenExpired), 1),
            ]
            .into_iter(),
        );
        assert_eq!(t.bin, "2 weeks");
        assert!(t.bins.len() <= MAX_BINS);
        assert_eq!((t.bins[0].total, t.bins[t.bins.len() - 1].total), (1, 1));
        // Up to 72 hours, hours; then days.
        assert_eq!(bin_width(72 * HOUR_MS).0, "hour");
        assert_eq!(bin_width(73 * HOUR_MS).0, "day");
        assert_eq!(bin_width(1990 * DAY_MS).0, "day");
    }
}
