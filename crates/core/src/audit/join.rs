//! Who is failing: joining authenticator denials that carry no identity to the audit 401s.
//!
//! Nothing crosses the webhook that both logs share (the TokenReview holds only the token;
//! `k8s.io/apiserver` `plugin/pkg/authenticator/token/webhook/webhook.go`), so the join is by
//! time alone. A request is received (`requestReceivedTimestamp`, microseconds), the
//! apiserver calls the authenticator, which logs the denial (`time=`, whole seconds), and the
//! 401 is audited (`stageTimestamp`). Hence the windows, on the 401's received time `r` and
//! a denial at second `T` (precision `p`, 1 s for `time=`):
//!
//! * tight: `r ∈ [T − 1 s, T + p + 1 s)`; loose (clock skew between the two processes,
//!   CloudWatch's batching): `r ∈ [T − 5 s, T + p + 5 s)`;
//! * a throttled denial (`sts_throttled`, HTTP 429) is retried by the apiserver up to five
//!   times within about 4 s for one request (`k8s.io/apiserver` `pkg/util/webhook/webhook.go`
//!   `DefaultShouldRetry`, backoff 500 ms × 1.5 with jitter 0.2, five steps), so its windows
//!   reach 5 s further back, and one 401 takes up to five throttled denials;
//! * webhook errors are never cached (`cached_token_authenticator.go`, `cacheErrs` false),
//!   so every other denial has its own 401.
//!
//! Matching is greedy in time order, first within the tight windows, then within the loose
//! ones for what is left. Each matched denial gets a confidence: `exact` when its tight window
//! holds exactly one 401 and that 401's window holds only this denial (or only its throttled
//! retries), `likely` when every 401 in its window came from the same source IP and user
//! agent, `ambiguous` otherwise (the candidates are listed). Audit delivery is best effort
//! (EKS user guide, control-plane logs), so a denial without a 401 stays unmatched rather than
//! taking a far one.
//!
//! The inputs are sorted by their content before matching, so the result does not depend on
//! the order records were read in.

use crate::classify::Class;

/// A denial without identity, as the join sees it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Denial {
    /// Time in epoch ms.
    pub time_ms: i64,
    /// Its class.
    pub class: Class,
    /// Where it was read (for ordering and examples).
    pub input: std::sync::Arc<str>,
    /// Its line.
    pub line: u64,
}

impl Denial {
    fn throttled(&self) -> bool {
        self.class == Class::StsThrottled
    }

    /// Precision of the time in µs: whole seconds for `time=`.
    fn precision_us(&self) -> i64 {
        if self.time_ms % 1000 == 0 {
            SECOND
        } else {
            1000
        }
    }

    /// The received times a 401 may have to belong to this denial, in µs, `[lo, hi)`.
    fn window(&self, slack: i64) -> (i64, i64) {
        let t = self.time_ms.saturating_mul(1000);
        let back = if self.throttled() { RETRY_SPAN } else { 0 };
        (
            t.saturating_sub(slack + back),
            t.saturating_add(self.precision_us() + slack),
        )
    }
}

/// A 401 as the join sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Knock {
    /// `requestReceivedTimestamp` (else `stageTimestamp`) in epoch µs.
    pub received_us: i64,
    /// Index of its caller (source IP, user agent, verb, request URI), in a table sorted by
    /// content.
    pub caller: u32,
    /// Index of its (source IP, user agent) pair, in a table sorted by content.
    pub who: u32,
}

const SECOND: i64 = 1_000_000;
/// The tight window's slack.
pub const TIGHT_US: i64 = SECOND;
/// The loose window's slack: clock skew and delivery batching.
pub const LOOSE_US: i64 = 5 * SECOND;
/// How far after its 401's received time a throttled retry may be denied.
pub const RETRY_SPAN: i64 = 5 * SECOND;
/// Throttled denials one 401 takes at most (the retry backoff's five steps).
pub const MAX_RETRIES: u8 = 5;

/// How sure a pairing is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// One denial and one 401 in each other's window.
    Exact,
    /// Several candidates, all from the same source IP and user agent.
    Likely,
    /// Candidates from several callers; the nearest in time order was taken.
    Ambiguous,
}

impl Confidence {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Confidence::Exact => "exact",
            Confidence::Likely => "likely",
            Confidence::Ambiguous => "ambiguous",
        }
    }
}

