//! Streaming writers for `eks-authlog events`: NDJSON, a JSON array, or a table.
//!
//! NDJSON and JSON stream record by record; the table buffers compact rows because
//! comfy-table needs every row to size its columns.

use std::io::{self, Write};

use comfy_table::Cell;

use super::redact::{Redactor, escape_controls};
use super::wire::EventOut;
use super::{Format, TableStyle, new_table};

/// Writes event records in one format, redacted field by field when asked.
pub struct EventWriter<W: Write> {
    sink: Sink<W>,
    redactor: Option<Redactor>,
}

/// Where and how the records go.
enum Sink<W: Write> {
    /// One JSON object per line.
    Ndjson(W),
    /// A JSON array, streamed.
    Json {
        /// Destination.
        out: W,
        /// Whether no element has been written yet.
        first: bool,
    },
    /// A table, written at [`EventWriter::finish`].
    Table {
        /// Destination.
        out: W,
        /// Buffered rows.
        rows: Vec<[String; 7]>,
        /// Width and colour.
        style: TableStyle,
    },
}

impl<W: Write> EventWriter<W> {
    /// A writer for `format`.
    pub fn new(format: Format, out: W, style: TableStyle) -> EventWriter<W> {
        let sink = match format {
            Format::Ndjson => Sink::Ndjson(out),
            Format::Json => Sink::Json { out, first: true },
            Format::Table => Sink::Table {
                out,
                rows: Vec::new(),
                style,
            },
        };
        EventWriter {
            sink,
            redactor: None,
        }
    }

    /// Redacts every record with `r` (`--redact`) before it is serialised or laid out.
    pub fn redacting(mut self, r: Redactor) -> EventWriter<W> {
        self.redactor = Some(r);
        self
    }

    /// Writes one record.
    pub fn write(&mut self, e: &EventOut<'_>) -> io::Result<()> {
        match &self.redactor {
            Some(r) => self.sink.write(&e.redacted(r)),
            None => self.sink.write(e),
        }
    }

    /// Ends the output (closes the JSON array, draws the table) and flushes.
    pub fn finish(self) -> io::Result<()> {
        self.sink.finish()
    }
}

impl<W: Write> Sink<W> {
    fn write(&mut self, e: &EventOut<'_>) -> io::Result<()> {
        match self {
            Sink::Ndjson(out) => {
                serde_json::to_writer(&mut *out, e)?;
                out.write_all(b"\n")
            }
            Sink::Json { out, first } => {
                out.write_all(if *first { b"[\n" } else { b",\n" })?;
                *first = false;
                serde_json::to_writer(&mut *out, e).map_err(io::Error::from)
            }
            Sink::Table { rows, .. } => {
                let who = e.username.as_deref().or(e.arn.as_deref()).unwrap_or("");
                let detail = e.error.as_deref().unwrap_or(&e.msg);
                // Escaped for the terminal: these are the client's texts.
                let text = |s: &str| escape_controls(s).into_owned();
                rows.push([
                    e.time.clone().unwrap_or_default(),
                    e.level.unwrap_or("").to_owned(),
                    e.kind.to_owned(),
                    e.class.unwrap_or("").to_owned(),
                    text(who),
                    text(e.client.as_deref().unwrap_or("")),
                    text(detail),
                ]);
                Ok(())
            }
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Sink::Ndjson(mut out) => out.flush(),
            Sink::Json { mut out, first } => {
                out.write_all(if first { b"[]\n" } else { b"\n]\n" })?;
                out.flush()
            }
            Sink::Table {
                mut out,
                rows,
                style,
            } => {
                let mut t = new_table(style);
                t.set_header([
                    "time",
                    "level",
                    "kind",
                    "class",
                    "who",
                    "client",
                    "error / message",
                ]);
                for r in rows {
                    t.add_row(r.into_iter().map(Cell::new));
                }
                writeln!(out, "{t}")?;
                out.flush()
            }
        }
    }
}
