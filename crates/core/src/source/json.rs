//! The JSON shapes: `aws logs filter-log-events` (document or NDJSON), `aws logs
//! get-query-results`, and Docker json-file.
//!
//! Everything deserializes into small borrowed structs (never a `serde_json::Value` tree):
//! strings borrow from the input unless they hold escapes, which log messages usually do
//! (logfmt quotes arrive as `\"`), so those become owned through [`Str`]. NDJSON and Docker
//! are read line by line. `filter-log-events` documents (possibly concatenated, as a shell
//! loop over paginated CLI calls produces) stream through a bounded buffer, event by event,
//! and its events skip serde on their usual flat shape (see [`read_filter_log_events`]).
//! `get-query-results` documents stream through the same buffer, row by row (`query`).

use std::borrow::Cow;
use std::fmt;
use std::io::{ErrorKind, Read};

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::lines::{LINE_BUFFER, for_each_line, strip_cr};
use super::{Ctx, Envelope, Error, LineSink, Loc};
use crate::time;

/// A JSON string that borrows from the input when it has no escapes.
///
/// `Option<Cow<'a, str>>` with `#[serde(borrow)]` does not borrow (serde only special-cases a
/// bare `Cow<str>`), hence this newtype.
pub(super) struct Str<'a>(pub(super) Cow<'a, str>);

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

pub(super) fn as_str<'a>(s: &'a Option<Str<'_>>) -> Option<&'a str> {
    s.as_ref().map(|s| &*s.0)
}

/// Drops a trailing newline from a message: CloudWatch strips it, but a hand-made export may
/// not, and the line sink takes lines without their terminator.
pub(super) fn trim_message(m: &[u8]) -> &[u8] {
    let m = m.strip_suffix(b"\n").unwrap_or(m);
    strip_cr(m)
}

/// One `filter-log-events` event, or one whole page `{"events":[…]}` (NDJSON allows both).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventOrPage<'a> {
    #[serde(borrow, default)]
    events: Option<Vec<LogEvent<'a>>>,
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
struct LogEvent<'a> {
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
    ev: &LogEvent<'_>,
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
        ..Envelope::default()
    };
    let loc = Loc {
        input: ctx.input,
        line: record,
    };
    sink.line(trim_message(message.0.as_bytes()), &envelope, loc);
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
            let ev = LogEvent {
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

/// Reads `aws logs filter-log-events` output: one document (or several concatenated, as from
/// a loop over `--next-token`), or NDJSON of events or of pages. Which one is decided by the
/// first non-empty line: if it is a complete JSON value the input is NDJSON, otherwise a
/// document. [`Loc::line`] is the 1-based event number.
///
/// Both shapes stream through one bounded buffer, so memory does not grow with the input: a
/// document's `events` array is taken apart element by element (see [`EventSplitter`]), and each
/// event goes through a hand-written parser for the usual flat shape that decodes escapes
/// into a reused scratch buffer. Anything that parser does not expect (an unknown key, a
/// float timestamp, an invalid escape…) goes to serde instead, so what is accepted and the
/// errors for what is not stay serde's.
pub(crate) fn read_filter_log_events<R, S>(
    ctx: &Ctx<'_>,
    reader: &mut R,
    sink: &mut S,
) -> Result<(), Error>
where
    R: Read + ?Sized,
    S: LineSink + ?Sized,
{
    read_filter_log_events_with(ctx, reader, LINE_BUFFER, sink)
}

/// [`read_filter_log_events`] with the initial buffer size as a parameter, for tests.
pub(crate) fn read_filter_log_events_with<R, S>(
    ctx: &Ctx<'_>,
    reader: &mut R,
    capacity: usize,
    sink: &mut S,
) -> Result<(), Error>
where
    R: Read + ?Sized,
    S: LineSink + ?Sized,
{
    let mut win = ReadBuffer::new(capacity);
    let mut events = EventSplitter::default();
    let mut decided = false;
    // Line number of `win.buf[win.start]`.
    let mut line_no = 1u64;
    loop {
        let avail = &win.buf[win.start..win.end];
        let (raw, used) = match memchr::memchr(b'\n', avail) {
            Some(nl) => (&avail[..nl], nl + 1),
            None if win.eof && avail.is_empty() => return Ok(()),
            None if win.eof => (avail, avail.len()),
            None => {
                win.fill(ctx, reader, true)?;
                continue;
            }
        };
        let text = strip_cr(raw);
        if !text.trim_ascii().is_empty() {
            if !decided {
                // The check the reader always made (serde_json's idea of "ends too soon"
                // depends on the type asked for, so ask for the same one).
                match serde_json::from_slice::<EventOrPage<'_>>(text) {
                    Err(e) if e.is_eof() => {
                        // Not a complete value: a (pretty-printed) document starts here.
                        win.start_tracking(line_no);
                        return read_document(ctx, reader, &mut win, &mut events, sink);
                    }
                    _ => decided = true,
                }
            }
            events.line(ctx, text, line_no, sink)?;
        }
        win.start += used;
        line_no += 1;
    }
}

