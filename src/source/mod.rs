//! Sources of authenticator log lines: files, stdin, and (feature `cloudwatch`) Logs Insights.
//!
//! This module owns *getting lines*: detecting an input's shape (raw lines, CloudWatch JSON,
//! CSV, Docker json-file, gzip), unwrapping it, and pushing each log line with its envelope
//! (stream, timestamp, `@ptr`) into a [`LineSink`]. It knows nothing about logfmt.

/// Transport data that came with a line, when the input shape carries it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// Event timestamp in epoch milliseconds (CloudWatch `timestamp` / `@timestamp`).
    pub timestamp_ms: Option<i64>,
    /// CloudWatch log stream name (`logStreamName` / `@logStream`).
    pub stream: Option<&'a str>,
    /// Logs Insights record pointer (`@ptr`) or CloudWatch `eventId`.
    pub ptr: Option<&'a str>,
    /// CloudWatch ingestion time in epoch milliseconds.
    pub ingestion_ms: Option<i64>,
}

/// Where a line came from: the input's display name and its 1-based record number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loc<'a> {
    /// Input name as the user gave it (`-` for stdin, a path, or a log group).
    pub input: &'a str,
    /// 1-based line (or record) number within that input.
    pub line: u64,
}

/// Receives every line a source reads, in input order.
///
/// `text` is the log line itself, without its trailing newline, still as bytes: invalid
/// UTF-8 is the parser's business to count, not the source's to drop.
pub trait LineSink {
    /// Takes one line.
    fn line(&mut self, text: &[u8], envelope: &Envelope<'_>, loc: Loc<'_>);
}

impl<F: FnMut(&[u8], &Envelope<'_>, Loc<'_>)> LineSink for F {
    fn line(&mut self, text: &[u8], envelope: &Envelope<'_>, loc: Loc<'_>) {
        self(text, envelope, loc)
    }
}

#[cfg(feature = "cloudwatch")]
pub mod cloudwatch;
