//! Parsing one authenticator log line into a zero-copy [`Record`].
//!
//! This module owns the logrus text grammar and the tolerance around it: prefixes added on
//! the way (`kubectl logs --prefix`, stern, the CloudWatch console's timestamp), the logrus
//! TTY layout, cut lines and stray trailing text. Lines that are not logrus at all (klog,
//! the version banner, Go panics, garbage) come back as a [`ParseError`] whose kind says
//! why, so that every line read can be accounted for. It knows nothing about where lines come
//! from or what they mean.

mod logfmt;
mod record;

use nom::{Parser, error::Error};

pub use record::{Field, Form, Known, Level, Record, Value, unquote};

/// Why a line did not parse. Small and `Copy`: it is counted, not carried around.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} at byte {offset}", kind.describe())]
pub struct ParseError {
    /// Byte offset in the line where parsing gave up.
    pub offset: usize,
    /// What was wrong.
    pub kind: ParseErrorKind,
}

/// The reason a line is not a parsed record. The first five are lines that are simply not
/// authenticator lines; the rest are lines we could not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ParseErrorKind {
    /// An empty or all-blank line.
    Blank,
    /// `Authenticator Version: "…", "…"` printed at start.
    VersionBanner,
    /// A client-go/klog line (`W0101 12:00:00.000000 …`).
    Klog,
    /// A Go runtime panic or stack trace line.
    GoRuntime,
    /// A CloudTrail event (read for the cluster creator, see `crate::cloudtrail`).
    CloudTrail,
    /// Bytes that are not valid UTF-8.
    InvalidUtf8,
    /// No logrus fields found.
    NotLogfmt,
    /// A logrus line whose first pair is malformed.
    MalformedPair,
    /// A record longer than [`MAX_RECORD`](crate::source::MAX_RECORD) bytes: no
    /// authenticator line is that long (CloudWatch caps an event at 256 KiB).
    TooLong,
    /// A kube-apiserver audit event (`audit.k8s.io`) whose JSON is cut or has fields of the
    /// wrong type.
    MalformedAudit,
}

impl ParseErrorKind {
    /// Every kind, in report order.
    pub const ALL: [ParseErrorKind; 10] = [
        ParseErrorKind::Blank,
        ParseErrorKind::VersionBanner,
        ParseErrorKind::Klog,
        ParseErrorKind::GoRuntime,
        ParseErrorKind::CloudTrail,
        ParseErrorKind::InvalidUtf8,
        ParseErrorKind::NotLogfmt,
        ParseErrorKind::MalformedPair,
        ParseErrorKind::TooLong,
        ParseErrorKind::MalformedAudit,
    ];

    /// Stable snake_case name, used in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            ParseErrorKind::Blank => "blank",
            ParseErrorKind::VersionBanner => "version_banner",
            ParseErrorKind::Klog => "klog",
            ParseErrorKind::GoRuntime => "go_runtime",
            ParseErrorKind::CloudTrail => "cloudtrail",
            ParseErrorKind::InvalidUtf8 => "invalid_utf8",
            ParseErrorKind::NotLogfmt => "not_logfmt",
            ParseErrorKind::MalformedPair => "malformed_pair",
            ParseErrorKind::TooLong => "too_long",
            ParseErrorKind::MalformedAudit => "malformed_audit",
        }
    }

    /// Whether the line is recognisably something other than an authenticator line (as
    /// opposed to a line we failed to read).
    pub const fn is_foreign(self) -> bool {
        matches!(
            self,
            ParseErrorKind::Blank
                | ParseErrorKind::VersionBanner
                | ParseErrorKind::Klog
                | ParseErrorKind::GoRuntime
                | ParseErrorKind::CloudTrail
        )
    }

    fn describe(self) -> &'static str {
        match self {
            ParseErrorKind::Blank => "blank line",
            ParseErrorKind::VersionBanner => "authenticator version banner",
            ParseErrorKind::Klog => "klog line",
            ParseErrorKind::GoRuntime => "Go runtime output",
            ParseErrorKind::CloudTrail => "CloudTrail event",
            ParseErrorKind::InvalidUtf8 => "invalid UTF-8",
            ParseErrorKind::NotLogfmt => "not a logrus line",
            ParseErrorKind::MalformedPair => "malformed key=value pair",
            ParseErrorKind::TooLong => "record longer than the maximum record size",
            ParseErrorKind::MalformedAudit => "malformed audit event JSON",
        }
    }
}

/// Parses one line (without its newline). Borrows from `line`; allocates only when a line
/// has more fields than fit inline.
pub fn parse_line(line: &str) -> Result<Record<'_>, ParseError> {
    let mut record = Record::empty();
    parse_line_into(line, &mut record)?;
    Ok(record)
}