/// Reads the rest of the input as a stream of documents (pages or single events).
fn read_document<R, S>(
    ctx: &Ctx<'_>,
    reader: &mut R,
    win: &mut ReadBuffer,
    events: &mut EventSplitter,
    sink: &mut S,
) -> Result<(), Error>
where
    R: Read + ?Sized,
    S: LineSink + ?Sized,
{
    loop {
        let complete = win.eof;
        let buf = &win.buf[..win.end];
        match events.run(ctx, buf, win.start, complete, false, sink) {
            Ok(pos) => {
                let stuck = pos == win.start;
                win.start = pos;
                if complete {
                    return Ok(());
                }
                win.fill(ctx, reader, stuck)?;
            }
            Err(fault) => return Err(fault.into_error(ctx.input, buf, win.line, win.col)),
        }
    }
}

/// The read buffer: `buf[start..end]` is read but not yet consumed.
pub(super) struct ReadBuffer {
    pub(super) buf: Vec<u8>,
    pub(super) start: usize,
    pub(super) end: usize,
    /// The reader has reported the end of the input.
    pub(super) eof: bool,
    /// Whether `line` and `col` are kept (only documents need them, for error positions).
    track: bool,
    /// 1-based line number of `buf[0]`.
    pub(super) line: u64,
    /// Bytes before `buf[0]` on its line.
    pub(super) col: u64,
}

impl ReadBuffer {
    pub(super) fn new(capacity: usize) -> Self {
        ReadBuffer {
            buf: vec![0; capacity.max(1)],
            start: 0,
            end: 0,
            eof: false,
            track: false,
            line: 1,
            col: 0,
        }
    }

    /// From now on keeps track of positions; `buf[start]` is at the start of line `line`.
    pub(super) fn start_tracking(&mut self, line: u64) {
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        self.track = true;
        self.line = line;
        self.col = 0;
    }

    /// Drops the consumed bytes and reads more. `stuck` says the caller could not make any
    /// progress on what is there: then the unconsumed part is at least doubled (growing the
    /// buffer if need be), so a value larger than the buffer costs a number of retries
    /// logarithmic in its size, not linear. Otherwise one read is enough.
    pub(super) fn fill<R: Read + ?Sized>(
        &mut self,
        ctx: &Ctx<'_>,
        reader: &mut R,
        stuck: bool,
    ) -> Result<(), Error> {
        if self.start > 0 {
            if self.track {
                let gone = &self.buf[..self.start];
                match memchr::memrchr(b'\n', gone) {
                    Some(nl) => {
                        self.line += count_newlines(gone);
                        self.col = (self.start - nl - 1) as u64;
                    }
                    None => self.col += self.start as u64,
                }
            }
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let want = if stuck {
            (2 * self.end).max(self.end + 1)
        } else {
            self.end + 1
        };
        if want > self.buf.len() {
            let grown = want.max(2 * self.buf.len());
            self.buf.resize(grown, 0);
        }
        while self.end < want && !self.eof {
            match reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(ctx.io(e)),
            }
        }
        Ok(())
    }
}

fn count_newlines(buf: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', buf).count() as u64
}

/// Line and column of `buf[at]` as serde_json counts them (column: bytes before it on its
/// line), given that `buf[0]` is on line `line` after `col` bytes.
fn locate(buf: &[u8], line: u64, col: u64, at: usize) -> (u64, u64) {
    let before = &buf[..at.min(buf.len())];
    match memchr::memrchr(b'\n', before) {
        Some(nl) => (
            line + count_newlines(before),
            (before.len() - nl - 1) as u64,
        ),
        None => (line, col + before.len() as u64),
    }
}

