//! The JSON shapes: `aws logs filter-log-events` (document or NDJSON), `aws logs
//! get-query-results`, and Docker json-file.
//!
//! Everything deserializes into small borrowed structs (never a `serde_json::Value` tree):
//! strings borrow from the input unless they hold escapes, which log messages usually do
//! (logfmt quotes arrive as `\"`), so those become owned through [`Str`]. NDJSON and Docker
//! are read line by line; the document shapes are read whole, then walked as a stream of
//! (possibly concatenated) documents, as a shell loop over paginated CLI calls produces.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::lines::{for_each_line, lines, strip_cr};
use super::{Ctx, Envelope, Error, LineSink, Loc};
use crate::time;

/// A JSON string that borrows from the input when it has no escapes.
///
/// `Option<Cow<'a, str>>` with `#[serde(borrow)]` does not borrow (serde only special-cases a
/// bare `Cow<str>`), hence this newtype.
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

fn as_str<'a>(s: &'a Option<Str<'_>>) -> Option<&'a str> {
    s.as_ref().map(|s| &*s.0)
}

/// Drops a trailing newline from a message: CloudWatch strips it, but a hand-made export may
/// not, and the line sink takes lines without their terminator.
fn trim_message(m: &str) -> &[u8] {
    let m = m.strip_suffix('\n').unwrap_or(m);
    strip_cr(m.as_bytes())
}

/// One `filter-log-events` event, or one whole page `{"events":[…]}` (NDJSON allows both).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventOrPage<'a> {
    #[serde(borrow, default)]
    events: Option<Vec<Event<'a>>>,
    // The event's own fields, spelled out: `#[serde(flatten)]` would buffer every key of
    // every event into an intermediate map first.
    #[serde(borrow, default)]
    log_stream_name: Option<Str<'a>>,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(borrow, default)]
    message: Option<Str<'a>>,
    #[serde(default)]
    ingestion_time: Option<i64>,
    #[serde(borrow, default)]
    event_id: Option<Str<'a>>,
}

/// One `filter-log-events` event. Unknown keys are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    #[serde(borrow, default)]
    log_stream_name: Option<Str<'a>>,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(borrow, default)]
    message: Option<Str<'a>>,
    #[serde(default)]
    ingestion_time: Option<i64>,
    #[serde(borrow, default)]
    event_id: Option<Str<'a>>,
}

/// Pushes one event as record `record`.
fn push_event<S: LineSink + ?Sized>(
    ctx: &Ctx<'_>,
    ev: &Event<'_>,
    record: u64,
    sink: &mut S,
) -> Result<(), Error> {
    let Some(message) = &ev.message else {
        return Err(Error::MissingMessage {
            input: ctx.input.to_owned(),
            record,
        });
    };
    let envelope = Envelope {
        timestamp_ms: ev.timestamp,
        stream: as_str(&ev.log_stream_name),
        ptr: as_str(&ev.event_id),
        ingestion_ms: ev.ingestion_time,
    };
    let loc = Loc {
        input: ctx.input,
        line: record,
    };
    sink.line(trim_message(&message.0), &envelope, loc);
    Ok(())
}

/// Pushes an event or every event of a page; `record` is the last record number used.
fn push_event_or_page<S: LineSink + ?Sized>(
    ctx: &Ctx<'_>,
    obj: EventOrPage<'_>,
    record: &mut u64,
    sink: &mut S,
) -> Result<(), Error> {
    match obj.events {
        Some(events) => {
            for ev in &events {
                *record += 1;
                push_event(ctx, ev, *record, sink)?;
            }
        }
        None => {
            *record += 1;
            let ev = Event {
                log_stream_name: obj.log_stream_name,
                timestamp: obj.timestamp,
                message: obj.message,
                ingestion_time: obj.ingestion_time,
                event_id: obj.event_id,
            };
            push_event(ctx, &ev, *record, sink)?;
        }
    }
    Ok(())
}

