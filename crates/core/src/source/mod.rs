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
    /// The paste repairs made to this record (see [`repair`]); counted in the report.
    pub repairs: Repairs,
    /// Physical lines joined into this record after its first (a hard-wrapped record's
    /// continuation lines, a pretty-printed JSON object's lines), so that every line read
    /// is accounted for: lines read = records + joined.
    pub joined: u32,
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

    /// Takes one line already known to be UTF-8: the raw reader checks a whole buffer at
    /// once, which is several times cheaper than checking each line, and says so here.
    #[inline]
    fn line_str(&mut self, text: &str, envelope: &Envelope<'_>, loc: Loc<'_>) {
        self.line(text.as_bytes(), envelope, loc)
    }
}

impl<F: FnMut(&[u8], &Envelope<'_>, Loc<'_>)> LineSink for F {
    fn line(&mut self, text: &[u8], envelope: &Envelope<'_>, loc: Loc<'_>) {
        self(text, envelope, loc)
    }
}

pub(crate) mod batch;
mod cloudtrail;
mod csv;
pub mod detect;
mod error;
mod json;
pub mod lines;
mod query;
pub mod repair;
mod s3;
mod utf16;

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::io::{self, Cursor, ErrorKind, Read};
use std::path::PathBuf;
use std::rc::Rc;

use flate2::read::MultiGzDecoder;

pub(crate) use batch::LineBatch;
pub use error::Error;
pub use lines::{chunk_boundaries, count_lines, split_lines};
pub use query::QueryStatus;
pub use repair::{MAX_RECORD, RepairKind, Repairs};

/// The shape of an input. Chosen with `--input-format`; [`InputFormat::Auto`] detects it (see
/// [`detect`] for the rules). Any shape may be gzip-compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// Detect the shape from the first bytes.
    #[default]
    Auto,
    /// Plain log lines, one per line.
    Raw,
    /// `aws logs filter-log-events` JSON, whole documents or NDJSON of events or pages.
    FilterLogEvents,
    /// `aws logs get-query-results` JSON.
    QueryResults,
    /// Logs Insights console CSV export (header row with `@message`).
    Csv,
    /// Docker json-file logs (`{"log":…,"stream":…,"time":…}` per line).
    Docker,
    /// CloudWatch export-to-S3 objects (`<RFC 3339 time> <message>` per line).
    S3Export,
    /// CloudTrail events: a trail's S3 object (`Records[]`) or `aws cloudtrail lookup-events`
    /// JSON (`Events[]`).
    CloudTrail,
}

impl InputFormat {
    /// The `--input-format` name of this shape.
    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Auto => "auto",
            InputFormat::Raw => "raw",
            InputFormat::FilterLogEvents => "filter-log-events",
            InputFormat::QueryResults => "query-results",
            InputFormat::Csv => "csv",
            InputFormat::Docker => "docker",
            InputFormat::S3Export => "s3-export",
            InputFormat::CloudTrail => "cloudtrail",
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A local input: a file or standard input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file path.
    File(PathBuf),
    /// Standard input, named `-`.
    Stdin,
}

impl Input {
    /// Makes an input from a command-line argument: `-` is stdin, anything else a path.
    pub fn from_arg(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::File(PathBuf::from(arg))
        }
    }

    /// The name used in [`Loc::input`] and in errors: the path as given, or `-`.
    pub fn name(&self) -> Cow<'_, str> {
        match self {
            Input::File(path) => path.to_string_lossy(),
            Input::Stdin => Cow::Borrowed("-"),
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// What reading one input amounted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputStats {
    /// The shape read: the detected one when [`InputFormat::Auto`] was asked for.
    pub format: InputFormat,
    /// Lines pushed into the sink.
    pub records: u64,
    /// Bytes read from the input as stored (compressed bytes for a gzip input).
    pub bytes: u64,
    /// For `get-query-results` input, the status its documents carried: the first that was
    /// not `Complete`, else `Complete` (`None` for other shapes, or when no document said).
    pub query_status: Option<QueryStatus>,
}

/// Reads one input to the end, pushing every log line into `sink`.
pub fn read_input<S: LineSink + ?Sized>(
    input: &Input,
    format: InputFormat,
    sink: &mut S,
) -> Result<InputStats, Error> {
    match input {
        Input::File(path) => {
            let file = std::fs::File::open(path).map_err(|source| Error::Open {
                path: path.clone(),
                source,
            })?;
            read_from(&input.name(), file, format, sink)
        }
        Input::Stdin => read_from("-", io::stdin().lock(), format, sink),
    }
}