/// Why reading stopped, with positions as offsets into the buffer being read.
#[derive(Debug)]
pub(super) enum Fault {
    /// serde_json's error for a value that starts at `at`, parsed with `shift` bytes of
    /// prefix in front of it on its first line.
    Json {
        at: usize,
        shift: u64,
        err: serde_json::Error,
    },
    /// A syntax error found by the splitter itself, worded as serde_json words it, at the
    /// offset serde_json would report.
    Syntax { at: usize, what: &'static str },
    /// Event number `record` has no `message`.
    MissingMessage { record: u64 },
}

impl Fault {
    /// The error for the user: positions made absolute, given that `buf[0]` is on line `line`
    /// after `col` bytes.
    pub(super) fn into_error(self, input: &str, buf: &[u8], line: u64, col: u64) -> Error {
        let (line, column, what) = match self {
            Fault::MissingMessage { record } => {
                return Error::MissingMessage {
                    input: input.to_owned(),
                    record,
                };
            }
            Fault::Syntax { at, what } => {
                let (l, c) = locate(buf, line, col, at);
                (l, c, what.to_owned())
            }
            Fault::Json { at, shift, err } => {
                let (l0, c0) = locate(buf, line, col, at);
                let (l, c) = match err.line() as u64 {
                    0 => (l0, c0),
                    1 => (l0, c0 + (err.column() as u64).saturating_sub(shift)),
                    n => (l0 + n - 1, err.column() as u64),
                };
                // serde_json's message ends with the position within the slice it was given;
                // say the position in the input instead.
                let msg = err.to_string();
                let own = format!(" at line {} column {}", err.line(), err.column());
                let what = match msg.strip_suffix(&own) {
                    Some(what) if err.line() != 0 => what.to_owned(),
                    _ => msg,
                };
                (l, c, what)
            }
        };
        Error::MalformedJson {
            input: input.to_owned(),
            line,
            column,
            // serde_json reads the position back from the message (and prints it again).
            source: de::Error::custom(format!("{what} at line {line} column {column}")),
        }
    }
}

/// Where the splitter stands in the stream of documents, between two units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum At {
    /// Between top-level values.
    #[default]
    Top,
    /// Just after the `[` of a page's `events`.
    First,
    /// After an element of `events`.
    Next,
    /// After a `,` in `events`.
    Element,
    /// After the `]` of `events`: the rest of the page object.
    Tail,
}

/// The prefix that turns the rest of a page after its `events` array back into an object
/// serde can check: the same struct, fields and duplicate detection as a whole page.
const TAIL_PREFIX: &[u8] = b"{\"events\":[]";

/// Splits a stream of `filter-log-events` documents into events and pushes them.
///
/// A top-level value is an event or a page. A page whose first key is `events` holding an
/// array is streamed: each element is parsed and pushed on its own, and the rest of the page
/// (`searchedLogStreams`, `nextToken`) is checked as one small unit once the array ends. Any
/// other top-level value (a page with `events` not first, say) is parsed whole by serde.
#[derive(Default)]
struct EventSplitter {
    at: At,
    /// The last record number used.
    record: u64,
    /// Decoded strings of the current event.
    scratch: Vec<u8>,
    /// [`TAIL_PREFIX`] and the rest of the current page.
    tail: Vec<u8>,
    /// The end of the page tail could not be found by scanning: hand serde all there is.
    tail_whole: bool,
}

impl EventSplitter {
    /// Reads one NDJSON line (`text`, line number `line`): exactly one event or page.
    fn line<S: LineSink + ?Sized>(
        &mut self,
        ctx: &Ctx<'_>,
        text: &[u8],
        line: u64,
        sink: &mut S,
    ) -> Result<(), Error> {
        self.at = At::Top;
        self.run(ctx, text, 0, true, true, sink)
            .and_then(|pos| trailing(text, pos))
            .map_err(|fault| fault.into_error(ctx.input, text, line, 0))
    }

    /// Consumes whole units of `buf` from `pos` on, pushing events, and returns where it
    /// stopped: `buf.len()`, or the start of a unit that is not all in `buf` yet. `complete`
    /// says that `buf` ends where the input ends. With `one`, stops after one top-level
    /// value.
    fn run<S: LineSink + ?Sized>(
        &mut self,
        ctx: &Ctx<'_>,
        buf: &[u8],
        mut pos: usize,
        complete: bool,
        one: bool,
        sink: &mut S,
    ) -> Result<usize, Fault> {
        loop {
            let p = skip_ws(buf, pos);
            let Some(&c) = buf.get(p) else {
                if !complete {
                    return Ok(p);
                }
                let what = match self.at {
                    At::Top => return Ok(p),
                    At::First | At::Next => "EOF while parsing a list",
                    At::Element => "EOF while parsing a value",
                    At::Tail => "EOF while parsing an object",
                };
                return Err(Fault::Syntax { at: p, what });
            };
            match self.at {
                At::Top => {
                    let end = match self.top(ctx, buf, p, complete, one, sink)? {
                        Some(end) => end,
                        None => return Ok(p),
                    };
                    pos = end;
                    if one && self.at == At::Top {
                        return Ok(pos);
                    }
                }
                At::First if c == b']' => {
                    pos = p + 1;
                    self.at = At::Tail;
                }
                At::Element if c == b']' => {
                    return Err(Fault::Syntax {
                        at: peek(buf, p),
                        what: "trailing comma",
                    });
                }
                At::First | At::Element => match self.element(ctx, buf, p, complete, sink)? {
                    Some(end) => {
                        pos = end;
                        self.at = At::Next;
                    }
                    None => return Ok(p),
                },
                At::Next => {
                    self.at = match c {
                        b',' => At::Element,
                        b']' => At::Tail,
                        _ => {
                            return Err(Fault::Syntax {
                                at: peek(buf, p),
                                what: "expected `,` or `]`",
                            });
                        }
                    };
                    pos = p + 1;
                }
                At::Tail => match self.tail(buf, p, complete)? {
                    Some(end) => {
                        pos = end;
                        self.at = At::Top;
                        if one {
                            return Ok(pos);
                        }
                    }
                    None => return Ok(p),
                },
            }
        }
    }

