//! Streaming writers for `eks-authlog events`: NDJSON, a JSON array, or a table.
//!
//! NDJSON and JSON stream record by record. The table streams in batches of
//! [`TABLE_BATCH`] rows: comfy-table sizes the columns on the first batch, and every later
//! batch is drawn with those widths fixed and without its header, so the batches join into
//! one table while memory holds one batch. An input of fewer rows is one batch, laid out on
//! all its rows as before.

use std::io::{self, Write};

use comfy_table::{Cell, ColumnConstraint, Width};

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
    /// A table, written a batch at a time.
    Table(TableSink<W>),
}

/// Rows per table batch: enough for comfy-table to size the columns on realistic content,
/// few enough that a batch stays a few hundred kilobytes.
pub const TABLE_BATCH: usize = 1000;

/// The table being streamed.
struct TableSink<W> {
    /// Destination.
    out: W,
    /// The rows of the current batch.
    rows: Vec<[String; 7]>,
    /// Width and colour.
    style: TableStyle,
    /// Each column's width, borders' share included, once the first batch is drawn.
    widths: Option<Vec<u16>>,
    /// The bottom border of the last batch drawn, written at the end.
    bottom: String,
}

const HEADER: [&str; 7] = [
    "time",
    "level",
    "kind",
    "class",
    "who",
    "client",
    "error / message",
];

impl<W: Write> TableSink<W> {
    fn push(&mut self, row: [String; 7]) -> io::Result<()> {
        self.rows.push(row);
        if self.rows.len() >= TABLE_BATCH {
            self.draw(false)?;
        }
        Ok(())
    }

    /// Draws the buffered rows. The first batch keeps its top border and header and sets the
    /// widths; later ones are drawn at those widths and give only their rows. Every bottom
    /// border but the last is held back; `last` writes it.
    fn draw(&mut self, last: bool) -> io::Result<()> {
        let first = self.widths.is_none();
        if self.rows.is_empty() && !(last && first) {
            if last && !first {
                writeln!(self.out, "{}", self.bottom)?;
            }
            return Ok(());
        }
        let mut t = new_table(self.style);
        t.set_header(HEADER);
        for r in self.rows.drain(..) {
            t.add_row(r.into_iter().map(Cell::new));
        }
        if let Some(widths) = &self.widths {
            // comfy-table's `Width::Fixed` includes the cell's padding.
            for (i, w) in widths.iter().enumerate() {
                if let Some(c) = t.column_mut(i) {
                    c.set_constraint(ColumnConstraint::Absolute(Width::Fixed(*w)));
                }
            }
        }
        let text = t.to_string();
        let lines: Vec<&str> = text.lines().collect();
        let Some((bottom, body)) = lines.split_last() else {
            return Ok(());
        };
        let rows = if first {
            self.widths = Some(column_widths(lines[0]));
            body
        } else {
            // Skip the top border, the header and the line under it.
            let header_end = body
                .iter()
                .position(|l| l.starts_with('╞'))
                .map_or(0, |i| i + 1);
            &body[header_end..]
        };
        for l in rows {
            writeln!(self.out, "{l}")?;
        }
        self.bottom = (*bottom).to_owned();
        if last {
            writeln!(self.out, "{}", self.bottom)?;
        }
        // A slow producer (`kubectl logs -f`) sees each batch as it is drawn.
        self.out.flush()
    }
}

/// The width of each column of a drawn table, from its top border (`┌───┬──┐`): the
/// characters between two joints, which is the cell's padding and content.
fn column_widths(top: &str) -> Vec<u16> {
    let inner = top.trim_start_matches('┌').trim_end_matches('┐');
    inner
        .split('┬')
        .map(|seg| u16::try_from(seg.chars().count()).unwrap_or(u16::MAX))
        .collect()
}