/// Reads `reader` to the end as the input called `name`, pushing every log line into `sink`.
///
/// Gzip (one or more members) is recognised by its magic bytes and decompressed as a stream
/// (bzip2, xz and zstd are recognised and refused); UTF-16 is decoded; a UTF-8 byte-order
/// mark is skipped; then the shape is `format`, or detected when `format` is
/// [`InputFormat::Auto`]. Empty lines and records are not pushed.
pub fn read_from<S: LineSink + ?Sized>(
    name: &str,
    reader: impl Read,
    format: InputFormat,
    sink: &mut S,
) -> Result<InputStats, Error> {
    read_with(name, reader, format, lines::RAW_BUFFER, sink)
}

/// [`read_from`] with the raw-path buffer size as a parameter, for tests.
pub(crate) fn read_with<S: LineSink + ?Sized>(
    name: &str,
    reader: impl Read,
    format: InputFormat,
    raw_buffer: usize,
    sink: &mut S,
) -> Result<InputStats, Error> {
    let bytes = Rc::new(Cell::new(0));
    let mut stored = Stored {
        inner: reader,
        bytes: Rc::clone(&bytes),
    };
    let plain = Ctx {
        input: name,
        gzip: false,
    };
    let magic = peek(&mut stored, 6).map_err(|e| plain.io(e))?;
    if let Some(format) = unsupported_compression(&magic) {
        return Err(Error::UnsupportedCompression {
            input: name.to_owned(),
            format,
        });
    }
    let gzip = magic.starts_with(&[0x1f, 0x8b]);
    let ctx = Ctx { input: name, gzip };
    let rejoined = Cursor::new(magic).chain(stored);
    let content: Box<dyn Read + '_> = if gzip {
        Box::new(MultiGzDecoder::new(rejoined))
    } else {
        Box::new(rejoined)
    };
    let mut content = content;
    let mut head = peek(&mut content, 4).map_err(|e| ctx.io(e))?;
    // UTF-16 (what PowerShell's `>` and Notepad's "Unicode" write): decoded to UTF-8 as a
    // stream, with or without its byte-order mark.
    let (mut repairs, mut first) = (Repairs::NONE, Repairs::NONE);
    if let Some((big_endian, bom)) = utf16(&head) {
        let skip = if bom { 2 } else { 0 };
        let rest = Cursor::new(head[skip..].to_vec()).chain(content);
        content = Box::new(utf16::Decoder::new(rest, big_endian));
        repairs = Repairs::of(RepairKind::Utf16);
        if bom {
            first = Repairs::of(RepairKind::Bom);
        }
        head = peek(&mut content, 3).map_err(|e| ctx.io(e))?;
    } else {
        // Back to the three bytes detection starts from.
        let extra = head.split_off(head.len().min(3));
        content = Box::new(Cursor::new(extra).chain(content));
    }
    let eof = head.len() < 3;
    if head.starts_with(b"\xEF\xBB\xBF") {
        head.clear();
        first = Repairs::of(RepairKind::Bom);
    }
    let format = match format {
        InputFormat::Auto => detect_format(&ctx, &mut content, &mut head, eof)?,
        f => f,
    };
    let mut content = Cursor::new(head).chain(content);
    let mut counted = Counted {
        inner: sink,
        n: 0,
        all: repairs,
        first,
    };
    let sink = &mut counted;
    let mut query_status = None;
    match format {
        InputFormat::Auto | InputFormat::Raw => {
            lines::read_raw(&ctx, &mut content, raw_buffer, sink)?
        }
        InputFormat::FilterLogEvents => json::read_filter_log_events(&ctx, &mut content, sink)?,
        InputFormat::QueryResults => {
            query_status = query::read_query_results(&ctx, &mut content, sink)?
        }
        InputFormat::Csv => csv::read_csv(&ctx, &mut content, sink)?,
        InputFormat::Docker => json::read_docker(&ctx, &mut content, sink)?,
        InputFormat::S3Export => s3::read_s3_export(&ctx, &mut content, sink)?,
        InputFormat::CloudTrail => cloudtrail::read_cloudtrail(&ctx, &mut content, sink)?,
    }
    Ok(InputStats {
        format,
        records: counted.n,
        bytes: bytes.get(),
        query_status,
    })
}

/// Reads into `head` until [`detect::detect`] decides, and turns its verdict into a format
/// or an error.
fn detect_format(
    ctx: &Ctx<'_>,
    content: &mut dyn Read,
    head: &mut Vec<u8>,
    mut eof: bool,
) -> Result<InputFormat, Error> {
    let mut chunk = [0u8; 8 << 10];
    loop {
        match detect::detect(head, eof) {
            detect::Detection::Format(f) => return Ok(f),
            detect::Detection::UnknownShape => {
                return Err(Error::UnknownShape {
                    input: ctx.input.to_owned(),
                });
            }
            detect::Detection::BadJson => {
                // Let serde_json say where; the scanner only knows that it is broken.
                let mut values =
                    serde_json::Deserializer::from_slice(head).into_iter::<serde::de::IgnoredAny>();
                return Err(match values.next() {
                    Some(Err(e)) => Error::json(ctx.input, 1, e),
                    _ => Error::UnknownShape {
                        input: ctx.input.to_owned(),
                    },
                });
            }
            detect::Detection::NeedMore => {}
        }
        let want = (detect::PEEK_MAX - head.len()).min(chunk.len());
        match content.read(&mut chunk[..want]) {
            Ok(0) => eof = true,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(ctx.io(e)),
        }
    }
}

