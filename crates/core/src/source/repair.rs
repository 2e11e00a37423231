//! Paste repair: the damage that copying log lines through a terminal, a chat tool, a blog, an
//! editor or a log forwarder does to them, recognised and undone on the raw path.
//!
//! This module owns *what a record is* when lines were pasted: a record hard-wrapped over
//! several physical lines, a pretty-printed JSON object, a JSON event line, a whole line
//! JSON-encoded as one string, markdown around it, typographic quotes and dashes. Every repair
//! is marked on the record's [`Envelope`] as a [`RepairKind`], and the analysis counts them
//! in the report's `events.repairs`: nothing is repaired silently. It does not recognise what
//! a message *means* (that is `parse` and `classify`).
//!
//! The clean path pays almost nothing: a line that starts with `time=` and is followed by a
//! line that starts with `time=` (or by nothing) is pushed as it is, unless the buffer it
//! came in holds one of the bytes that start a typographic quote or dash (`0xE2`) or a
//! backtick, which one `memchr2` over the whole buffer rules out.

use std::borrow::Cow;
use std::fmt;

use super::{Envelope, LineSink, Loc};
use crate::time;

/// The longest record the reader hands on, in bytes. CloudWatch Logs caps an event at
/// 256 KiB ("Event size: 256 KB (maximum)", *CloudWatch Logs quotas*,
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html>);
/// a longer record cannot be one authenticator line, so it is counted as unparsed
/// (`too_long`) and reading goes on with the next line. Buffers never grow past this much
/// per line.
pub const MAX_RECORD: usize = 1 << 20;

/// How many physical lines a wrapped record or a pretty-printed JSON object may span.
const MAX_JOIN: usize = 256;

/// One kind of paste repair, as counted in the report's `events.repairs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum RepairKind {
    /// A UTF-8 byte-order mark at the start of an input was skipped.
    Bom,
    /// A line ended in CRLF; the `\r` was dropped.
    Crlf,
    /// The input was UTF-16 (LE or BE) and was decoded (each line counts).
    Utf16,
    /// A line held invalid UTF-8; the bad bytes became U+FFFD and the event was kept.
    LossyUtf8,
    /// Continuation lines of a hard-wrapped record joined to it (counts continuation lines).
    Wrapped,
    /// Lines of a pretty-printed JSON object joined into one record (counts lines after the
    /// first).
    PrettyJson,
    /// A JSON event object on one line (`{"timestamp":…,"message":…}`, `{"log":…}`) unwrapped
    /// to its message.
    JsonLine,
    /// A whole line JSON-encoded as one string (`"time=\"…\" …"`) decoded.
    JsonString,
    /// Typographic quotes or dashes (“ ” ‘ ’ – —) replaced by ASCII.
    Typographic,
    /// Markdown removed: code fences, backticks, `**`, `> ` quoting.
    Markdown,
    /// A Logs Insights console CSV without its header row (columns inferred from the row).
    CsvNoHeader,
    /// A Logs Insights column header that ran into the first row: a console CSV
    /// (`@logStream,@timestamp,@messageauthenticator-…`) or a copied results table
    /// (`@messagetime="…" level=info …`).
    HeaderJoined,
    /// A Logs Insights console CSV re-saved with `;` as the separator.
    CsvSemicolon,
}

impl RepairKind {
    /// Every kind, in report order.
    pub const ALL: [RepairKind; 13] = [
        RepairKind::Bom,
        RepairKind::Crlf,
        RepairKind::Utf16,
        RepairKind::LossyUtf8,
        RepairKind::Wrapped,
        RepairKind::PrettyJson,
        RepairKind::JsonLine,
        RepairKind::JsonString,
        RepairKind::Typographic,
        RepairKind::Markdown,
        RepairKind::CsvNoHeader,
        RepairKind::HeaderJoined,
        RepairKind::CsvSemicolon,
    ];

