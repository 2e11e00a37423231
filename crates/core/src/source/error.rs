//! `source::Error`: everything that can stop reading one input.
//!
//! Every variant names the input (path, `-` for stdin) so a message printed with `{:#}` says
//! which file is at fault. Per SG-3.2 a variant either prints its cause or exposes it as
//! `#[source]`, not both.

use std::io;
use std::path::PathBuf;

/// An input could not be read or is not in the shape it claims.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened.
    #[error("cannot open {}", path.display())]
    Open {
        /// The path as given.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Reading the input failed.
    #[error("cannot read {input}")]
    Read {
        /// Input name.
        input: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The input starts with the gzip magic but does not decompress.
    #[error("{input}: corrupt or truncated gzip data")]
    Gzip {
        /// Input name.
        input: String,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },
    /// The input looks like JSON but is none of the shapes we know.
    #[error(
        "{input}: JSON input of unknown shape (expected aws logs filter-log-events, \
         aws logs get-query-results or Docker json-file); use --input-format to choose one"
    )]
    UnknownShape {
        /// Input name.
        input: String,
    },
    /// The input is not valid JSON where JSON was expected.
    #[error("{input}: malformed JSON at line {line}, column {column}")]
    MalformedJson {
        /// Input name.
        input: String,
        /// 1-based line in the (decompressed) input.
        line: u64,
        /// 1-based column (byte) in that line.
        column: u64,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// The CSV input is not RFC 4180 CSV.
    #[error("{input}: malformed CSV at record {record}: {reason}")]
    MalformedCsv {
        /// Input name.
        input: String,
        /// 1-based CSV record number (the header is record 1).
        record: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// The CSV header row has no `@message` column.
    #[error("{input}: the CSV header has no @message column")]
    MissingMessageColumn {
        /// Input name.
        input: String,
    },
    /// A line of a JSON, CSV or S3-export input is longer than any such input holds.
    #[error("{input}: line {line} is longer than {max} bytes; is this a log export?")]
    LineTooLong {
        /// Input name.
        input: String,
        /// 1-based line.
        line: u64,
        /// The limit, in bytes.
        max: usize,
    },
    /// The input is compressed in a format this tool does not decompress.
    #[error("{input}: {format} input is not supported; decompress it first (only gzip is read)")]
    UnsupportedCompression {
        /// Input name.
        input: String,
        /// `bzip2`, `xz` or `zstd`.
        format: &'static str,
    },
    /// A record (CloudWatch event, Insights row, CSV row) has no message field.
    #[error("{input}: record {record} has no message (`message` / `@message` field)")]
    MissingMessage {
        /// Input name.
        input: String,
        /// 1-based record number, as in [`Loc::line`](super::Loc::line).
        record: u64,
    },
}

impl Error {
    /// The name of the input at fault (the path for [`Error::Open`]).
    pub fn input(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Error::Open { path, .. } => path.to_string_lossy(),
            Error::Read { input, .. }
            | Error::Gzip { input, .. }
            | Error::UnknownShape { input }
            | Error::MalformedJson { input, .. }
            | Error::MalformedCsv { input, .. }
            | Error::MissingMessageColumn { input }
            | Error::MissingMessage { input, .. }
            | Error::LineTooLong { input, .. }
            | Error::UnsupportedCompression { input, .. } => input.into(),
        }
    }

    /// A serde_json error at a position relative to `first_line` (the physical line the parsed
    /// text starts on).
    pub(crate) fn json(input: &str, first_line: u64, source: serde_json::Error) -> Self {
        Error::MalformedJson {
            input: input.to_owned(),
            line: first_line + (source.line() as u64).saturating_sub(1),
            column: source.column() as u64,
            source,
        }
    }
}
