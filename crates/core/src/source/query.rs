//! `aws logs get-query-results` documents, streamed row by row in bounded memory.
//!
//! A response is `{"results":[[{"field":"@timestamp","value":…},…],…],"statistics":{…},
//! "status":"Complete"}` (GetQueryResults, Amazon CloudWatch Logs API Reference), and a saved
//! file may hold several concatenated (a loop over queries). The keys may come in any order.
//! The document is taken apart key by key through the same bounded [`ReadBuffer`] as
//! `filter-log-events`: each row of `results` is parsed by serde and pushed on its own, and
//! the other values (`statistics`, `status`, anything else) are parsed whole, as they are
//! small. Memory holds the largest single unit, never the document.

use std::io::Read;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::json::{Fault, ReadBuffer, Str, as_str, needs_more, peek, skip_ws, trim_message};
use super::lines::LINE_BUFFER;
use super::{Ctx, Envelope, Error, LineSink, Loc};
use crate::time;

/// The `status` of a saved `GetQueryResults` response. Only `Complete` means that `results`
/// holds every row: a query saved while `Scheduled` or `Running`, or that ended `Failed`,
/// `Cancelled` or `Timeout`, returned part of its rows or none (GetQueryResults, Amazon
/// CloudWatch Logs API Reference: `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueryStatus {
    /// Queued, not started.
    Scheduled,
    /// Still running: the rows so far.
    Running,
    /// Finished: every row.
    Complete,
    /// Failed.
    Failed,
    /// Stopped (`StopQuery`).
    Cancelled,
    /// Ran past the 60-minute limit.
    Timeout,
    /// `Unknown`, any other text, or a value that is not a string.
    Unknown,
}

impl QueryStatus {
    /// The name as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryStatus::Scheduled => "Scheduled",
            QueryStatus::Running => "Running",
            QueryStatus::Complete => "Complete",
            QueryStatus::Failed => "Failed",
            QueryStatus::Cancelled => "Cancelled",
            QueryStatus::Timeout => "Timeout",
            QueryStatus::Unknown => "Unknown",
        }
    }

    fn from_name(s: &str) -> QueryStatus {
        match s {
            "Scheduled" => QueryStatus::Scheduled,
            "Running" => QueryStatus::Running,
            "Complete" => QueryStatus::Complete,
            "Failed" => QueryStatus::Failed,
            "Cancelled" => QueryStatus::Cancelled,
            "Timeout" => QueryStatus::Timeout,
            _ => QueryStatus::Unknown,
        }
    }

    /// Whether the rows are all there.
    pub fn is_complete(self) -> bool {
        self == QueryStatus::Complete
    }

    /// The status of an input from those of its documents: the first that is not
    /// `Complete`, else `Complete` if any document said so.
    fn and(self, later: QueryStatus) -> QueryStatus {
        if self.is_complete() { later } else { self }
    }
}

/// One `{"field": …, "value": …}` cell.
#[derive(Deserialize)]
struct Cell<'a> {
    #[serde(borrow)]
    field: Str<'a>,
    #[serde(borrow, default)]
    value: Option<Str<'a>>,
}

type Row<'a> = Vec<Cell<'a>>;

/// A whole page, for a top-level value that is not an object (serde also reads a struct
/// from a sequence) and for the errors serde gives on anything else.
#[derive(Deserialize)]
struct QueryPage<'a> {
    #[serde(borrow)]
    results: Vec<Row<'a>>,
}

/// `status`: a string, or (not what the API writes) anything else.
#[derive(Deserialize)]
#[serde(untagged)]
enum StatusValue<'a> {
    Text(#[serde(borrow)] Str<'a>),
    Other(Option<IgnoredAny>),
}

/// Which key's value comes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Results,
    Status,
    Other,
}

/// Where the splitter stands, between two units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum At {
    /// Between documents.
    #[default]
    Top,
    /// Just after a document's `{`.
    Open,
    /// After a `,` between keys.
    Key,
    /// After a key and its `:`.
    Value(Key),
    /// Just after the `[` of `results`.
    RowsFirst,
    /// After a `,` in `results`.
    Row,
    /// After a row.
    RowsNext,
    /// After a key's value.
    AfterValue,
}

/// Splits a stream of `get-query-results` documents into rows and pushes them.
#[derive(Default)]
struct QuerySplitter {
    at: At,
    /// The last row number used.
    record: u64,
    /// The current document has had its `results`.
    results: bool,
    /// The current document's `status`, if it had one.
    doc_status: Option<QueryStatus>,
    /// The input's status so far.
    status: Option<QueryStatus>,
}

