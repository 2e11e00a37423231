//! `--input-format auto`: guess an input's shape from its first bytes (after gzip and a UTF-8 BOM).
//!
//! Rules, in order, on the first non-whitespace byte:
//!
//! 1. `{`: scan the top-level keys of the first JSON object (without building a value):
//!    * has `events` → [`FilterLogEvents`](InputFormat::FilterLogEvents) (a
//!      `filter-log-events` document, or NDJSON of such pages);
//!    * has `results` → [`QueryResults`](InputFormat::QueryResults);
//!    * has `log` and `stream` or `time` → [`Docker`](InputFormat::Docker);
//!    * has `message` and `timestamp` → [`FilterLogEvents`](InputFormat::FilterLogEvents)
//!      (NDJSON of events);
//!    * has `apiVersion` and `auditID` → [`Raw`](InputFormat::Raw): kube-apiserver audit
//!      events, one JSON object per line, are records of their own (see `crate::audit`);
//!    * has `Records` (a trail's S3 object) or `Events` (`aws cloudtrail lookup-events`) →
//!      [`CloudTrail`](InputFormat::CloudTrail); a CloudTrail event per line (a trail's log
//!      group exported) is `Raw`, its records recognised like audit events;
//!    * anything else → [`Error::UnknownShape`](super::Error::UnknownShape); broken JSON →
//!      [`Error::MalformedJson`](super::Error::MalformedJson) with its position.
//! 2. `[`: a JSON array is none of our shapes → `UnknownShape`.
//! 3. Otherwise look at the first non-empty line:
//!    * a CSV header with a field equal to `@message` (separated by `,` or `;`, or run into
//!      the first row: `…,@messageauthenticator-…`), or a CSV row with a quoted log line and
//!      a timestamp field (a console export without its header) → [`Csv`](InputFormat::Csv);
//!    * it starts with an RFC 3339 timestamp and a space, and one of the first 16 lines has
//!      logrus text (`time=` or `level=`) right after such a prefix →
//!      [`S3Export`](InputFormat::S3Export);
//!    * else → [`Raw`](InputFormat::Raw).
//! 4. Empty (or all-whitespace) input → `Raw`.
//!
//! Detection reads at most [`PEEK_MAX`] bytes and stops as soon as the answer is certain, so
//! a slow pipe is not held back waiting for a full buffer.

use super::InputFormat;
use crate::time::rfc3339_prefix;

/// The most bytes detection will look at before deciding with what it has.
pub const PEEK_MAX: usize = 64 << 10;

/// Lines (after the first) that the S3-export rule looks through.
const S3_LOOKAHEAD: usize = 16;

/// What detection concluded from a prefix.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Detection {
    /// The shape.
    Format(InputFormat),
    /// Not decidable yet: read more (only returned when not at EOF and under [`PEEK_MAX`]).
    NeedMore,
    /// JSON, but of no known shape.
    UnknownShape,
    /// Starts like a JSON object but is not valid JSON; the caller reports the position.
    BadJson,
}

/// Decides the shape of an input from `prefix`, its first bytes. `eof` says `prefix` is the
/// whole input.
pub(crate) fn detect(prefix: &[u8], eof: bool) -> Detection {
    let more_possible = !eof && prefix.len() < PEEK_MAX;
    let Some(first) = prefix.iter().position(|c| !c.is_ascii_whitespace()) else {
        return if more_possible {
            Detection::NeedMore
        } else {
            Detection::Format(InputFormat::Raw)
        };
    };
    let body = &prefix[first..];
    match body[0] {
        b'{' => detect_json(body, more_possible, eof),
        b'[' => Detection::UnknownShape,
        _ => detect_text(body, more_possible),
    }
}