    /// A top-level value at `buf[p]` (not whitespace). Returns its end, or `None` if it is
    /// not all in `buf`; on a streamed page, returns the end of the page's head instead and
    /// leaves `self.at` in the page.
    fn top<S: LineSink + ?Sized>(
        &mut self,
        ctx: &Ctx<'_>,
        buf: &[u8],
        p: usize,
        complete: bool,
        one: bool,
        sink: &mut S,
    ) -> Result<Option<usize>, Fault> {
        let s = &buf[p..];
        match self.fast(ctx, buf, p, complete, one, sink)? {
            Fast::Pushed(end) => return Ok(Some(end)),
            Fast::Incomplete => return Ok(None),
            Fast::Retry => {}
            Fast::Miss => match page_head(s) {
                Ok(n) => {
                    self.at = At::First;
                    return Ok(Some(p + n));
                }
                Err(Miss::Incomplete) if !complete => return Ok(None),
                Err(_) => {}
            },
        }
        // Anything else: serde, on the whole value.
        if one {
            // As NDJSON always did: the line is the value.
            let obj =
                serde_json::from_slice::<EventOrPage<'_>>(buf).map_err(|err| Fault::Json {
                    at: 0,
                    shift: 0,
                    err,
                })?;
            self.push_event_or_page(ctx, obj, sink)?;
            return Ok(Some(buf.len()));
        }
        let mut values = serde_json::Deserializer::from_slice(s).into_iter::<EventOrPage<'_>>();
        match values.next() {
            Some(Ok(obj)) => {
                let end = p + values.byte_offset();
                self.push_event_or_page(ctx, obj, sink)?;
                Ok(Some(end))
            }
            Some(Err(err)) if needs_more(&err, s, complete) => Ok(None),
            Some(Err(err)) => Err(Fault::Json {
                at: p,
                shift: 0,
                err,
            }),
            // Not reached: `buf[p]` is not whitespace.
            None => Ok(Some(buf.len())),
        }
    }

    /// Tries the hand-written parser on the event at `buf[p]` and pushes it. With `one`
    /// (an NDJSON line), only whitespace may follow the event, as serde's `from_slice`
    /// requires.
    fn fast<S: LineSink + ?Sized>(
        &mut self,
        ctx: &Ctx<'_>,
        buf: &[u8],
        p: usize,
        complete: bool,
        one: bool,
        sink: &mut S,
    ) -> Result<Fast, Fault> {
        let s = &buf[p..];
        self.scratch.clear();
        match fast_event(s, &mut self.scratch) {
            Ok((fields, n)) => {
                if one {
                    // serde's from_slice checks what follows before we push anything.
                    trailing(buf, p + n)?;
                }
                self.record += 1;
                match push_fast(ctx, s, &self.scratch, &fields, self.record, sink) {
                    Ok(()) => Ok(Fast::Pushed(p + n)),
                    Err(Pushed::NoMessage) => Err(Fault::MissingMessage {
                        record: self.record,
                    }),
                    Err(Pushed::Retry) => {
                        self.record -= 1;
                        Ok(Fast::Retry)
                    }
                }
            }
            Err(Miss::Incomplete) if !complete => Ok(Fast::Incomplete),
            Err(_) => Ok(Fast::Miss),
        }
    }

    fn push_event_or_page<S: LineSink + ?Sized>(
        &mut self,
        ctx: &Ctx<'_>,
        obj: EventOrPage<'_>,
        sink: &mut S,
    ) -> Result<(), Fault> {
        push_event_or_page(ctx, obj, &mut self.record, sink).map_err(missing)
    }

    /// An element of `events` at `buf[p]`. Returns its end, or `None` if it is not all in
    /// `buf`.
    fn element<S: LineSink + ?Sized>(
        &mut self,
        ctx: &Ctx<'_>,
        buf: &[u8],
        p: usize,
        complete: bool,
        sink: &mut S,
    ) -> Result<Option<usize>, Fault> {
        let s = &buf[p..];
        match self.fast(ctx, buf, p, complete, false, sink)? {
            Fast::Pushed(end) => return Ok(Some(end)),
            Fast::Incomplete => return Ok(None),
            Fast::Retry | Fast::Miss => {}
        }
        let mut values = serde_json::Deserializer::from_slice(s).into_iter::<LogEvent<'_>>();
        match values.next() {
            Some(Ok(ev)) => {
                let end = p + values.byte_offset();
                self.record += 1;
                push_event(ctx, &ev, self.record, sink).map_err(missing)?;
                Ok(Some(end))
            }
            Some(Err(err)) if needs_more(&err, s, complete) => Ok(None),
            Some(Err(err)) => Err(Fault::Json {
                at: p,
                shift: 0,
                err,
            }),
            // Not reached: `buf[p]` is not whitespace.
            None => Ok(Some(buf.len())),
        }
    }

    /// The rest of a page after its `events` array, from `buf[p]` (not whitespace). Returns
    /// its end, or `None` if it is not all in `buf`.
    fn tail(&mut self, buf: &[u8], p: usize, complete: bool) -> Result<Option<usize>, Fault> {
        let end = match object_end(&buf[p..]) {
            Some(n) if !self.tail_whole => p + n,
            _ if complete => buf.len(),
            _ => return Ok(None),
        };
        self.tail.clear();
        self.tail.extend_from_slice(TAIL_PREFIX);
        self.tail.extend_from_slice(&buf[p..end]);
        let shift = TAIL_PREFIX.len();
        let mut values =
            serde_json::Deserializer::from_slice(&self.tail).into_iter::<EventOrPage<'_>>();
        match values.next() {
            // `events` is the empty array of the prefix: nothing to push.
            Some(Ok(_)) => {
                self.tail_whole = false;
                Ok(Some(p + values.byte_offset() - shift))
            }
            Some(Err(err)) if err.is_eof() && end < buf.len() => {
                // The scan cut the tail short (it is malformed): let serde see all of it.
                self.tail_whole = true;
                if complete {
                    self.tail(buf, p, complete)
                } else {
                    Ok(None)
                }
            }
            Some(Err(err)) if end == buf.len() && needs_more(&err, &self.tail, complete) => {
                Ok(None)
            }
            Some(Err(err)) => Err(Fault::Json {
                at: p,
                shift: shift as u64,
                err,
            }),
            // Not reached: the prefix is not whitespace.
            None => Ok(Some(end)),
        }
    }
}