/// Reads `aws logs get-query-results` output (one or several concatenated documents) and
/// returns its status (see [`QueryStatus::and`]; `None` when no document had one). Cells are
/// looked up by name: `@message` is required, `@timestamp` (AWS's `YYYY-MM-DD HH:MM:SS.mmm`
/// or moto's epoch ms; unparsable → none), `@logStream`, `@ptr` and `@ingestionTime` are
/// optional. [`Loc::line`] is the 1-based row number.
pub(crate) fn read_query_results<R, S>(
    ctx: &Ctx<'_>,
    reader: &mut R,
    sink: &mut S,
) -> Result<Option<QueryStatus>, Error>
where
    R: Read + ?Sized,
    S: LineSink + ?Sized,
{
    read_query_results_with(ctx, reader, LINE_BUFFER, sink)
}

/// [`read_query_results`] with the initial buffer size as a parameter, for tests.
pub(crate) fn read_query_results_with<R, S>(
    ctx: &Ctx<'_>,
    reader: &mut R,
    capacity: usize,
    sink: &mut S,
) -> Result<Option<QueryStatus>, Error>
where
    R: Read + ?Sized,
    S: LineSink + ?Sized,
{
    let mut win = ReadBuffer::new(capacity);
    win.start_tracking(1);
    let mut split = QuerySplitter::default();
    loop {
        let complete = win.eof;
        let buf = &win.buf[..win.end];
        match split.run(ctx, buf, win.start, complete, sink) {
            Ok(pos) => {
                let stuck = pos == win.start;
                win.start = pos;
                if complete {
                    return Ok(split.status);
                }
                win.fill(ctx, reader, stuck)?;
            }
            Err(fault) => return Err(fault.into_error(ctx.input, buf, win.line, win.col)),
        }
    }
}

/// Parses one whole value of type `T` at `buf[p]`: the value and the offset past it, or
/// `None` when it may continue past the end of `buf`.
fn whole<'b, T: Deserialize<'b>>(
    buf: &'b [u8],
    p: usize,
    complete: bool,
) -> Result<Option<(T, usize)>, Fault> {
    let s = &buf[p..];
    let mut values = serde_json::Deserializer::from_slice(s).into_iter::<T>();
    match values.next() {
        Some(Ok(v)) => Ok(Some((v, p + values.byte_offset()))),
        Some(Err(err)) if needs_more(&err, s, complete) => Ok(None),
        Some(Err(err)) => Err(Fault::Json {
            at: p,
            shift: 0,
            err,
        }),
        // Not reached: callers only call this at a byte that is not whitespace.
        None => Err(Fault::Syntax {
            at: p,
            what: "EOF while parsing a value",
        }),
    }
}