    /// Stable snake_case name, used in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            RepairKind::Bom => "bom",
            RepairKind::Crlf => "crlf",
            RepairKind::Utf16 => "utf16",
            RepairKind::LossyUtf8 => "lossy_utf8",
            RepairKind::Wrapped => "wrapped",
            RepairKind::PrettyJson => "pretty_json",
            RepairKind::JsonLine => "json_line",
            RepairKind::JsonString => "json_string",
            RepairKind::Typographic => "typographic",
            RepairKind::Markdown => "markdown",
            RepairKind::CsvNoHeader => "csv_no_header",
            RepairKind::HeaderJoined => "header_joined",
            RepairKind::CsvSemicolon => "csv_semicolon",
        }
    }
}

/// The repairs made to one record, as a set. `Copy` and two bytes: it rides on every
/// [`Envelope`].
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Repairs(u16);

impl Repairs {
    /// No repair.
    pub const NONE: Repairs = Repairs(0);

    /// Only `kind`.
    pub const fn of(kind: RepairKind) -> Repairs {
        Repairs(1 << kind as u8)
    }

    /// This set and `kind`.
    #[must_use]
    pub const fn with(self, kind: RepairKind) -> Repairs {
        Repairs(self.0 | 1 << kind as u8)
    }

    /// Both sets.
    #[must_use]
    pub const fn union(self, other: Repairs) -> Repairs {
        Repairs(self.0 | other.0)
    }

    /// Whether `kind` is in the set.
    pub const fn has(self, kind: RepairKind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }

    /// Whether the set is empty.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds in the set, in report order.
    pub fn kinds(self) -> impl Iterator<Item = RepairKind> {
        RepairKind::ALL.into_iter().filter(move |k| self.has(*k))
    }
}

impl fmt::Debug for Repairs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.kinds().map(RepairKind::as_str))
            .finish()
    }
}

/// Whether a line starts a logrus record the fast way: the authenticator's own lines start
/// with `time=` (logrus `TextFormatter` writes the time first).
#[inline(always)]
fn fast_head(line: &[u8]) -> bool {
    line.starts_with(b"time=")
}

/// Whether a buffer may hold a line that needs a single-line repair beyond its first bytes
/// (typographic characters start with `0xE2`; markdown inside a line uses backticks or `*`).
#[inline]
pub(crate) fn region_is_plain(buf: &[u8]) -> bool {
    memchr::memchr3(0xE2, b'`', b'*', buf).is_none()
}

/// The line of `buf` starting at `start`: its end (before the `\n`) and where the next
/// line starts.
#[inline(always)]
fn line_at(buf: &[u8], start: usize) -> (usize, usize) {
    match memchr::memchr(b'\n', &buf[start..]) {
        Some(p) => (start + p, start + p + 1),
        None => (buf.len(), buf.len()),
    }
}

/// Pushes every line of a buffer of whole lines into `sink`, repairing pasted damage, and
/// numbering physical lines from `start_line`. Returns the number of physical lines in
/// `buf` (as [`super::count_lines`] counts them).
pub(crate) fn split_repaired<S: LineSink + ?Sized>(
    buf: &[u8],
    start_line: u64,
    input: &str,
    sink: &mut S,
) -> u64 {
    let plain = region_is_plain(buf);
    // Checked once for the whole buffer: a `\n` is never inside a multi-byte character, so
    // every line of valid text is valid text too.
    let text = std::str::from_utf8(buf).ok();
    let mut scratch = Vec::new();
    let mut line_no = start_line;
    let mut at = 0;
    let mut cur = (at < buf.len()).then(|| line_at(buf, at));
    while let Some((end, next)) = cur {
        let loc = Loc {
            input,
            line: line_no,
        };
        let raw = &buf[at..end];
        let following = (next < buf.len()).then(|| line_at(buf, next));
        // The clean path: an authenticator line followed by another (or by nothing). A buffer
        // with one `*` somewhere (error texts quote them) checks its lines one by one.
        if fast_head(raw)
            && (plain || region_is_plain(raw))
            && following.is_none_or(|(e, _)| {
                let n = &buf[next..e];
                fast_head(n) || strip_cr(n).is_empty()
            })
        {
            push_plain(buf, text, at, end, Repairs::NONE, 0, loc, sink);
            line_no += 1;
            at = next;
            cur = following;
            continue;
        }
        let r = repair_at(buf, at, &mut scratch);
        match r.text {
            Some(o) => push_owned(o, r.repairs, r.lines - 1, loc, sink),
            None => push_plain(buf, text, at, end, r.repairs, r.lines - 1, loc, sink),
        }
        line_no += u64::from(r.lines);
        at = r.next;
        cur = (at < buf.len()).then(|| line_at(buf, at));
    }
    line_no - start_line
}