/// Reads up to `n` bytes (fewer only at end of input).
fn peek(reader: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    reader.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// What the readers need to know about the input they read.
pub(crate) struct Ctx<'a> {
    /// Input name for [`Loc`] and errors.
    pub(crate) input: &'a str,
    /// Whether the content comes through the gzip decoder.
    pub(crate) gzip: bool,
}

impl Ctx<'_> {
    /// Classifies an I/O error from the content stream: a failure of the underlying reader
    /// (tagged by [`Stored`]) is a read error, anything else the decoder raised is gzip's.
    pub(crate) fn io(&self, e: io::Error) -> Error {
        let input = self.input.to_owned();
        if e.get_ref().is_some_and(|inner| inner.is::<StoredError>()) {
            let source = match e.into_inner().map(|b| b.downcast::<StoredError>()) {
                Some(Ok(tagged)) => tagged.0,
                // Not reached: checked just above. Keep the error rather than panic.
                Some(Err(other)) => io::Error::other(other),
                None => io::Error::other("read failed"),
            };
            Error::Read { input, source }
        } else if self.gzip {
            Error::Gzip { input, source: e }
        } else {
            Error::Read { input, source: e }
        }
    }
}

/// An error of the underlying reader, wrapped so it can be told apart from decoder errors.
#[derive(Debug)]
struct StoredError(io::Error);

impl fmt::Display for StoredError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StoredError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// The input as stored: counts bytes and tags errors.
struct Stored<R> {
    inner: R,
    bytes: Rc<Cell<u64>>,
}

impl<R: Read> Read for Stored<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.bytes.set(self.bytes.get() + n as u64);
                Ok(n)
            }
            Err(e) => Err(io::Error::new(e.kind(), StoredError(e))),
        }
    }
}

/// The compressed formats we recognise but do not decompress, by their magic bytes (bzip2
/// `BZh`, xz `FD 37 7A 58 5A 00`, zstd frame `28 B5 2F FD`).
fn unsupported_compression(magic: &[u8]) -> Option<&'static str> {
    if magic.starts_with(b"BZh") && magic.get(3).is_some_and(|c| (b'1'..=b'9').contains(c)) {
        Some("bzip2")
    } else if magic.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0x00]) {
        Some("xz")
    } else if magic.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        Some("zstd")
    } else {
        None
    }
}

/// Whether content starting with `head` is UTF-16: `(big_endian, has_bom)`. Without a
/// byte-order mark, two ASCII characters with their zero bytes interleaved say so.
fn utf16(head: &[u8]) -> Option<(bool, bool)> {
    match head {
        [0xFF, 0xFE, ..] => Some((false, true)),
        [0xFE, 0xFF, ..] => Some((true, true)),
        [a, 0, b, 0, ..] if *a != 0 && *b != 0 => Some((false, false)),
        [0, a, 0, b, ..] if *a != 0 && *b != 0 => Some((true, false)),
        _ => None,
    }
}

/// Counts the lines passed on to the caller's sink, and marks the repairs made to the
/// whole input (UTF-16 on every line, a byte-order mark on the first).
struct Counted<'s, S: ?Sized> {
    inner: &'s mut S,
    n: u64,
    all: Repairs,
    first: Repairs,
}

impl<S: ?Sized> Counted<'_, S> {
    /// The envelope with the input's repairs, when there are any.
    #[inline]
    fn mark<'e>(&mut self, envelope: &Envelope<'e>) -> Option<Envelope<'e>> {
        if self.all.is_empty() && self.first.is_empty() {
            return None;
        }
        let mut e = *envelope;
        e.repairs = e.repairs.union(self.all).union(self.first);
        self.first = Repairs::NONE;
        Some(e)
    }
}

impl<S: LineSink + ?Sized> LineSink for Counted<'_, S> {
    #[inline]
    fn line(&mut self, text: &[u8], envelope: &Envelope<'_>, loc: Loc<'_>) {
        self.n += 1;
        match self.mark(envelope) {
            Some(e) => self.inner.line(text, &e, loc),
            None => self.inner.line(text, envelope, loc),
        }
    }

    #[inline]
    fn line_str(&mut self, text: &str, envelope: &Envelope<'_>, loc: Loc<'_>) {
        self.n += 1;
        match self.mark(envelope) {
            Some(e) => self.inner.line_str(text, &e, loc),
            None => self.inner.line_str(text, envelope, loc),
        }
    }
}

#[cfg(test)]
mod tests;
