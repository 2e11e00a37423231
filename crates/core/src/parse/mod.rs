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

use crate::bytes;
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

/// The reason a line is not a parsed record. The first four are lines that are simply not
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
    /// Bytes that are not valid UTF-8.
    InvalidUtf8,
    /// No logrus fields found.
    NotLogfmt,
    /// A logrus line whose first pair is malformed.
    MalformedPair,
}

impl ParseErrorKind {
    /// Every kind, in report order.
    pub const ALL: [ParseErrorKind; 7] = [
        ParseErrorKind::Blank,
        ParseErrorKind::VersionBanner,
        ParseErrorKind::Klog,
        ParseErrorKind::GoRuntime,
        ParseErrorKind::InvalidUtf8,
        ParseErrorKind::NotLogfmt,
        ParseErrorKind::MalformedPair,
    ];

    /// Stable snake_case name, used in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            ParseErrorKind::Blank => "blank",
            ParseErrorKind::VersionBanner => "version_banner",
            ParseErrorKind::Klog => "klog",
            ParseErrorKind::GoRuntime => "go_runtime",
            ParseErrorKind::InvalidUtf8 => "invalid_utf8",
            ParseErrorKind::NotLogfmt => "not_logfmt",
            ParseErrorKind::MalformedPair => "malformed_pair",
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
        )
    }

    fn describe(self) -> &'static str {
        match self {
            ParseErrorKind::Blank => "blank line",
            ParseErrorKind::VersionBanner => "authenticator version banner",
            ParseErrorKind::Klog => "klog line",
            ParseErrorKind::GoRuntime => "Go runtime output",
            ParseErrorKind::InvalidUtf8 => "invalid UTF-8",
            ParseErrorKind::NotLogfmt => "not a logrus line",
            ParseErrorKind::MalformedPair => "malformed key=value pair",
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
pub fn parse_line_into<'a>(line: &'a str, record: &mut Record<'a>) -> Result<(), ParseError> {
    record.clear();
    let line = line.strip_suffix('\r').unwrap_or(line);
    match find_start(line) {
        Some((start, Form::Logfmt)) => parse_logfmt(line, start, record),
        Some((start, Form::Tty)) => parse_tty(line, start, record),
        None => Err(ParseError {
            offset: 0,
            kind: foreign_kind(line),
        }),
    }
}

/// Where the logrus part of the line starts, and in which layout.
fn find_start(line: &str) -> Option<(usize, Form)> {
    let b = line.as_bytes();
    if b.starts_with(b"time=\"") || b.starts_with(b"level=") {
        return Some((0, Form::Logfmt));
    }
    if is_tty_head(b) {
        return Some((0, Form::Tty));
    }
    // Something was put in front of the line. Look for the first logrus marker after a space.
    if let Some(p) = bytes::find(b, b" time=\"") {
        return Some((p + 1, Form::Logfmt));
    }
    if let Some(p) = bytes::find(b, b" level=") {
        return Some((p + 1, Form::Logfmt));
    }
    let mut from = 0;
    while let Some(p) = memchr::memchr(b' ', &b[from..]) {
        let at = from + p + 1;
        if is_tty_head(&b[at..]) {
            return Some((at, Form::Tty));
        }
        from = at;
    }
    None
}

/// `WARN[` and friends: the four-letter level of the TTY layout followed by `[`.
fn is_tty_head(b: &[u8]) -> bool {
    b.len() > 5
        && b[4] == b'['
        && matches!(
            &b[..4],
            b"INFO" | b"WARN" | b"ERRO" | b"DEBU" | b"TRAC" | b"FATA" | b"PANI"
        )
}

fn prefix_of(line: &str, start: usize) -> Option<&str> {
    let p = line[..start].trim();
    (!p.is_empty()).then_some(p)
}

fn parse_logfmt<'a>(
    line: &'a str,
    start: usize,
    record: &mut Record<'a>,
) -> Result<(), ParseError> {
    let body = &line[start..];
    record.form = Form::Logfmt;
    record.prefix = prefix_of(line, start);
    // The fixed keys come first on a logrus line; take the first of each as it is read and
    // push every other pair (including repeats) as data, in order.
    let mut level_seen = false;
    let mut any = false;
    let (_, tail) = logfmt::pairs::<nom::error::Error<&str>>(body, |(k, v)| {
        any = true;
        match k.as_bytes() {
            b"time" if record.time.is_none() => record.time = Some(v.raw()),
            b"level" if !level_seen => {
                level_seen = true;
                record.level = Level::parse(v.raw());
            }
            b"msg" if record.msg.is_none() => record.msg = Some(v),
            _ => record.push(k, v),
        }
    })
    .map_err(|_| ParseError {
        offset: start,
        kind: ParseErrorKind::MalformedPair,
    })?;
    if !any {
        return Err(ParseError {
            offset: start,
            kind: ParseErrorKind::MalformedPair,
        });
    }
    record.trailing = tail.trailing;
    record.truncated = tail.truncated;
    Ok(())
}

/// `WARN[2019-04-27T20:00:09Z] access denied                 client="…" error="…"`: the
/// message is padded to 44 columns and the data pairs follow it.
fn parse_tty<'a>(line: &'a str, start: usize, record: &mut Record<'a>) -> Result<(), ParseError> {
    let head = &line[start..];
    let close = memchr::memchr(b']', head.as_bytes()).ok_or(ParseError {
        offset: start,
        kind: ParseErrorKind::NotLogfmt,
    })?;
    let level = Level::parse(&head[..4]);
    let time = &head[5..close];
    let after = head[close + 1..]
        .strip_prefix(' ')
        .unwrap_or(&head[close + 1..]);
    let msg_end = tty_message_end(after);
    let msg = after[..msg_end].trim_end();
    let (_, tail) =
        logfmt::pairs::<nom::error::Error<&str>>(&after[msg_end..], |(k, v)| record.push(k, v))
            .map_err(|_| ParseError {
                offset: line.len() - after.len() + msg_end,
                kind: ParseErrorKind::MalformedPair,
            })?;
    record.form = Form::Tty;
    record.prefix = prefix_of(line, start);
    record.time = (!time.is_empty()).then_some(time);
    record.level = level;
    record.msg = (!msg.is_empty()).then_some(Value::Bare(msg));
    record.trailing = tail.trailing;
    record.truncated = tail.truncated;
    Ok(())
}

/// The end of a TTY message: the start of the first word that is directly followed by `=`
/// (a key). `InstanceId = i-…` in a message has a space before `=`, so it is not a key.
fn tty_message_end(s: &str) -> usize {
    let b = s.as_bytes();
    let mut word_start = 0;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b' ' => word_start = i + 1,
            b'=' if i > word_start && (word_start == 0 || b[word_start - 1] == b' ') => {
                return word_start;
            }
            b'"' => return s.len(), // a quote before any key: the message is all there is
            _ => {}
        }
    }
    s.len()
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
