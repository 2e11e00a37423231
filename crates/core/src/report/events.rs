//! Streaming writers for `eks-authlog events`: NDJSON, a JSON array, or a table.
//!
//! NDJSON and JSON stream record by record; the table buffers compact rows because
//! comfy-table needs every row to size its columns.

use std::io::{self, Write};

use comfy_table::Cell;

use super::wire::EventOut;
use super::{Format, TableStyle, new_table};

/// Writes event records in one format.
pub enum EventWriter<W: Write> {
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
        match format {
            Format::Ndjson => EventWriter::Ndjson(out),
            Format::Json => EventWriter::Json { out, first: true },
            Format::Table => EventWriter::Table {
                out,
                rows: Vec::new(),
                style,
            },
        }
    }

    /// Writes one record.
    pub fn write(&mut self, e: &EventOut<'_>) -> io::Result<()> {
        match self {
            EventWriter::Ndjson(out) => {
                serde_json::to_writer(&mut *out, e)?;
                out.write_all(b"\n")
            }
            EventWriter::Json { out, first } => {
                out.write_all(if *first { b"[\n" } else { b",\n" })?;
                *first = false;
                serde_json::to_writer(&mut *out, e).map_err(io::Error::from)
            }
            EventWriter::Table { rows, .. } => {
                let who = e.username.as_deref().or(e.arn.as_deref()).unwrap_or("");
                let detail = e.error.as_deref().unwrap_or(&e.msg);
                rows.push([
                    e.time.clone().unwrap_or_default(),
                    e.level.unwrap_or("").to_owned(),
                    e.kind.to_owned(),
                    e.class.unwrap_or("").to_owned(),
                    who.to_owned(),
                    e.client.as_deref().unwrap_or("").to_owned(),
                    detail.to_owned(),
                ]);
                Ok(())
            }
        }
    }

    /// Ends the output (closes the JSON array, draws the table) and flushes.
    pub fn finish(self) -> io::Result<()> {
        match self {
            EventWriter::Ndjson(mut out) => out.flush(),
            EventWriter::Json { mut out, first } => {
                out.write_all(if first { b"[]\n" } else { b"\n]\n" })?;
                out.flush()
            }
            EventWriter::Table {
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