#[inline]
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Pushes `buf[start..end]` as read (only its `\r` dropped).
#[allow(clippy::too_many_arguments)] // the hot path: no struct to build per line
#[inline]
fn push_plain<S: LineSink + ?Sized>(
    buf: &[u8],
    text: Option<&str>,
    start: usize,
    mut end: usize,
    mut repairs: Repairs,
    joined: u32,
    loc: Loc<'_>,
    sink: &mut S,
) {
    if end > start && buf[end - 1] == b'\r' {
        end -= 1;
        repairs = repairs.with(RepairKind::Crlf);
    }
    let envelope = Envelope {
        repairs,
        joined,
        ..Envelope::default()
    };
    match text {
        Some(t) => sink.line_str(&t[start..end], &envelope, loc),
        None => sink.line(&buf[start..end], &envelope, loc),
    }
}

/// A repaired record, with the envelope data a JSON object carried.
struct Owned {
    text: Vec<u8>,
    timestamp_ms: Option<i64>,
    stream: Option<String>,
}

impl Owned {
    fn text(text: Vec<u8>) -> Owned {
        Owned {
            text,
            timestamp_ms: None,
            stream: None,
        }
    }
}

fn push_owned<S: LineSink + ?Sized>(
    o: Owned,
    repairs: Repairs,
    joined: u32,
    loc: Loc<'_>,
    sink: &mut S,
) {
    let envelope = Envelope {
        timestamp_ms: o.timestamp_ms,
        stream: o.stream.as_deref(),
        repairs,
        joined,
        ..Envelope::default()
    };
    match std::str::from_utf8(&o.text) {
        Ok(t) => sink.line_str(t, &envelope, loc),
        Err(_) => sink.line(&o.text, &envelope, loc),
    }
}

/// What [`repair_at`] made of the record at a position.
struct Repaired {
    /// Physical lines it used (at least 1).
    lines: u32,
    /// Where the line after them starts.
    next: usize,
    repairs: Repairs,
    /// The new text; `None`: push the first line as it is.
    text: Option<Owned>,
}

