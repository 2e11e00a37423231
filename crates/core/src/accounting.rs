//! Line accounting: every line read ends up parsed, unparsed (with a reason) or recognised as
//! not an authenticator line (with a reason). Reports print these counts so nothing is ever
//! silently dropped.

use crate::event::Kind;
use crate::merge::Merge;
use crate::parse::{ParseError, ParseErrorKind};
use crate::source::{Envelope, RepairKind};

/// Counts of lines by fate. `read == parsed + not_authenticator + unparsed`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accounting {
    /// Lines read from all inputs.
    pub read: u64,
    /// Lines that parsed as logrus lines.
    pub parsed: u64,
    /// Lines that did not parse, by [`ParseErrorKind`] (indexed by `ALL` order).
    pub rejected: [u64; ParseErrorKind::ALL.len()],
    /// Parsed lines left out by `--since`/`--until`.
    pub outside_window: u64,
    /// Parsed lines within the window, by [`Kind`] (indexed by `Kind::ALL` order).
    pub by_kind: [u64; Kind::ALL.len()],
    /// Parsed lines whose time was not plausible and so was not used (see
    /// [`crate::time::plausible`]).
    pub implausible_time: u64,
    /// Events kept because the source returned them for the window although their own time
    /// lies outside it (clock skew between `time=` and CloudWatch's `@timestamp`).
    pub window_skew: u64,
    /// Where the first unparsed line was, why, and the byte of the line where parsing gave up
    /// (for `--strict` and summaries).
    pub first_unparsed: Option<(String, u64, ParseError)>,
    /// Paste repairs, by [`RepairKind`] (indexed by `RepairKind::ALL` order): records repaired,
    /// except `wrapped` and `pretty_json`, which count the physical lines joined into a
    /// record after its first (so lines in the input = `read` + those two).
    pub repairs: [u64; RepairKind::ALL.len()],
}

impl Accounting {
    /// Counts the repairs made to one record (whatever became of it).
    pub fn repaired(&mut self, env: &Envelope<'_>) {
        for k in env.repairs.kinds() {
            self.repairs[k as usize] += match k {
                RepairKind::Wrapped | RepairKind::PrettyJson => u64::from(env.joined.max(1)),
                _ => 1,
            };
        }
    }

    /// `(kind, count)` of the repairs made, non-zero only.
    pub fn repair_counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        RepairKind::ALL
            .iter()
            .filter(|k| self.repairs[**k as usize] > 0)
            .map(|k| (k.as_str(), self.repairs[*k as usize]))
    }

    /// Counts a line that did not parse.
    pub fn reject(&mut self, err: ParseError, input: &str, line: u64) {
        self.read += 1;
        self.rejected[err.kind as usize] += 1;
        if !err.kind.is_foreign() && self.first_unparsed.is_none() {
            self.first_unparsed = Some((input.to_owned(), line, err));
        }
    }

    /// Counts a parsed line; `in_window` says whether the time filter kept it.
    pub fn accept(&mut self, kind: Kind, in_window: bool) {
        self.read += 1;
        self.parsed += 1;
        if in_window {
            self.by_kind[kind as usize] += 1;
        } else {
            self.outside_window += 1;
        }
    }

    /// Counts `n` events that were parsed and aggregated server-side (Logs Insights `stats`).
    pub fn accept_aggregated(&mut self, kind: Kind, n: u64) {
        self.read += n;
        self.parsed += n;
        self.by_kind[kind as usize] += n;
    }

    /// Lines that are not authenticator lines (blank, klog, banner, Go runtime).
    pub fn not_authenticator(&self) -> u64 {
        ParseErrorKind::ALL
            .iter()
            .filter(|k| k.is_foreign())
            .map(|k| self.rejected[*k as usize])
            .sum()
    }

    /// Where the first unparsed line is and why, as `--strict` and the summary name it:
    /// `input:line: kind at byte N`.
    pub fn first_unparsed_text(&self) -> Option<String> {
        self.first_unparsed.as_ref().map(|(input, line, err)| {
            format!(
                "{input}:{line}: {} at byte {}",
                err.kind.as_str(),
                err.offset
            )
        })
    }

    /// Lines that could not be read.
    pub fn unparsed(&self) -> u64 {
        ParseErrorKind::ALL
            .iter()
            .filter(|k| !k.is_foreign())
            .map(|k| self.rejected[*k as usize])
            .sum()
    }

    /// `(reason, count)` for non-zero reasons, foreign or not.
    pub fn reasons(&self, foreign: bool) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        ParseErrorKind::ALL
            .iter()
            .filter(move |k| k.is_foreign() == foreign && self.rejected[**k as usize] > 0)
            .map(|k| (k.as_str(), self.rejected[*k as usize]))
    }
}

impl Merge for Accounting {
    fn merge(&mut self, later: Accounting) {
        let Accounting {
            read,
            parsed,
            rejected,
            outside_window,
            implausible_time,
            window_skew,
            by_kind,
            first_unparsed,
            repairs,
        } = later;
        self.repairs.merge(repairs);
        self.read.merge(read);
        self.parsed.merge(parsed);
        self.rejected.merge(rejected);
        self.outside_window.merge(outside_window);
        self.implausible_time.merge(implausible_time);
        self.window_skew.merge(window_skew);
        self.by_kind.merge(by_kind);
        // The earlier input's first unparsed line is the first of both.
        if self.first_unparsed.is_none() {
            self.first_unparsed = first_unparsed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_lands_in_exactly_one_bucket() {
        let mut a = Accounting::default();
        a.accept(Kind::AccessGranted, true);
        a.accept(Kind::AccessDenied, false);
        a.reject(rejected(ParseErrorKind::Klog, 0), "f", 3);
        a.reject(rejected(ParseErrorKind::NotLogfmt, 0), "f", 4);
        a.reject(rejected(ParseErrorKind::InvalidUtf8, 7), "f", 5);
        assert_eq!(a.read, 5);
        assert_eq!(a.parsed + a.unparsed() + a.not_authenticator(), a.read);
        assert_eq!(
            a.first_unparsed,
            Some(("f".to_owned(), 4, rejected(ParseErrorKind::NotLogfmt, 0)))
        );
        assert_eq!(
            a.reasons(false).collect::<Vec<_>>(),
            [("invalid_utf8", 1), ("not_logfmt", 1)]
        );
        assert_eq!(a.reasons(true).collect::<Vec<_>>(), [("klog", 1)]);
        assert_eq!(a.outside_window, 1);
    }

    #[test]
    fn merge_adds_counts_and_keeps_the_first_unparsed() {
        let mut a = Accounting::default();
        a.reject(rejected(ParseErrorKind::MalformedPair, 57), "a", 1);
        let mut b = Accounting::default();
        b.reject(rejected(ParseErrorKind::NotLogfmt, 0), "b", 9);
        b.accept(Kind::Other, true);
        a.merge(b);
        assert_eq!((a.read, a.parsed, a.unparsed()), (3, 1, 2));
        assert_eq!(
            a.first_unparsed,
            Some((
                "a".to_owned(),
                1,
                rejected(ParseErrorKind::MalformedPair, 57)
            ))
        );
    }

    fn rejected(kind: ParseErrorKind, offset: usize) -> ParseError {
        ParseError { offset, kind }
    }
}