/// The fault for what [`push_event`] and [`push_event_or_page`] report.
fn missing(e: Error) -> Fault {
    match e {
        Error::MissingMessage { record, .. } => Fault::MissingMessage { record },
        // Not reached: pushing fails only for a missing message.
        _ => Fault::Syntax {
            at: 0,
            what: "unexpected error",
        },
    }
}

/// The offset serde_json reports for an error found while peeking at `buf[p]`.
pub(super) fn peek(buf: &[u8], p: usize) -> usize {
    (p + 1).min(buf.len())
}

/// Whether `err`, from parsing the start of `s`, could go away with more input: it is at
/// (or next to) the end of `s`, and `s` is not the end of the input.
pub(super) fn needs_more(err: &serde_json::Error, s: &[u8], complete: bool) -> bool {
    if complete {
        return false;
    }
    if err.is_eof() {
        return true;
    }
    // Offset of the error: skip `line - 1` newlines, then `column` bytes.
    let mut at = 0;
    for _ in 1..err.line() {
        match memchr::memchr(b'\n', &s[at..]) {
            Some(nl) => at += nl + 1,
            None => return true,
        }
    }
    at + err.column() + 2 >= s.len()
}

/// Checks that only whitespace follows a value that ends at `buf[pos]`.
fn trailing(buf: &[u8], pos: usize) -> Result<(), Fault> {
    let p = skip_ws(buf, pos);
    if p < buf.len() {
        return Err(Fault::Syntax {
            at: peek(buf, p),
            what: "trailing characters",
        });
    }
    Ok(())
}

/// The first offset at or after `i` that is not JSON whitespace.
#[inline]
pub(super) fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = s.get(i) {
        i += 1;
    }
    i
}