/// Parses a line given as bytes, reporting invalid UTF-8 as its own reason.
pub fn parse_bytes(line: &[u8]) -> Result<Record<'_>, ParseError> {
    let mut record = Record::empty();
    parse_bytes_into(line, &mut record)?;
    Ok(record)
}

/// [`parse_bytes`] into a record the caller owns (usually on its stack), so the ~700-byte
/// record is built where it is used instead of being returned through several layers.
/// `record` is reset first; on error its content is unspecified.
#[inline]
pub fn parse_bytes_into<'a>(line: &'a [u8], record: &mut Record<'a>) -> Result<(), ParseError> {
    match std::str::from_utf8(line) {
        Ok(s) => parse_line_into(s, record),
        Err(e) => Err(ParseError {
            offset: e.valid_up_to(),
            kind: ParseErrorKind::InvalidUtf8,
        }),
    }
}

/// [`parse_line`] into a record the caller owns; see [`parse_bytes_into`].
///
/// Runs the grammar's `start` rule, then `logfmt` or `tty` on what follows, and names the
/// failure by the rule that gave up: no `start` is a foreign line, a `logfmt` without a first
/// pair is a malformed pair, a `tty` head without its `]` is not logrus.
pub fn parse_line_into<'a>(line: &'a str, record: &mut Record<'a>) -> Result<(), ParseError> {
    record.clear();
    let line = line.strip_suffix('\r').unwrap_or(line);
    let Ok((body, (prefix, form))) = logfmt::start::<Error<&str>>().parse_complete(line) else {
        return Err(ParseError {
            offset: 0,
            kind: foreign_kind(line),
        });
    };
    let failed = |kind| {
        move |e: nom::Err<Error<&str>>| ParseError {
            offset: line.len() - rest_at(e).len(),
            kind,
        }
    };
    record.form = form;
    record.prefix = Some(prefix.trim()).filter(|p| !p.is_empty());
    let tail = match form {
        Form::Logfmt => {
            // The fixed keys come first on a logrus line; take the first of each as it is
            // read and push every other pair (including repeats) as data, in order.
            let mut level_seen = false;
            let (_, tail) = logfmt::logfmt(|(k, v)| match k.as_bytes() {
                b"time" if record.time.is_none() => record.time = Some(v.raw()),
                b"level" if !level_seen => {
                    level_seen = true;
                    record.level = Level::parse(v.raw());
                }
                b"msg" if record.msg.is_none() => record.msg = Some(v),
                _ => record.push(k, v),
            })
            .parse_complete(body)
            .map_err(failed(ParseErrorKind::MalformedPair))?;
            tail
        }
        Form::Tty => {
            let (_, (level, time, msg, tail)) = logfmt::tty(|(k, v)| record.push(k, v))
                .parse_complete(body)
                .map_err(failed(ParseErrorKind::NotLogfmt))?;
            record.time = (!time.is_empty()).then_some(time);
            record.level = Some(level);
            record.msg = (!msg.is_empty()).then_some(Value::Bare(msg));
            tail
        }
    };
    record.trailing = tail.trailing;
    record.truncated = tail.truncated;
    Ok(())
}

/// The input left where a rule gave up.
fn rest_at(e: nom::Err<Error<&str>>) -> &str {
    match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => e.input,
        // Complete mode never asks for more input.
        nom::Err::Incomplete(_) => "",
    }
}

/// Names what a line without logrus fields is.
fn foreign_kind(line: &str) -> ParseErrorKind {
    let t = line.trim();
    if t.is_empty() {
        return ParseErrorKind::Blank;
    }
    if t.starts_with("Authenticator Version:") {
        return ParseErrorKind::VersionBanner;
    }
    if is_klog(t.as_bytes()) {
        return ParseErrorKind::Klog;
    }
    const GO: [&str; 6] = [
        "panic: ",
        "goroutine ",
        "fatal error: ",
        "created by ",
        "[signal ",
        "runtime.",
    ];
    if GO.iter().any(|p| t.starts_with(p)) || (line.starts_with('\t') && t.contains(".go:")) {
        return ParseErrorKind::GoRuntime;
    }
    ParseErrorKind::NotLogfmt
}

/// `I0101 12:00:00.000000 …` (severity letter, MMDD, time with microseconds).
fn is_klog(b: &[u8]) -> bool {
    b.len() > 21
        && matches!(b[0], b'I' | b'W' | b'E' | b'F')
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' '
        && b[8] == b':'
        && b[11] == b':'
        && b[14] == b'.'
}

#[cfg(test)]
mod tests;