/// What the join made of one denial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pairing {
    /// Index of the 401 (into the sorted knocks).
    pub knock: usize,
    /// How sure.
    pub confidence: Confidence,
    /// For `ambiguous`: the distinct `who` indices in its window (at most
    /// [`MAX_CANDIDATES`]), and how many 401s the window held.
    pub candidates: Vec<u32>,
    /// 401s in the window it was matched in.
    pub in_window: usize,
}

/// Where to look for the 401s of some denials: per input (a log group, when read from
/// CloudWatch), the time windows their 401s can be in, merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchWindows {
    /// Input → windows in epoch seconds, both ends inclusive, sorted, disjoint.
    pub by_input: std::collections::BTreeMap<String, Vec<(i64, i64)>>,
    /// Denials the windows cover.
    pub denials: u64,
    /// Windows joined with a neighbour (across the gap between them) to stay within the cap.
    pub merged: u64,
}

impl SearchWindows {
    /// Windows in all.
    pub fn len(&self) -> usize {
        self.by_input.values().map(Vec::len).sum()
    }

    /// Whether there is nothing to look for.
    pub fn is_empty(&self) -> bool {
        self.by_input.is_empty()
    }
}

/// The windows in which the 401s of `denials` can be: each denial's loose window (the
/// join's widest), in whole seconds, one more second at the end (an event's CloudWatch time
/// is its stage time, at or after its received time), merged where they overlap or touch.
/// When an input has more than `max` windows, the closest neighbours are joined across
/// their gaps, smallest gaps first, until `max` remain: every denial stays covered, at the
/// price of scanning the gaps too.
pub fn search_windows(denials: &[Denial], max: usize) -> SearchWindows {
    let mut spans: std::collections::BTreeMap<&str, Vec<(i64, i64)>> = Default::default();
    for d in denials {
        let (lo, hi) = d.window(LOOSE_US);
        let span = (lo.div_euclid(SECOND), (hi - 1).div_euclid(SECOND) + 1);
        spans.entry(&d.input).or_default().push(span);
    }
    let mut out = SearchWindows {
        denials: denials.len() as u64,
        ..SearchWindows::default()
    };
    for (input, mut v) in spans {
        v.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(v.len());
        for (s, e) in v {
            match merged.last_mut() {
                Some(last) if s <= last.1 + 1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let max = max.max(1);
        if merged.len() > max {
            let excess = merged.len() - max;
            // Gap i lies between windows i and i + 1; join across the `excess` smallest.
            let mut gaps: Vec<(i64, usize)> = merged
                .windows(2)
                .enumerate()
                .map(|(i, w)| (w[1].0 - w[0].1, i))
                .collect();
            gaps.sort_unstable();
            let mut join = vec![false; merged.len()];
            for &(_, i) in &gaps[..excess] {
                join[i] = true;
            }
            let mut capped: Vec<(i64, i64)> = Vec::with_capacity(max);
            let mut joining = false;
            for (i, w) in merged.iter().enumerate() {
                match capped.last_mut() {
                    Some(last) if joining => last.1 = w.1,
                    _ => capped.push(*w),
                }
                joining = join[i];
            }
            out.merged += excess as u64;
            merged = capped;
        }
        out.by_input.insert(input.to_owned(), merged);
    }
    out
}

/// Candidates listed for an ambiguous pairing.
pub const MAX_CANDIDATES: usize = 5;

/// Joins `denials` to `knocks`. Both are sorted here (by content), and the result is in the
/// sorted denials' order: `result[i]` is what became of `denials[i]`, and a pairing's `knock`
/// indexes the sorted `knocks`.
pub fn join(denials: &mut [Denial], knocks: &mut [Knock]) -> Vec<Option<Pairing>> {
    denials.sort_unstable();
    knocks.sort_unstable();
    let received: Vec<i64> = knocks.iter().map(|k| k.received_us).collect();
    // `run_end[i]`: the first index after i with another `who`, so "one caller in a window"
    // and "the callers of a window" cost runs, not 401s.
    let mut run_end = vec![knocks.len(); knocks.len()];
    for i in (0..knocks.len().saturating_sub(1)).rev() {
        run_end[i] = if knocks[i + 1].who == knocks[i].who {
            run_end[i + 1]
        } else {
            i + 1
        };
    }
    let range = |d: &Denial, slack: i64| {
        let (lo, hi) = d.window(slack);
        let a = received.partition_point(|&r| r < lo);
        let b = received.partition_point(|&r| r < hi);
        a..b
    };
    // Per 401: denials taken, and whether they are throttled retries.
    let mut used: Vec<(u8, bool)> = vec![(0, false); knocks.len()];
    let mut out: Vec<Option<(usize, i64)>> = vec![None; denials.len()];
    for slack in [TIGHT_US, LOOSE_US] {
        for (i, d) in denials.iter().enumerate() {
            if out[i].is_some() {
                continue;
            }
            let throttled = d.throttled();
            let free = |(n, t): (u8, bool)| n == 0 || (throttled && t && n < MAX_RETRIES);
            if let Some(k) = range(d, slack).find(|&k| free(used[k])) {
                used[k] = (used[k].0 + 1, throttled);
                out[i] = Some((k, slack));
            }
        }
    }
    out.iter()
        .enumerate()
        .map(|(i, m)| {
            let (k, slack) = (*m)?;
            let d = &denials[i];
            let window = range(d, slack);
            let in_window = window.len();
            let tight = range(d, TIGHT_US);
            let exact = tight.len() == 1 && tight.start == k && alone(denials, i, &knocks[k]);
            let one_caller = run_end[window.start] >= window.end;
            let (confidence, candidates) = if exact {
                (Confidence::Exact, Vec::new())
            } else if one_caller {
                (Confidence::Likely, Vec::new())
            } else {
                let mut who = Vec::new();
                let mut j = window.start;
                let mut runs = 0;
                while j < window.end && who.len() < MAX_CANDIDATES && runs < 64 {
                    if !who.contains(&knocks[j].who) {
                        who.push(knocks[j].who);
                    }
                    j = run_end[j];
                    runs += 1;
                }
                who.sort_unstable();
                (Confidence::Ambiguous, who)
            };
            Some(Pairing {
                knock: k,
                confidence,
                candidates,
                in_window,
            })
        })
        .collect()
}

/// Whether `knock` lies in the tight window of no denial but `denials[i]` (or, for a
/// throttled denial, of at most [`MAX_RETRIES`] throttled ones).
fn alone(denials: &[Denial], i: usize, knock: &Knock) -> bool {
    let r = knock.received_us;
    let holds = |d: &Denial| {
        let (lo, hi) = d.window(TIGHT_US);
        lo <= r && r < hi
    };
    let throttled = denials[i].throttled();
    // Denials whose tight window can hold `r` lie within these times.
    let from = (r - TIGHT_US - SECOND).div_euclid(1000);
    let to = (r + TIGHT_US + RETRY_SPAN).div_euclid(1000);
    let start = denials.partition_point(|d| d.time_ms < from);
    let mut others = 0u8;
    for (j, d) in denials.iter().enumerate().skip(start) {
        if d.time_ms > to {
            break;
        }
        if j == i || !holds(d) {
            continue;
        }
        if !(throttled && d.throttled()) {
            return false;
        }
        others += 1;
        if others >= MAX_RETRIES {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deny(ms: i64, class: Class, line: u64) -> Denial {
        Denial {
            time_ms: ms,
            class,
            input: "a".into(),
            line,
        }
    }

    fn knock(us: i64, who: u32) -> Knock {
        Knock {
            received_us: us,
            caller: who,
            who,
        }
    }

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn one_denial_one_401_is_exact() {
        let mut d = [deny(T0, Class::TokenExpired, 1)];
        let mut k = [knock(T0 * 1000 + 250_000, 0)];
        let r = join(&mut d, &mut k);
        assert_eq!(r[0].as_ref().unwrap().confidence, Confidence::Exact);
    }

    #[test]
    fn two_callers_in_one_second_are_ambiguous_with_candidates() {
        let mut d = [
            deny(T0, Class::TokenExpired, 1),
            deny(T0, Class::TokenExpired, 2),
        ];
        let mut k = [knock(T0 * 1000 + 100, 0), knock(T0 * 1000 + 200, 1)];
        let r = join(&mut d, &mut k);
        for p in &r {
            let p = p.as_ref().unwrap();
            assert_eq!(p.confidence, Confidence::Ambiguous);
            assert_eq!(p.candidates, [0, 1]);
        }
        assert_ne!(r[0].as_ref().unwrap().knock, r[1].as_ref().unwrap().knock);
    }

    #[test]
    fn one_caller_retrying_is_likely() {
        let mut d = [
            deny(T0, Class::TokenExpired, 1),
            deny(T0, Class::TokenExpired, 2),
        ];
        let mut k = [knock(T0 * 1000 + 100, 3), knock(T0 * 1000 + 900, 3)];
        let r = join(&mut d, &mut k);
        assert!(
            r.iter()
                .all(|p| p.as_ref().unwrap().confidence == Confidence::Likely)
        );
    }

    #[test]
    fn five_throttled_denials_share_one_401() {
        let mut d: Vec<Denial> = (0..5)
            .map(|i| deny(T0 + i * 1000, Class::StsThrottled, i as u64))
            .collect();
        let mut k = [knock(T0 * 1000 - 200_000, 0)];
        let r = join(&mut d, &mut k);
        assert!(r.iter().all(|p| p.is_some()), "{r:?}");
        assert!(
            r.iter()
                .all(|p| p.as_ref().unwrap().confidence == Confidence::Exact)
        );
        // A sixth is one too many for one request.
        let mut d: Vec<Denial> = (0..6)
            .map(|i| deny(T0 + i * 700, Class::StsThrottled, i as u64))
            .collect();
        let r = join(&mut d, &mut k);
        assert_eq!(r.iter().filter(|p| p.is_some()).count(), 5);
    }

    #[test]
    fn skew_is_matched_loosely_and_far_401s_not_at_all() {
        let mut d = [deny(T0, Class::StsInvalidCredentials, 1)];
        let mut k = [knock((T0 + 3_500) * 1000, 0)];
        let r = join(&mut d, &mut k);
        let p = r[0].as_ref().unwrap();
        assert_eq!(p.confidence, Confidence::Likely);
        let mut k = [knock((T0 + 30_000) * 1000, 0)];
        assert_eq!(join(&mut d, &mut k), [None]);
    }

    #[test]
    fn search_windows_cover_every_denial_merge_and_respect_the_cap() {
        let t = T0 / 1000; // seconds
        let mut d = vec![
            deny(T0, Class::TokenExpired, 1),
            deny(T0 + 2_000, Class::TokenExpired, 2),
            deny(T0 + 600_000, Class::StsThrottled, 3),
            deny(T0 + 1_200_000, Class::TokenExpired, 4),
        ];
        d.push(Denial {
            input: "b".into(),
            ..deny(T0, Class::TokenExpired, 5)
        });
        let w = search_windows(&d, 10);
        assert_eq!(w.denials, 5);
        assert_eq!(w.merged, 0);
        assert_eq!(
            w.by_input["a"],
            [
                // Two denials 2 s apart share one window: 5 s before the first to 5 s after
                // the end of the second's second (one more for the stage time).
                (t - 5, t + 2 + 6),
                // A throttled denial looks 5 s further back.
                (t + 600 - 10, t + 600 + 6),
                (t + 1200 - 5, t + 1200 + 6),
            ]
        );
        assert_eq!(w.by_input["b"], [(t - 5, t + 6)]);
        assert_eq!(w.len(), 4);
        // Every 401 the join could pair lies in a window.
        for den in &d {
            let (lo, hi) = den.window(LOOSE_US);
            let ws = &w.by_input[&*den.input];
            for us in [lo, hi - 1] {
                let s = us.div_euclid(SECOND);
                assert!(ws.iter().any(|&(a, b)| a <= s && s <= b), "{den:?} {s}");
            }
        }
        // Capped at 2 per input: the smaller gap (582 s, not 589 s) is joined.
        let capped = search_windows(&d, 2);
        assert_eq!(capped.merged, 1);
        assert_eq!(
            capped.by_input["a"],
            [(t - 5, t + 600 + 6), (t + 1200 - 5, t + 1200 + 6)]
        );
        let one = search_windows(&d, 1);
        assert_eq!(one.by_input["a"], [(t - 5, t + 1200 + 6)]);
        assert!(search_windows(&[], 5).is_empty());
    }

    #[test]
    fn a_tight_401_wins_over_a_loose_one() {
        let mut d = [deny(T0, Class::TokenExpired, 1)];
        let mut k = [knock((T0 - 4_000) * 1000, 0), knock(T0 * 1000 + 10, 1)];
        let r = join(&mut d, &mut k);
        let p = r[0].as_ref().unwrap();
        assert_eq!(k[p.knock].who, 1);
        assert_eq!(p.confidence, Confidence::Exact);
    }
}