/// Scans a page's tail (what follows its `events` array, whitespace skipped) for the `}` that
/// closes the page, minding strings; returns the offset just past it. The scan only finds
/// where to cut: serde checks the tail.
fn object_end(s: &[u8]) -> Option<usize> {
    let mut depth = 0u32;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'"' => {
                // To the closing quote, over escaped characters.
                i += 1;
                loop {
                    let at = i + memchr::memchr2(b'"', b'\\', s.get(i..)?)?;
                    if s[at] == b'"' {
                        i = at;
                        break;
                    }
                    i = at + 2;
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth == 0 => return Some(i + 1),
            b'}' | b']' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Matches `{ "events" : [` (any whitespace) at the start of `s`; returns the offset just past
/// the `[`.
fn page_head(s: &[u8]) -> Result<usize, Miss> {
    let mut i = 0;
    for (n, token) in [&b"{"[..], b"\"events\"", b":", b"["]
        .into_iter()
        .enumerate()
    {
        if n > 0 {
            i = skip_ws(s, i);
        }
        let rest = &s[i.min(s.len())..];
        if rest.starts_with(token) {
            i += token.len();
        } else if token.starts_with(rest) {
            return Err(Miss::Incomplete);
        } else {
            return Err(Miss::Bail);
        }
    }
    Ok(i)
}

// ---- the event fast path ----
//
// Not serde_json alone: the same borrowed `LogEvent`, read by serde in this same splitter, made
// `report` on a filter-log-events document 30-45 % slower (it allocates for every message
// with an escape, which is nearly all of them, and validates all UTF-8). The commit that
// added this note has the numbers.

/// What [`EventSplitter::fast`] did with an event.
enum Fast {
    /// Parsed and pushed; the event ends here.
    Pushed(usize),
    /// The event runs past the end of the buffer: read more first.
    Incomplete,
    /// Parsed, but not pushable (`Pushed::Retry`): serde must read it, nothing else.
    Retry,
    /// Not the flat event shape the fast parser reads.
    Miss,
}

/// Why [`fast_event`] did not parse an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Miss {
    /// The input ends inside it: more input may complete it.
    Incomplete,
    /// Not the usual shape, or not valid: serde decides.
    Bail,
}

/// A decoded string: a range of the event's input when it has no escapes, else of the
/// scratch buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Text {
    Raw(usize, usize),
    Decoded(usize, usize),
}

impl Text {
    fn bytes<'a>(self, input: &'a [u8], scratch: &'a [u8]) -> &'a [u8] {
        match self {
            Text::Raw(a, b) => &input[a..b],
            Text::Decoded(a, b) => &scratch[a..b],
        }
    }
}

/// The fields of one event, as [`fast_event`] found them.
#[derive(Debug, Default)]
struct Fields {
    stream: Option<Text>,
    timestamp: Option<i64>,
    message: Option<Text>,
    ingestion: Option<i64>,
    id: Option<Text>,
}

/// Parses one event object at the start of `s` in its usual shape: only the five known keys,
/// each at most once, without escapes in keys; strings or `null` for the text fields,
/// integers or `null` for the times. Escaped strings are decoded into `scratch`. Returns the
/// fields and the offset just past the object; [`Miss::Bail`] for anything else, including
/// every kind of invalid JSON, so that serde (which accepts exactly what this accepts, and
/// more) can give its verdict.
fn fast_event(s: &[u8], scratch: &mut Vec<u8>) -> Result<(Fields, usize), Miss> {
    let mut f = Fields::default();
    let mut seen = 0u8;
    match s.first() {
        Some(b'{') => {}
        Some(_) => return Err(Miss::Bail),
        None => return Err(Miss::Incomplete),
    }
    let mut i = skip_ws(s, 1);
    if byte(s, i)? == b'}' {
        return Ok((f, i + 1));
    }
    loop {
        if byte(s, i)? != b'"' {
            return Err(Miss::Bail);
        }
        let (key, after) = key(s, i + 1)?;
        let field: u8 = match key {
            b"logStreamName" => 0,
            b"timestamp" => 1,
            b"message" => 2,
            b"ingestionTime" => 3,
            b"eventId" => 4,
            _ => return Err(Miss::Bail),
        };
        if seen & (1 << field) != 0 {
            return Err(Miss::Bail);
        }
        seen |= 1 << field;
        i = skip_ws(s, after);
        if byte(s, i)? != b':' {
            return Err(Miss::Bail);
        }
        i = skip_ws(s, i + 1);
        let c = byte(s, i)?;
        if c == b'n' {
            i = null(s, i)?;
        } else if field == 1 || field == 3 {
            let (n, after) = integer(s, i)?;
            *(if field == 1 {
                &mut f.timestamp
            } else {
                &mut f.ingestion
            }) = Some(n);
            i = after;
        } else if c == b'"' {
            let (text, after) = string(s, i + 1, scratch)?;
            *match field {
                0 => &mut f.stream,
                2 => &mut f.message,
                _ => &mut f.id,
            } = Some(text);
            i = after;
        } else {
            return Err(Miss::Bail);
        }
        i = skip_ws(s, i);
        match byte(s, i)? {
            b',' => i = skip_ws(s, i + 1),
            b'}' => return Ok((f, i + 1)),
            _ => return Err(Miss::Bail),
        }
    }
}

#[inline]
fn byte(s: &[u8], i: usize) -> Result<u8, Miss> {
    s.get(i).copied().ok_or(Miss::Incomplete)
}

/// A key from `s[i]` (just past its opening quote): its bytes and the offset past its closing
/// quote. Keys with escapes or control characters are left to serde.
fn key(s: &[u8], i: usize) -> Result<(&[u8], usize), Miss> {
    let mut j = i;
    loop {
        match byte(s, j)? {
            b'"' => return Ok((&s[i..j], j + 1)),
            b'\\' | 0..=0x1f => return Err(Miss::Bail),
            _ => j += 1,
        }
    }
}

/// `null` at `s[i]`; returns the offset past it.
fn null(s: &[u8], i: usize) -> Result<usize, Miss> {
    let rest = &s[i..];
    if rest.starts_with(b"null") {
        Ok(i + 4)
    } else if b"null".starts_with(rest) {
        Err(Miss::Incomplete)
    } else {
        Err(Miss::Bail)
    }
}

/// An integer at `s[i]` as serde_json reads an `i64`. Only the plain form is taken: at most 18
/// digits (so it cannot overflow), no fraction or exponent, no leading zero, no `-0` (which
/// serde_json reads as a float).
fn integer(s: &[u8], i: usize) -> Result<(i64, usize), Miss> {
    let negative = s.get(i) == Some(&b'-');
    let digits = i + usize::from(negative);
    let mut j = digits;
    let mut n: i64 = 0;
    while let Some(&c) = s.get(j) {
        if !c.is_ascii_digit() {
            break;
        }
        if j - digits == 18 {
            return Err(Miss::Bail);
        }
        n = n * 10 + i64::from(c - b'0');
        j += 1;
    }
    let next = byte(s, j)?;
    if j == digits
        || (s[digits] == b'0' && j - digits > 1)
        || (negative && n == 0)
        || matches!(next, b'.' | b'e' | b'E')
    {
        return Err(Miss::Bail);
    }
    Ok((if negative { -n } else { n }, j))
}

const ONES: u64 = u64::from_ne_bytes([1; 8]);
const HIGHS: u64 = ONES << 7;

/// The first offset at or after `i` holding `"`, `\` or a control character (or `s.len()`).
/// ORs every byte looked at into `high`, so that `high & HIGHS` tells whether any was
/// non-ASCII (bytes just past the returned offset may be included).
#[inline]
fn skip_plain(s: &[u8], mut i: usize, high: &mut u64) -> usize {
    // Eight bytes at a time: a byte of `w` is flagged when it is below 0x20, `"` or `\`. The
    // lowest flagged byte is exact (the subtractions only borrow upwards).
    while let Some(chunk) = s.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let ctrl = w.wrapping_sub(ONES * 0x20) & !w;
        let q = w ^ (ONES * u64::from(b'"'));
        let quote = q.wrapping_sub(ONES) & !q;
        let b = w ^ (ONES * u64::from(b'\\'));
        let backslash = b.wrapping_sub(ONES) & !b;
        let hit = (ctrl | quote | backslash) & HIGHS;
        *high |= w;
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = s.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        *high |= u64::from(c);
        i += 1;
    }
    i
}