/// How the `FilterLogEvents` reader is reading the input.
enum Mode {
    /// Before the first non-empty line; counts the empty lines seen.
    Undecided(usize),
    /// Every line is a complete event or page.
    Ndjson,
    /// A (pretty-printed) document: collected whole, parsed at the end.
    Document(Vec<u8>),
}

/// Reads `aws logs filter-log-events` output: one document (or several concatenated, as from
/// a loop over `--next-token`), or NDJSON of events or of pages. Which one is decided by the
/// first non-empty line: if it is a complete JSON value the input is NDJSON, otherwise a
/// document. [`Loc::line`] is the 1-based event number.
pub(crate) fn read_filter_log_events<R, S>(
    ctx: &Ctx<'_>,
    reader: &mut R,
    sink: &mut S,
) -> Result<(), Error>
where
    R: Read + ?Sized,
    S: LineSink + ?Sized,
{
    let mut mode = Mode::Undecided(0);
    let mut record = 0u64;
    super::lines::for_each_region(ctx, reader, super::lines::LINE_BUFFER, |region, first| {
        if let Mode::Document(doc) = &mut mode {
            doc.extend_from_slice(region);
            return Ok(super::lines::count_lines(region));
        }
        let mut line_no = first;
        for (offset, raw) in lines(region) {
            let text = strip_cr(raw);
            match &mut mode {
                Mode::Undecided(empty) if text.trim_ascii().is_empty() => *empty += 1,
                Mode::Ndjson if text.trim_ascii().is_empty() => {}
                Mode::Undecided(empty) => {
                    match serde_json::from_slice::<EventOrPage<'_>>(text) {
                        Ok(obj) => {
                            mode = Mode::Ndjson;
                            push_event_or_page(ctx, obj, &mut record, sink)?;
                        }
                        Err(e) if e.is_eof() => {
                            // Keep line numbers of JSON errors true to the input.
                            let mut doc = vec![b'\n'; *empty];
                            doc.extend_from_slice(&region[offset..]);
                            mode = Mode::Document(doc);
                            return Ok(super::lines::count_lines(region));
                        }
                        Err(e) => return Err(Error::json(ctx.input, line_no, e)),
                    }
                }
                Mode::Ndjson => {
                    let obj = serde_json::from_slice::<EventOrPage<'_>>(text)
                        .map_err(|e| Error::json(ctx.input, line_no, e))?;
                    push_event_or_page(ctx, obj, &mut record, sink)?;
                }
                // Not reached: the switch to a document returns from this region, and later
                // regions are appended before this loop.
                Mode::Document(_) => {}
            }
            line_no += 1;
        }
        Ok(line_no - first)
    })?;
    if let Mode::Document(doc) = mode {
        for obj in serde_json::Deserializer::from_slice(&doc).into_iter::<EventOrPage<'_>>() {
            let obj = obj.map_err(|e| Error::json(ctx.input, 1, e))?;
            push_event_or_page(ctx, obj, &mut record, sink)?;
        }
    }
    Ok(())
}

/// One `get-query-results` response. `status` and `statistics` are ignored.
#[derive(Deserialize)]
struct QueryPage<'a> {
    #[serde(borrow)]
    results: Vec<Vec<Cell<'a>>>,
}

/// One `{"field": …, "value": …}` cell.
#[derive(Deserialize)]
struct Cell<'a> {
    #[serde(borrow)]
    field: Str<'a>,
    #[serde(borrow, default)]
    value: Option<Str<'a>>,
}