/// Repairs the record whose first line starts at `buf[at]`.
fn repair_at(buf: &[u8], at: usize, scratch: &mut Vec<u8>) -> Repaired {
    let (end, next) = line_at(buf, at);
    let mut repairs = Repairs::NONE;
    if buf[at..end].ends_with(b"\r") {
        repairs = repairs.with(RepairKind::Crlf);
    }
    let first = strip_cr(&buf[at..end]);
    let one = |repairs, text| Repaired {
        lines: 1,
        next,
        repairs,
        text,
    };
    // A markdown code fence is no record: counted, and pushed as a blank line.
    if is_fence(first) {
        return one(
            repairs.with(RepairKind::Markdown),
            Some(Owned::text(Vec::new())),
        );
    }
    // A pretty-printed JSON object (as jq prints it): join lines until they make one object.
    let opens = first.trim_ascii_start().starts_with(b"{");
    if opens && !json_complete(first) {
        scratch.clear();
        let (mut from, mut lines) = (at, 0u32);
        while from < buf.len() && (lines as usize) < MAX_JOIN && scratch.len() <= MAX_RECORD {
            let (e, n) = line_at(buf, from);
            let l = strip_cr(&buf[from..e]);
            if buf[from..e].ends_with(b"\r") {
                repairs = repairs.with(RepairKind::Crlf);
            }
            scratch.extend_from_slice(l.trim_ascii());
            scratch.push(b' ');
            lines += 1;
            from = n;
            if l.trim_ascii_start().starts_with(b"}")
                && let Some(o) = unwrap_json_object(scratch)
            {
                let (t, more) = repair_text(&o.text);
                let o = Owned {
                    text: t.into_owned(),
                    ..o
                };
                let kind = if lines > 1 {
                    RepairKind::PrettyJson
                } else {
                    RepairKind::JsonLine
                };
                return Repaired {
                    lines,
                    next: from,
                    repairs: repairs.with(kind).union(more),
                    text: Some(o),
                };
            }
        }
    }
    let (text, more) = repair_text(first);
    repairs = repairs.union(more);
    // A JSON event object on one line.
    if opens && let Some(o) = unwrap_json_object(text.trim_ascii()) {
        let (t, more) = repair_text(&o.text);
        let o = Owned {
            text: t.into_owned(),
            ..o
        };
        return one(repairs.with(RepairKind::JsonLine).union(more), Some(o));
    }
    // A hard-wrapped record: join the continuation lines that follow it. Most records are
    // not wrapped: look at the next line before copying anything.
    let head = is_logrus_head(&text);
    let wrapped = head && next < buf.len() && {
        let (e, _) = line_at(buf, next);
        let l = strip_cr(&buf[next..e]);
        text.len() + l.len() <= MAX_RECORD && is_continuation(&text, l)
    };
    let only_crlf = repairs.union(Repairs::of(RepairKind::Crlf)) == Repairs::of(RepairKind::Crlf);
    if !wrapped && only_crlf {
        return one(repairs, None);
    }
    let mut text = text.into_owned();
    let (mut lines, mut from) = (1u32, next);
    if wrapped {
        while from < buf.len() && (lines as usize) < MAX_JOIN {
            let (e, n) = line_at(buf, from);
            let l = strip_cr(&buf[from..e]);
            if text.len() + l.len() > MAX_RECORD || !is_continuation(&text, l) {
                break;
            }
            if buf[from..e].ends_with(b"\r") {
                repairs = repairs.with(RepairKind::Crlf);
            }
            let (l, more) = repair_text(l);
            repairs = repairs.union(more).with(RepairKind::Wrapped);
            join(&mut text, &l);
            lines += 1;
            from = n;
        }
    }
    if lines == 1 && repairs.union(Repairs::of(RepairKind::Crlf)) == Repairs::of(RepairKind::Crlf) {
        return one(repairs, None);
    }
    Repaired {
        lines,
        next: from,
        repairs,
        text: Some(Owned::text(text)),
    }
}