/// A string from `s[i]` (just past its opening quote): the decoded text and the offset past
/// the closing quote. Escapes are decoded into `scratch`; an invalid escape, an unpaired
/// surrogate, a control character or invalid UTF-8 is left to serde.
fn string(s: &[u8], mut i: usize, scratch: &mut Vec<u8>) -> Result<(Text, usize), Miss> {
    let start = i;
    let mark = scratch.len();
    // Start of the bytes not yet copied to `scratch` (once there is an escape).
    let mut copied = i;
    let mut escaped = false;
    let mut high = 0u64;
    loop {
        i = skip_plain(s, i, &mut high);
        match byte(s, i)? {
            b'"' => {
                // Escapes are ASCII and decode to whole characters, so the raw text is valid
                // UTF-8 exactly when the decoded text is.
                if high & HIGHS != 0 && std::str::from_utf8(&s[start..i]).is_err() {
                    return Err(Miss::Bail);
                }
                let text = if escaped {
                    scratch.extend_from_slice(&s[copied..i]);
                    Text::Decoded(mark, scratch.len())
                } else {
                    Text::Raw(start, i)
                };
                return Ok((text, i + 1));
            }
            b'\\' => {
                escaped = true;
                scratch.extend_from_slice(&s[copied..i]);
                i = escape(s, i + 1, scratch)?;
                copied = i;
            }
            _ => return Err(Miss::Bail),
        }
    }
}

/// An escape from `s[i]` (just past the backslash), decoded onto `scratch`; returns the
/// offset past it.
fn escape(s: &[u8], i: usize, scratch: &mut Vec<u8>) -> Result<usize, Miss> {
    let decoded = match byte(s, i)? {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => return unicode(s, i + 1, scratch),
        _ => return Err(Miss::Bail),
    };
    scratch.push(decoded);
    Ok(i + 1)
}

/// The `XXXX` of a `\uXXXX` escape at `s[i]`, and for a high surrogate the `\uXXXX` low
/// surrogate that must follow; pushes the character's UTF-8.
fn unicode(s: &[u8], i: usize, scratch: &mut Vec<u8>) -> Result<usize, Miss> {
    let first = hex4(s, i)?;
    let (code, end) = match first {
        0xd800..=0xdbff => {
            if byte(s, i + 4)? != b'\\' || byte(s, i + 5)? != b'u' {
                return Err(Miss::Bail);
            }
            let second = hex4(s, i + 6)?;
            if !(0xdc00..=0xdfff).contains(&second) {
                return Err(Miss::Bail);
            }
            (
                0x1_0000 + (((first - 0xd800) << 10) | (second - 0xdc00)),
                i + 10,
            )
        }
        0xdc00..=0xdfff => return Err(Miss::Bail),
        _ => (first, i + 4),
    };
    let c = char::from_u32(code).ok_or(Miss::Bail)?;
    scratch.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    Ok(end)
}