/// Reads `aws logs get-query-results` output (one or several concatenated documents). Cells
/// are looked up by name: `@message` is required, `@timestamp` (AWS's
/// `YYYY-MM-DD HH:MM:SS.mmm` or moto's epoch ms; unparsable → none), `@logStream` and `@ptr`
/// are optional. [`Loc::line`] is the 1-based row number.
pub(crate) fn read_query_results<R, S>(
    ctx: &Ctx<'_>,
    reader: &mut R,
    sink: &mut S,
) -> Result<(), Error>
where
    R: Read + ?Sized,
    S: LineSink + ?Sized,
{
    let mut doc = Vec::new();
    reader.read_to_end(&mut doc).map_err(|e| ctx.io(e))?;
    let mut record = 0u64;
    for page in serde_json::Deserializer::from_slice(&doc).into_iter::<QueryPage<'_>>() {
        let page = page.map_err(|e| Error::json(ctx.input, 1, e))?;
        for row in &page.results {
            record += 1;
            let cell = |name: &str| {
                row.iter()
                    .find(|c| c.field.0 == name)
                    .and_then(|c| as_str(&c.value))
            };
            let Some(message) = cell("@message") else {
                return Err(Error::MissingMessage {
                    input: ctx.input.to_owned(),
                    record,
                });
            };
            let envelope = Envelope {
                timestamp_ms: cell("@timestamp").and_then(time::parse_timestamp_ms),
                stream: cell("@logStream"),
                ptr: cell("@ptr"),
                ingestion_ms: cell("@ingestionTime").and_then(time::parse_timestamp_ms),
            };
            let loc = Loc {
                input: ctx.input,
                line: record,
            };
            sink.line(trim_message(message), &envelope, loc);
        }
    }
    Ok(())
}

/// One Docker json-file line.
#[derive(Deserialize)]
struct DockerLine<'a> {
    #[serde(borrow)]
    log: Str<'a>,
    #[serde(borrow, default)]
    stream: Option<Str<'a>>,
    #[serde(borrow, default)]
    time: Option<Str<'a>>,
}

/// A line Docker split into pieces (it cuts at 16 KiB; only the last piece ends in `\n`).
struct Partial {
    text: Vec<u8>,
    line: u64,
}

/// Reads Docker json-file lines: `log` without its trailing `\n` is the line, `stream`
/// (`stdout`/`stderr`) and `time` (RFC 3339, ns) go to the envelope. Pieces of a line Docker
/// split are joined; the joined line has the first piece's line number and the last piece's
/// envelope. [`Loc::line`] is the physical line number.
pub(crate) fn read_docker<R, S>(ctx: &Ctx<'_>, reader: &mut R, sink: &mut S) -> Result<(), Error>
where
    R: Read + ?Sized,
    S: LineSink + ?Sized,
{
    let mut partial: Option<Partial> = None;
    let mut last_envelope = (None, None::<String>);
    for_each_line(ctx, reader, |text, line| {
        let d: DockerLine<'_> =
            serde_json::from_slice(text).map_err(|e| Error::json(ctx.input, line, e))?;
        let envelope = Envelope {
            timestamp_ms: as_str(&d.time).and_then(time::rfc3339),
            stream: as_str(&d.stream),
            ..Envelope::default()
        };
        let log = d.log.0.as_bytes();
        match log.strip_suffix(b"\n") {
            Some(done) => {
                let done = strip_cr(done);
                match partial.take() {
                    Some(mut p) => {
                        p.text.extend_from_slice(done);
                        let loc = Loc {
                            input: ctx.input,
                            line: p.line,
                        };
                        sink.line(&p.text, &envelope, loc);
                    }
                    None => sink.line(
                        done,
                        &envelope,
                        Loc {
                            input: ctx.input,
                            line,
                        },
                    ),
                }
            }
            None => {
                partial
                    .get_or_insert_with(|| Partial {
                        text: Vec::new(),
                        line,
                    })
                    .text
                    .extend_from_slice(log);
                last_envelope = (envelope.timestamp_ms, envelope.stream.map(str::to_owned));
            }
        }
        Ok(())
    })?;
    if let Some(p) = partial {
        // The input ended inside a split line: push what there is.
        let envelope = Envelope {
            timestamp_ms: last_envelope.0,
            stream: last_envelope.1.as_deref(),
            ..Envelope::default()
        };
        sink.line(
            &p.text,
            &envelope,
            Loc {
                input: ctx.input,
                line: p.line,
            },
        );
    }
    Ok(())
}