impl QuerySplitter {
    /// Consumes whole units of `buf` from `pos` on, pushing rows, and returns where it
    /// stopped: `buf.len()`, or the start of a unit that is not all in `buf` yet. `complete`
    /// says that `buf` ends where the input ends.
    fn run<S: LineSink + ?Sized>(
        &mut self,
        ctx: &Ctx<'_>,
        buf: &[u8],
        mut pos: usize,
        complete: bool,
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
                    At::RowsFirst | At::RowsNext => "EOF while parsing a list",
                    At::Row | At::Key | At::Value(_) => "EOF while parsing a value",
                    At::Open | At::AfterValue => "EOF while parsing an object",
                };
                return Err(Fault::Syntax { at: p, what });
            };
            let syntax = |what| {
                Err(Fault::Syntax {
                    at: peek(buf, p),
                    what,
                })
            };
            match self.at {
                At::Top if c == b'{' => {
                    self.results = false;
                    self.doc_status = None;
                    self.at = At::Open;
                    pos = p + 1;
                }
                At::Top => match whole::<QueryPage<'_>>(buf, p, complete)? {
                    Some((page, end)) => {
                        for row in &page.results {
                            self.push(ctx, row, sink)?;
                        }
                        pos = end;
                    }
                    None => return Ok(p),
                },
                At::Open if c == b'}' => {
                    pos = p + 1;
                    self.end_document(p)?;
                }
                At::Key if c == b'}' => return syntax("trailing comma"),
                At::Open | At::Key if c != b'"' => return syntax("key must be a string"),
                At::Open | At::Key => match whole::<Str<'_>>(buf, p, complete)? {
                    Some((key, end)) => {
                        let colon = skip_ws(buf, end);
                        match buf.get(colon) {
                            Some(b':') => {}
                            Some(_) => {
                                return Err(Fault::Syntax {
                                    at: peek(buf, colon),
                                    what: "expected `:`",
                                });
                            }
                            None if complete => {
                                return Err(Fault::Syntax {
                                    at: colon,
                                    what: "EOF while parsing an object",
                                });
                            }
                            None => return Ok(p),
                        }
                        let key = match &*key.0 {
                            "results" => Key::Results,
                            "status" => Key::Status,
                            _ => Key::Other,
                        };
                        if key == Key::Results && self.results {
                            return Err(Fault::Syntax {
                                at: end,
                                what: "duplicate field `results`",
                            });
                        }
                        self.at = At::Value(key);
                        pos = colon + 1;
                    }
                    None => return Ok(p),
                },
                At::Value(Key::Results) => {
                    self.results = true;
                    if c == b'[' {
                        self.at = At::RowsFirst;
                        pos = p + 1;
                    } else {
                        // `null`, an object…: serde says what is wrong.
                        match whole::<Vec<Row<'_>>>(buf, p, complete)? {
                            Some((rows, end)) => {
                                for row in &rows {
                                    self.push(ctx, row, sink)?;
                                }
                                self.at = At::AfterValue;
                                pos = end;
                            }
                            None => return Ok(p),
                        }
                    }
                }
                At::Value(Key::Status) => {
                    let read = match whole::<StatusValue<'_>>(buf, p, complete) {
                        Ok(read) => read.map(|(status, end)| {
                            let status = match status {
                                StatusValue::Text(s) => Some(QueryStatus::from_name(&s.0)),
                                StatusValue::Other(None) => None,
                                StatusValue::Other(Some(_)) => Some(QueryStatus::Unknown),
                            };
                            (status, end)
                        }),
                        // Not text serde can decode (invalid UTF-8): still not `Complete`.
                        Err(_) => whole::<IgnoredAny>(buf, p, complete)?
                            .map(|(_, end)| (Some(QueryStatus::Unknown), end)),
                    };
                    match read {
                        Some((status, end)) => {
                            self.doc_status = status;
                            self.at = At::AfterValue;
                            pos = end;
                        }
                        None => return Ok(p),
                    }
                }
                At::Value(Key::Other) => match whole::<IgnoredAny>(buf, p, complete)? {
                    Some((_, end)) => {
                        self.at = At::AfterValue;
                        pos = end;
                    }
                    None => return Ok(p),
                },
                At::RowsFirst if c == b']' => {
                    self.at = At::AfterValue;
                    pos = p + 1;
                }
                At::Row if c == b']' => return syntax("trailing comma"),
                At::RowsFirst | At::Row => match whole::<Row<'_>>(buf, p, complete)? {
                    Some((row, end)) => {
                        self.push(ctx, &row, sink)?;
                        self.at = At::RowsNext;
                        pos = end;
                    }
                    None => return Ok(p),
                },
                At::RowsNext => {
                    self.at = match c {
                        b',' => At::Row,
                        b']' => At::AfterValue,
                        _ => return syntax("expected `,` or `]`"),
                    };
                    pos = p + 1;
                }
                At::AfterValue => match c {
                    b',' => {
                        self.at = At::Key;
                        pos = p + 1;
                    }
                    b'}' => {
                        pos = p + 1;
                        self.end_document(p)?;
                    }
                    _ => return syntax("expected `,` or `}`"),
                },
            }
        }
    }

    /// The `}` at `at` closed a document.
    fn end_document(&mut self, at: usize) -> Result<(), Fault> {
        if !self.results {
            return Err(Fault::Syntax {
                at: at + 1,
                what: "missing field `results`",
            });
        }
        if let Some(s) = self.doc_status {
            self.status = Some(self.status.map_or(s, |seen| seen.and(s)));
        }
        self.at = At::Top;
        Ok(())
    }

    /// Pushes one row as the next record.
    fn push<S: LineSink + ?Sized>(
        &mut self,
        ctx: &Ctx<'_>,
        row: &[Cell<'_>],
        sink: &mut S,
    ) -> Result<(), Fault> {
        self.record += 1;
        let cell = |name: &str| {
            row.iter()
                .find(|c| c.field.0 == name)
                .and_then(|c| as_str(&c.value))
        };
        let Some(message) = cell("@message") else {
            return Err(Fault::MissingMessage {
                record: self.record,
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
            line: self.record,
        };
        sink.line(trim_message(message.as_bytes()), &envelope, loc);
        Ok(())
    }
}