/// Whether `line` is a markdown code fence (```` ``` ````, ```` ```text ````, `~~~`).
fn is_fence(line: &[u8]) -> bool {
    let t = line.trim_ascii();
    (t.starts_with(b"```") || t.starts_with(b"~~~"))
        && t[3..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
}

fn json_complete(line: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(line.trim_ascii()).is_ok()
}

/// The message of a JSON log event object: `message` (CloudWatch `filter-log-events`,
/// Datadog), `@message` (Logs Insights), or `log` (Docker json-file, Fluent Bit), with its
/// timestamp and stream when it has them. `None` when `text` is not such an object.
fn unwrap_json_object(text: &[u8]) -> Option<Owned> {
    let v: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(text).ok()?;
    let message = ["message", "@message", "log"]
        .iter()
        .find_map(|k| v.get(*k).and_then(serde_json::Value::as_str))?;
    let message = message.strip_suffix('\n').unwrap_or(message);
    let message = message.strip_suffix('\r').unwrap_or(message);
    let timestamp_ms = match v.get("timestamp").or_else(|| v.get("@timestamp")) {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => time::parse_timestamp_ms(s),
        _ => None,
    }
    .or_else(|| {
        // Fluent Bit's `date` (epoch seconds with a fraction), else Docker's `time`.
        v.get("date")
            .and_then(serde_json::Value::as_f64)
            .filter(|s| s.is_finite() && s.abs() < 1e13)
            .map(|s| (s * 1000.0).round() as i64)
    })
    .or_else(|| {
        ["time", "date"]
            .iter()
            .find_map(|k| v.get(*k).and_then(serde_json::Value::as_str))
            .and_then(time::rfc3339)
    });
    let stream = ["logStreamName", "@logStream"]
        .iter()
        .find_map(|k| v.get(*k).and_then(serde_json::Value::as_str))
        .map(str::to_owned);
    Some(Owned {
        text: message.as_bytes().to_vec(),
        timestamp_ms,
        stream,
    })
}

/// Single-line repairs: markdown, a JSON-encoded string, typographic characters. Returns
/// the text (borrowed when nothing changed) and what was done.
pub(crate) fn repair_text(line: &[u8]) -> (Cow<'_, [u8]>, Repairs) {
    let mut repairs = Repairs::NONE;
    let mut text: Cow<'_, [u8]> = Cow::Borrowed(line);
    // The console's results table copied with its header: `@messagetime="…" …`.
    if let Some(rest) = line.trim_ascii_start().strip_prefix(b"@message")
        && (rest.starts_with(b"time=") || rest.starts_with(b"level="))
    {
        text = Cow::Borrowed(rest);
        repairs = repairs.with(RepairKind::HeaderJoined);
    }
    if let Some(t) = strip_markdown(&text) {
        text = Cow::Owned(t);
        repairs = repairs.with(RepairKind::Markdown);
    }
    if let Some(t) = decode_json_string(&text) {
        text = Cow::Owned(t);
        repairs = repairs.with(RepairKind::JsonString);
    }
    if let Some(t) = ascii_typography(&text) {
        text = Cow::Owned(t);
        repairs = repairs.with(RepairKind::Typographic);
    }
    (text, repairs)
}

/// Removes markdown: `> ` quoting and list bullets at the start, backticks around the line,
/// and backticks and `**` outside quoted values. `None` when there is none.
fn strip_markdown(line: &[u8]) -> Option<Vec<u8>> {
    let mut t = line;
    let mut changed = false;
    loop {
        let s = t.trim_ascii_start();
        if let Some(r) = s.strip_prefix(b">") {
            t = r.strip_prefix(b" ").unwrap_or(r);
            changed = true;
        } else {
            break;
        }
    }
    if memchr::memchr2(b'`', b'*', t).is_none() {
        return changed.then(|| t.to_vec());
    }
    // Outside quoted values (logfmt quoting: `"` opens, `\` escapes inside) drop every
    // backtick and every `**`.
    let mut out = Vec::with_capacity(t.len());
    let (mut quoted, mut i) = (false, 0);
    while i < t.len() {
        let c = t[i];
        if quoted {
            out.push(c);
            if c == b'\\' && i + 1 < t.len() {
                out.push(t[i + 1]);
                i += 2;
                continue;
            }
            if c == b'"' {
                quoted = false;
            }
        } else if c == b'`' {
            changed = true;
        } else if c == b'*' && t.get(i + 1) == Some(&b'*') {
            changed = true;
            i += 2;
            continue;
        } else {
            if c == b'"' {
                quoted = true;
            }
            out.push(c);
        }
        i += 1;
    }
    changed.then_some(out)
}

/// A whole line that is one JSON string (`"time=\"…\" level=info …"`), decoded, when its
/// content is a log line (starts like logrus or holds `time=`/`level=`).
fn decode_json_string(line: &[u8]) -> Option<Vec<u8>> {
    let t = line.trim_ascii();
    if t.len() < 2 || t[0] != b'"' || t[t.len() - 1] != b'"' {
        return None;
    }
    let s: String = serde_json::from_slice(t).ok()?;
    let s = s.strip_suffix('\n').unwrap_or(&s);
    (s.contains("time=") || s.contains("level=")).then(|| s.as_bytes().to_vec())
}

/// Typographic quotes and dashes (U+201C/D “ ”, U+2018/9 ‘ ’, U+2013 –, U+2014 —) replaced
/// by their ASCII originals, as blogs and chat tools rewrite them. `None` when there is none.
fn ascii_typography(line: &[u8]) -> Option<Vec<u8>> {
    memchr::memchr(0xE2, line)?;
    let mut out = Vec::with_capacity(line.len());
    let mut changed = false;
    let mut i = 0;
    while i < line.len() {
        let rep = match line.get(i..i + 3) {
            Some([0xE2, 0x80, 0x9C | 0x9D]) => Some(b'"'),
            Some([0xE2, 0x80, 0x98 | 0x99]) => Some(b'\''),
            Some([0xE2, 0x80, 0x93 | 0x94]) => Some(b'-'),
            _ => None,
        };
        match rep {
            Some(c) => {
                out.push(c);
                changed = true;
                i += 3;
            }
            None => {
                out.push(line[i]);
                i += 1;
            }
        }
    }
    changed.then_some(out)
}

/// Whether `text` is the start of a logrus record: it starts with `time=` or `level=`, or
/// has a `time="` after a prefix (`kubectl logs --prefix`, stern, `aws logs tail`).
fn is_logrus_head(text: &[u8]) -> bool {
    let t = text.trim_ascii_start();
    t.starts_with(b"time=")
        || t.starts_with(b"level=")
        || crate::bytes::find(&t[..t.len().min(512)], b" time=\"").is_some()
}

/// Whether `next` continues the record `head` (a physical line that a terminal, an editor or
/// `aws logs tail` wrapped off it). It must not look like the start of anything a log
/// holds (a logrus line, a timestamp, klog, JSON, markdown, a Go trace), must not hold a
/// record of its own (` time="`), and must look like a piece of logfmt: `head` ends inside
/// an open quoted value, or `next` holds a `=` or ends a quoted value. A plain word after
/// a record stays a line of its own (counted unparsed), so that garbage is never glued to a
/// record.
pub(crate) fn is_continuation(head: &[u8], next: &[u8]) -> bool {
    let t = next.trim_ascii();
    if t.is_empty() || starts_record(t) {
        return false;
    }
    if crate::bytes::find(t, b" time=\"").is_some() || decode_json_string(t).is_some() {
        return false;
    }
    open_quote(head) || memchr::memchr(b'=', t).is_some() || t.ends_with(b"\"")
}

/// Whether a (trimmed) line starts like a record or a non-logrus line a log may hold.
fn starts_record(t: &[u8]) -> bool {
    // Not `msg=`: logrus writes `time` and `level` first, so a line starting with `msg=` is
    // a wrap before it.
    const HEADS: [&[u8]; 13] = [
        b"time=",
        b"level=",
        b"INFO[",
        b"WARN[",
        b"ERRO[",
        b"DEBU[",
        b"FATA[",
        b"PANI[",
        b"TRAC[",
        b"Authenticator Version",
        b"panic: ",
        b"goroutine ",
        b"```",
    ];
    if HEADS.iter().any(|h| t.starts_with(h)) {
        return true;
    }
    if matches!(t[0], b'{' | b'}' | b'[' | b'>' | b'#' | b'@' | b'`' | b'~') {
        return true;
    }
    // A timestamp (RFC 3339, the console's `2021-08-08 20:04:46.282`) or a klog header.
    if t.len() >= 5 && t[..4].iter().all(u8::is_ascii_digit) && t[4] == b'-' {
        return true;
    }
    time::rfc3339_prefix(t).is_some() || is_klog_head(t)
}

fn is_klog_head(b: &[u8]) -> bool {
    b.len() > 5
        && matches!(b[0], b'I' | b'W' | b'E' | b'F')
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' '
}

/// Whether `text` ends inside a quoted logfmt value.
fn open_quote(text: &[u8]) -> bool {
    let mut quoted = false;
    let mut i = 0;
    while let Some(p) = memchr::memchr2(b'"', b'\\', &text[i..]) {
        let at = i + p;
        if text[at] == b'\\' {
            i = at + 2;
            if i >= text.len() {
                break;
            }
            continue;
        }
        if quoted || at == 0 || text[at - 1] == b'=' {
            quoted = !quoted;
        }
        i = at + 1;
    }
    quoted
}

/// Appends a continuation line. A wrap inside a quoted value or a token joins without a
/// separator (a terminal wraps at the column, losing nothing); a wrap between two pairs
/// whose space the editor dropped gets the space back: `head` ends with a whole pair and
/// `next` starts with `key=`.
fn join(head: &mut Vec<u8>, next: &[u8]) {
    let space = !open_quote(head)
        && !head.ends_with(b" ")
        && !next.starts_with(b" ")
        && starts_with_key(next)
        // A value just closed (`msg="access granted"`) or a whole bare pair (`level=info`):
        // logrus separates pairs by a space, so one was lost at the break.
        && (head.ends_with(b"\"") || last_token_is_pair(head));
    if space {
        head.push(b' ');
    }
    head.extend_from_slice(next);
}

fn starts_with_key(t: &[u8]) -> bool {
    let k = t
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        .count();
    k > 0 && t.get(k) == Some(&b'=')
}

fn last_token_is_pair(head: &[u8]) -> bool {
    let last = head.rsplit(|c| *c == b' ').next().unwrap_or(head);
    match memchr::memchr(b'=', last) {
        Some(eq) => {
            let v = &last[eq + 1..];
            !v.starts_with(b"\"") || (v.len() >= 2 && v.ends_with(b"\""))
        }
        None => false,
    }
}

/// The first position at or after `pos` (which starts a line) where a record starts, so
/// that a buffer cut there does not separate a record from its continuation lines. Looks
/// [`MAX_JOIN`] lines ahead at most.
pub(crate) fn record_end(buf: &[u8], mut pos: usize) -> usize {
    for _ in 0..MAX_JOIN {
        if pos >= buf.len() || fast_head(&buf[pos..]) {
            return pos;
        }
        let (e, n) = line_at(buf, pos);
        let t = strip_cr(&buf[pos..e]).trim_ascii();
        // Only a line that could continue a record (see `is_continuation`) or close a JSON
        // object is kept with the line before it.
        let may_continue = t.first() == Some(&b'}')
            || (!t.is_empty() && !starts_record(t) && memchr::memchr2(b'=', b'"', t).is_some());
        if !may_continue {
            return pos;
        }
        pos = n;
    }
    pos
}

/// The end of the last run of whole records in `buf` (whose lines all end in `\n`), for a
/// reader that hands on a buffer and keeps the rest for the next read: the start of the
/// last line that begins a record, so that its continuation lines (still unread) stay with
/// it. Looks at the last [`MAX_JOIN`] lines at most; falls back to the end of the last line
/// (`buf.len()`) when no later line begins a record.
pub(crate) fn record_cut(buf: &[u8]) -> usize {
    let mut end = buf.len();
    for _ in 0..MAX_JOIN {
        if end == 0 {
            break;
        }
        let start = memchr::memrchr(b'\n', &buf[..end - 1]).map_or(0, |p| p + 1);
        if start == 0 {
            break;
        }
        let line = strip_cr(&buf[start..end - 1]);
        let t = line.trim_ascii();
        if !t.is_empty() && starts_record(t) && t[0] != b'}' {
            return start;
        }
        if t.is_empty() {
            // A blank line ends any record: cut after it.
            return end;
        }
        end = start;
    }
    buf.len()
}

#[cfg(test)]
mod tests;