fn detect_json(body: &[u8], more_possible: bool, eof: bool) -> Detection {
    let mut keys = Keys::default();
    let scan = scan_keys(body, &mut keys);
    let decided = if keys.events {
        Some(InputFormat::FilterLogEvents)
    } else if keys.results {
        Some(InputFormat::QueryResults)
    } else if keys.log && (keys.stream || keys.time) {
        Some(InputFormat::Docker)
    } else if keys.message && keys.timestamp {
        Some(InputFormat::FilterLogEvents)
    } else if keys.api_version && keys.audit_id {
        Some(InputFormat::Raw)
    } else if keys.records || keys.lookup_events {
        Some(InputFormat::CloudTrail)
    } else if keys.event_version {
        // One CloudTrail event per line.
        Some(InputFormat::Raw)
    } else {
        None
    };
    match (scan, decided) {
        (Scan::Invalid, _) => Detection::BadJson,
        (_, Some(f)) => Detection::Format(f),
        (Scan::Complete, None) => Detection::UnknownShape,
        (Scan::Incomplete, None) if more_possible => Detection::NeedMore,
        (Scan::Incomplete, None) if eof => Detection::BadJson,
        (Scan::Incomplete, None) => Detection::UnknownShape,
    }
}

fn detect_text(body: &[u8], more_possible: bool) -> Detection {
    let complete = memchr::memrchr(b'\n', body).map_or(0, |i| i + 1);
    if complete == 0 && more_possible {
        return Detection::NeedMore;
    }
    let first_end = memchr::memchr(b'\n', body).unwrap_or(body.len());
    let first = super::lines::strip_cr(&body[..first_end]);
    if is_csv_header(first) || is_csv_row(first) {
        return Detection::Format(InputFormat::Csv);
    }
    if s3_prefix(first).is_none() {
        return Detection::Format(InputFormat::Raw);
    }
    // Lines seen so far: complete ones, plus the tail if nothing more will come.
    let seen = if more_possible {
        &body[..complete]
    } else {
        body
    };
    let mut looked = 0;
    for (_, line) in super::lines::lines(seen) {
        let line = super::lines::strip_cr(line);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = s3_prefix(line)
            && (rest.starts_with(b"time=") || rest.starts_with(b"level="))
        {
            return Detection::Format(InputFormat::S3Export);
        }
        looked += 1;
        if looked > S3_LOOKAHEAD {
            return Detection::Format(InputFormat::Raw);
        }
    }
    if more_possible {
        Detection::NeedMore
    } else {
        Detection::Format(InputFormat::Raw)
    }
}

/// The rest of `line` after `<RFC3339> `, if it has that prefix.
pub(crate) fn s3_prefix(line: &[u8]) -> Option<&[u8]> {
    let (_, n) = rfc3339_prefix(line)?;
    line[n..].strip_prefix(b" ")
}

/// Whether `line` is a CSV header naming `@message`: a comma-separated list of (optionally
/// double-quoted) names, one of which is `@message`.
fn is_csv_header(line: &[u8]) -> bool {
    let header = |sep: u8| {
        let fields: Vec<&[u8]> = line.split(|&c| c == sep).collect();
        let name = |field: &[u8]| {
            let f = field.trim_ascii();
            f.strip_prefix(b"\"")
                .and_then(|f| f.strip_suffix(b"\""))
                .unwrap_or(f)
                .to_vec()
        };
        fields.iter().any(|f| name(f) == b"@message")
            // The header's line end was lost: `@message` runs into the first row's first
            // field, and every field before it is an `@` name.
            || fields.iter().position(|f| {
                let n = name(f);
                n.starts_with(b"@message") && n.len() > b"@message".len()
            })
            .is_some_and(|k| k > 0 && fields[..k].iter().all(|f| name(f).starts_with(b"@")))
    };
    // A pasted header may also have lost separators (`@logStream, @timestamp @message…`):
    // a line of `@` names that names `@message`.
    let pasted = line.trim_ascii_start().starts_with(b"@")
        && crate::bytes::find(line, b"@message").is_some();
    header(b',') || header(b';') || pasted
}

/// Whether `line` is a console CSV row without its header: a field opening with a quoted log
/// line (`"time=""…`) after a field that is a timestamp (`2021-08-08 20:04:46.282,`).
fn is_csv_row(line: &[u8]) -> bool {
    [b',', b';'].iter().any(|&sep| {
        let mut fields = line.split(|&c| c == sep);
        let mut timestamp = false;
        fields.any(|f| {
            let f = f.trim_ascii();
            if f.starts_with(b"\"time=\"\"") || f.starts_with(b"\"level=") {
                return timestamp;
            }
            timestamp |= std::str::from_utf8(f)
                .ok()
                .and_then(crate::time::parse_timestamp_ms)
                .is_some();
            false
        })
    })
}