impl<W: Write> EventWriter<W> {
    /// A writer for `format`.
    pub fn new(format: Format, out: W, style: TableStyle) -> EventWriter<W> {
        let sink = match format {
            Format::Ndjson => Sink::Ndjson(out),
            Format::Json => Sink::Json { out, first: true },
            Format::Table => Sink::Table(TableSink {
                out,
                rows: Vec::with_capacity(TABLE_BATCH),
                style,
                widths: None,
                bottom: String::new(),
            }),
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
            Sink::Table(table) => {
                let who = e.username.as_deref().or(e.arn.as_deref()).unwrap_or("");
                let detail = e.error.as_deref().unwrap_or(&e.msg);
                // Escaped for the terminal: these are the client's texts.
                let text = |s: &str| escape_controls(s).into_owned();
                table.push([
                    e.time.clone().unwrap_or_default(),
                    e.level.unwrap_or("").to_owned(),
                    e.kind.to_owned(),
                    e.class.unwrap_or("").to_owned(),
                    text(who),
                    text(e.client.as_deref().unwrap_or("")),
                    text(detail),
                ])
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
            Sink::Table(mut table) => {
                table.draw(true)?;
                table.out.flush()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::event::Event;
    use crate::source::{Envelope, Loc};

    /// A writer whose bytes the test can read while the writer still holds it.
    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn line(i: usize) -> String {
        // Later rows are longer than the first batch's, so they must wrap at its widths.
        let role = "r".repeat(if i < TABLE_BATCH { 5 } else { 60 });
        format!(
            r#"time="2026-11-20T08:00:00Z" level=warning msg="access denied" arn="arn:aws:iam::111122223333:role/{role}{i}" client="127.0.0.1:{}" error="ARN is not mapped" method=POST path=/authenticate"#,
            10_000 + i
        )
    }

    /// Regression (issue 10): the events table kept every row until the end. It now writes a
    /// batch as soon as it is full, and the batches form one table: one header, one top and
    /// one bottom border, every line as wide as the first batch made it.
    #[test]
    fn table_streams_in_batches_that_join_into_one_table() {
        let shared = Shared::default();
        let style = TableStyle {
            width: 200,
            color: false,
        };
        let mut w = EventWriter::new(Format::Table, shared.clone(), style);
        let n = 2 * TABLE_BATCH + 17;
        for i in 0..n {
            let text = line(i);
            let loc = Loc {
                input: "t.log",
                line: i as u64 + 1,
            };
            let e = Event::parse(text.as_bytes(), Envelope::default(), loc).expect("parses");
            w.write(&EventOut::new(
                &e,
                Some(("identity_not_mapped", "mapping")),
                None,
            ))
            .expect("writes");
            if i + 1 == TABLE_BATCH {
                assert!(
                    !shared.0.borrow().is_empty(),
                    "the first batch is written before the input ends"
                );
            }
        }
        w.finish().expect("writes");
        let out = String::from_utf8(shared.0.borrow().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        let count = |c: char| lines.iter().filter(|l| l.starts_with(c)).count();
        assert_eq!(count('┌'), 1, "one top border");
        assert_eq!(count('╞'), 1, "one header");
        assert_eq!(count('└'), 1, "one bottom border");
        assert!(lines.last().unwrap().starts_with('└'));
        let width = lines[0].chars().count();
        assert!(width <= 200);
        for l in &lines {
            assert_eq!(l.chars().count(), width, "misaligned: {l}");
        }
        // Every row is there, in order (the client column is not wrapped at this width).
        let clients: Vec<usize> = lines
            .iter()
            .filter_map(|l| l.split("127.0.0.1:").nth(1))
            .filter_map(|rest| rest.get(..5)?.parse().ok())
            .collect();
        assert_eq!(clients, (0..n).map(|i| 10_000 + i).collect::<Vec<_>>());
    }

    /// Fewer rows than a batch: the table is laid out on all of them, as before streaming.
    #[test]
    fn a_small_table_is_one_batch() {
        let mut out = Vec::new();
        let mut w = EventWriter::new(Format::Table, &mut out, TableStyle::default());
        let text = line(1);
        let loc = Loc {
            input: "t.log",
            line: 1,
        };
        let e = Event::parse(text.as_bytes(), Envelope::default(), loc).expect("parses");
        w.write(&EventOut::new(&e, None, None)).expect("writes");
        w.finish().expect("writes");
        let mut t = new_table(TableStyle::default());
        t.set_header(HEADER);
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.starts_with('┌') && out.trim_end().ends_with('┘'),
            "{out}"
        );
        assert_eq!(out.matches('╞').count(), 1);
        // Nothing written for no rows but the header.
        let mut empty = Vec::new();
        EventWriter::new(Format::Table, &mut empty, TableStyle::default())
            .finish()
            .expect("writes");
        assert_eq!(String::from_utf8(empty).unwrap(), format!("{t}\n"));
    }
}