/// Four hex digits at `s[i]`.
fn hex4(s: &[u8], i: usize) -> Result<u32, Miss> {
    let mut n = 0;
    for j in i..i + 4 {
        let d = match byte(s, j)? {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'a'..=b'f' => c - b'a' + 10,
            c @ b'A'..=b'F' => c - b'A' + 10,
            _ => return Err(Miss::Bail),
        };
        n = n << 4 | u32::from(d);
    }
    Ok(n)
}

/// Why [`push_fast`] did not push.
enum Pushed {
    NoMessage,
    /// Not reached: a string was not UTF-8 after all. serde will say where.
    Retry,
}

/// Pushes an event [`fast_event`] parsed from `input` as record `record`.
fn push_fast<S: LineSink + ?Sized>(
    ctx: &Ctx<'_>,
    input: &[u8],
    scratch: &[u8],
    f: &Fields,
    record: u64,
    sink: &mut S,
) -> Result<(), Pushed> {
    let text = |t: Option<Text>| -> Result<Option<&str>, Pushed> {
        t.map(|t| std::str::from_utf8(t.bytes(input, scratch)).map_err(|_| Pushed::Retry))
            .transpose()
    };
    let stream = text(f.stream)?;
    let ptr = text(f.id)?;
    let Some(message) = f.message else {
        return Err(Pushed::NoMessage);
    };
    let envelope = Envelope {
        timestamp_ms: f.timestamp,
        stream,
        ptr,
        ingestion_ms: f.ingestion,
        ..Envelope::default()
    };
    let loc = Loc {
        input: ctx.input,
        line: record,
    };
    let message = message.bytes(input, scratch);
    sink.line(trim_message(message), &envelope, loc);
    Ok(())
}

/// The reader as it was before streaming (whole document in memory, serde for every event),
/// kept as the reference the streaming reader is tested against.
#[cfg(test)]
pub(crate) mod reference {
    use std::io::Read;

    use super::super::lines::{self, lines, strip_cr};
    use super::{Ctx, Error, EventOrPage, LineSink, push_event_or_page};

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
        lines::for_each_region(
            ctx,
            reader,
            lines::LINE_BUFFER,
            lines::MAX_LINE,
            false,
            |region, first| {
                if let Mode::Document(doc) = &mut mode {
                    doc.extend_from_slice(region);
                    return Ok(lines::count_lines(region));
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
                                    return Ok(lines::count_lines(region));
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
            },
        )?;
        if let Mode::Document(doc) = mode {
            for obj in serde_json::Deserializer::from_slice(&doc).into_iter::<EventOrPage<'_>>() {
                let obj = obj.map_err(|e| Error::json(ctx.input, 1, e))?;
                push_event_or_page(ctx, obj, &mut record, sink)?;
            }
        }
        Ok(())
    }
}

/// The `get-query-results` reader as it was before streaming (the whole document in memory),
/// kept as the reference the streaming reader in `query` is tested against.
#[cfg(test)]
pub(crate) mod query_reference {
    use std::io::Read;

    use serde::Deserialize;

    use super::{Ctx, Envelope, Error, LineSink, Loc, Str, as_str, trim_message};
    use crate::time;

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
                    ..Envelope::default()
                };
                let loc = Loc {
                    input: ctx.input,
                    line: record,
                };
                sink.line(trim_message(message.as_bytes()), &envelope, loc);
            }
        }
        Ok(())
    }
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
    /// Fluent Bit's record time (`Time_Key date`, epoch seconds with a fraction).
    #[serde(default)]
    date: Option<f64>,
    /// Fluent Bit's (or Fluentd's) Kubernetes metadata.
    #[serde(default)]
    kubernetes: Option<serde::de::IgnoredAny>,
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
            timestamp_ms: as_str(&d.time).and_then(time::rfc3339).or_else(|| {
                d.date
                    .filter(|s| s.is_finite() && s.abs() < 1e13)
                    .map(|s| (s * 1000.0) as i64)
            }),
            stream: as_str(&d.stream),
            ..Envelope::default()
        };
        let log = d.log.0.as_bytes();
        // Docker ends every whole line with `\n` and splits longer ones into pieces without
        // it (moby `daemon/logger/copier.go`). Fluent Bit and Fluentd records (`date`,
        // `kubernetes`) are whole lines with the `\n` stripped: never pieces to join.
        let whole = log
            .strip_suffix(b"\n")
            .or_else(|| (d.kubernetes.is_some() || d.date.is_some()).then_some(log));
        match whole {
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