#[derive(Default)]
struct Keys {
    events: bool,
    results: bool,
    log: bool,
    stream: bool,
    time: bool,
    message: bool,
    timestamp: bool,
    api_version: bool,
    audit_id: bool,
    records: bool,
    lookup_events: bool,
    event_version: bool,
}

impl Keys {
    fn see(&mut self, key: &[u8]) {
        match key {
            b"events" => self.events = true,
            b"results" => self.results = true,
            b"log" => self.log = true,
            b"stream" => self.stream = true,
            b"time" => self.time = true,
            b"message" => self.message = true,
            b"timestamp" => self.timestamp = true,
            b"apiVersion" => self.api_version = true,
            b"auditID" => self.audit_id = true,
            b"Records" => self.records = true,
            b"Events" => self.lookup_events = true,
            b"eventVersion" => self.event_version = true,
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    Complete,
    Incomplete,
    Invalid,
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// `b[i]` is `"`; returns the index after the closing quote.
fn skip_string(b: &[u8], mut i: usize) -> Result<usize, Scan> {
    i += 1;
    loop {
        match b.get(i) {
            None => return Err(Scan::Incomplete),
            Some(b'\\') => i += 2,
            Some(b'"') => return Ok(i + 1),
            Some(_) => i += 1,
        }
    }
}

/// Skips one JSON value starting at `b[i]` (no whitespace before it). Brackets are counted,
/// not matched: serde_json validates properly when the input is read.
fn skip_value(b: &[u8], mut i: usize) -> Result<usize, Scan> {
    match b.get(i) {
        None => Err(Scan::Incomplete),
        Some(b'"') => skip_string(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            loop {
                match b.get(i) {
                    None => return Err(Scan::Incomplete),
                    Some(b'"') => {
                        i = skip_string(b, i)?;
                        continue;
                    }
                    Some(b'{' | b'[') => depth += 1,
                    Some(b'}' | b']') => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(i + 1);
                        }
                    }
                    Some(_) => {}
                }
                i += 1;
            }
        }
        Some(_) => {
            let start = i;
            while let Some(&c) = b.get(i) {
                if c == b',' || c == b'}' || c == b']' || c.is_ascii_whitespace() {
                    break;
                }
                if !(c.is_ascii_alphanumeric() || c == b'-' || c == b'+' || c == b'.') {
                    return Err(Scan::Invalid);
                }
                i += 1;
            }
            if i == b.len() {
                Err(Scan::Incomplete)
            } else if i == start {
                Err(Scan::Invalid)
            } else {
                Ok(i)
            }
        }
    }
}

/// Records the top-level keys of the object starting at `b[0] == b'{'`.
fn scan_keys(b: &[u8], keys: &mut Keys) -> Scan {
    let step = |keys: &mut Keys| -> Result<(), Scan> {
        let mut i = skip_ws(b, 1);
        if b.get(i) == Some(&b'}') {
            return Ok(());
        }
        loop {
            match b.get(i) {
                None => return Err(Scan::Incomplete),
                Some(b'"') => {}
                Some(_) => return Err(Scan::Invalid),
            }
            let end = skip_string(b, i)?;
            keys.see(&b[i + 1..end - 1]);
            i = skip_ws(b, end);
            match b.get(i) {
                None => return Err(Scan::Incomplete),
                Some(b':') => {}
                Some(_) => return Err(Scan::Invalid),
            }
            i = skip_value(b, skip_ws(b, i + 1))?;
            i = skip_ws(b, i);
            match b.get(i) {
                None => return Err(Scan::Incomplete),
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => return Ok(()),
                Some(_) => return Err(Scan::Invalid),
            }
        }
    };
    match step(keys) {
        Ok(()) => Scan::Complete,
        Err(s) => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Detection::*;
    use InputFormat::*;

    #[test]
    fn detection_table() {
        let cases: &[(&str, Detection)] = &[
            ("", Format(Raw)),
            ("  \n\n", Format(Raw)),
            (
                r#"{"events":[],"searchedLogStreams":[]}"#,
                Format(FilterLogEvents),
            ),
            ("{\n  \"events\": [\n    {", Format(FilterLogEvents)),
            (
                r#"{"searchedLogStreams":[{"logStreamName":"a"}],"events":[]}"#,
                Format(FilterLogEvents),
            ),
            (
                r#"{"results":[[]],"status":"Complete"}"#,
                Format(QueryResults),
            ),
            (
                r#"{"status":"Complete","statistics":{"x":1.5e3},"results":[]}"#,
                Format(QueryResults),
            ),
            (
                r#"{"log":"time=\"x\" level=info\n","stream":"stderr","time":"2019-01-01T00:00:00Z"}"#,
                Format(Docker),
            ),
            (
                r#"{"logStreamName":"s","timestamp":1,"message":"m","ingestionTime":2,"eventId":"e"}"#,
                Format(FilterLogEvents),
            ),
            (
                r#"{"level":"warning","msg":"access denied","time":"x"}"#,
                UnknownShape,
            ),
            (r#"{"message":"no timestamp"}"#, UnknownShape),
            ("[1,2]", UnknownShape),
            (r#"{"events" 1}"#, BadJson),
            (r#"{"a":tru e}"#, BadJson),
            (r#"{"a":"#, BadJson),
            (
                "@timestamp,@message\n2021-08-11 10:09:43.000,x\n",
                Format(Csv),
            ),
            (
                "\"@timestamp\",\"@message\",\"@logStream\"\r\n",
                Format(Csv),
            ),
            ("@message\nfoo\n", Format(Csv)),
            ("@timestamp;@message\n", Format(Csv)),
            (
                "@logStream,@timestamp,@messageauthenticator-x,2021-08-08 20:04:46.282,\"time=\"\"x\"\"\"\n",
                Format(Csv),
            ),
            (
                "authenticator-x,2021-08-08 20:04:46.282,\"time=\"\"2021-08-08T20:04:46Z\"\" level=info\"\n",
                Format(Csv),
            ),
            ("a,\"time=\"\"x\"\"\"\n", Format(Raw)),
            (
                "2026-01-15T09:30:00.123Z time=\"2026-01-15T09:30:00Z\" level=info msg=x\n",
                Format(S3Export),
            ),
            (
                "2026-01-15T09:30:00.123Z Authenticator Version: \"v0.7.18\", \"abc\"\n\
                 2026-01-15T09:30:00.124Z level=info msg=x\n",
                Format(S3Export),
            ),
            ("2026-01-15T09:30:00.123Z something else\n", Format(Raw)),
            (
                "time=\"2021-08-11T10:09:43Z\" level=info msg=\"access granted\"\n",
                Format(Raw),
            ),
            ("W0101 12:00:00.000000 1 reflector.go:1] x\n", Format(Raw)),
            ("a,b,c\n", Format(Raw)),
        ];
        for (input, want) in cases {
            assert_eq!(&detect(input.as_bytes(), true), want, "{input:?}");
        }
    }

    #[test]
    fn waits_for_more_only_when_it_can_change_the_answer() {
        assert_eq!(detect(b"", false), NeedMore);
        assert_eq!(detect(b"time=\"2021", false), NeedMore);
        assert_eq!(detect(b"{\"status\":\"Complete\",", false), NeedMore);
        assert_eq!(detect(b"{\"events\":[", false), Format(FilterLogEvents));
        assert_eq!(detect(b"time=x level=info\n", false), Format(Raw));
        assert_eq!(detect(b"2026-01-15T09:30:00Z other\n", false), NeedMore);
        // At the peek limit it decides with what it has.
        let mut big = b"{\"status\":\"".to_vec();
        big.resize(PEEK_MAX, b'x');
        assert_eq!(detect(&big, false), UnknownShape);
    }
}
