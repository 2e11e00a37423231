//! The Logs Insights console's CSV export: a header row naming `@timestamp`, `@message` and
//! maybe `@logStream`, `@log`, `@ptr`, then one RFC 4180 record per result row.
//!
//! Quotes inside a quoted field are doubled (`time=""2021-08-11T10:09:43Z""`), fields may hold
//! commas, and a quoted field may span lines. Parsing is lenient where RFC 4180 is strict and
//! the intent is clear (text after a closing quote is kept); the only hard errors are a quoted
//! field still open at end of input, a row too short to have a message, and a header without
//! `@message`. [`Loc::line`] is the 1-based CSV record number, the header being record 1, so
//! it matches the row number a spreadsheet shows.
//!
//! Hand-written rather than csv-core (the `csv` crate's parser): csv-core's DFA goes a byte
//! at a time where this reader jumps with memchr, and made `report` on an export about 20 %
//! slower. The commit that added this note has the numbers.
//!
//! Three pasted shapes are repaired and counted (see [`super::repair`]): a file re-saved
//! with `;` as the separator (Excel in a locale whose decimal mark is a comma), a header
//! whose line end was lost so that it runs into the first row
//! (`@logStream,@timestamp,@messageauthenticator-…,2021-08-08 20:04:46.282,"time=""…`), and
//! rows without any header (the columns are inferred from the first row: the field holding
//! `time=`/`level=` is the message, a timestamp field the time, an `authenticator-…` field
//! the stream).

use std::io::Read;
use std::ops::Range;

use super::lines::{LINE_BUFFER, MAX_LINE, for_each_region, lines, strip_cr};
use super::{Ctx, Envelope, Error, LineSink, Loc, RepairKind, Repairs};
use crate::time;

/// The decoded fields of one record, in one reused buffer.
#[derive(Default)]
struct Fields {
    buf: Vec<u8>,
    ranges: Vec<Range<usize>>,
}

impl Fields {
    fn get(&self, i: usize) -> Option<&[u8]> {
        self.ranges.get(i).map(|r| &self.buf[r.clone()])
    }

    /// Decodes one complete record (quotes balanced) into `self`.
    fn parse(&mut self, rec: &[u8], delim: u8) {
        self.buf.clear();
        self.ranges.clear();
        let mut i = 0;
        loop {
            let start = self.buf.len();
            if rec.get(i) == Some(&b'"') {
                i += 1;
                loop {
                    match memchr::memchr(b'"', &rec[i..]) {
                        None => {
                            self.buf.extend_from_slice(&rec[i..]);
                            i = rec.len();
                            break;
                        }
                        Some(q) => {
                            self.buf.extend_from_slice(&rec[i..i + q]);
                            i += q + 1;
                            if rec.get(i) == Some(&b'"') {
                                self.buf.push(b'"');
                                i += 1;
                            } else {
                                break;
                            }
                        }
                    }
                }
            }
            let end = memchr::memchr(delim, &rec[i..]).map_or(rec.len(), |c| i + c);
            self.buf.extend_from_slice(&rec[i..end]);
            i = end;
            self.ranges.push(start..self.buf.len());
            if i >= rec.len() {
                return;
            }
            i += 1;
        }
    }
}

/// Where the columns we use are.
struct Columns {
    message: usize,
    timestamp: Option<usize>,
    stream: Option<usize>,
    ptr: Option<usize>,
}

impl Columns {
    fn from_header(f: &Fields) -> Option<Self> {
        let find = |name: &[u8]| {
            (0..f.ranges.len()).find(|&i| f.get(i).map(<[u8]>::trim_ascii) == Some(name))
        };
        Some(Columns {
            message: find(b"@message")?,
            timestamp: find(b"@timestamp"),
            stream: find(b"@logStream"),
            ptr: find(b"@ptr"),
        })
    }

    /// Columns inferred from a data row, for a CSV without a header.
    fn from_row(f: &Fields) -> Option<Self> {
        let n = f.ranges.len();
        let text = |i: usize| f.get(i).and_then(|b| std::str::from_utf8(b).ok());
        let message = (0..n).find(|&i| text(i).is_some_and(looks_like_message))?;
        let timestamp =
            (0..n).find(|&i| i != message && text(i).and_then(time::parse_timestamp_ms).is_some());
        let stream = (0..n)
            .find(|&i| i != message && text(i).is_some_and(|t| t.starts_with("authenticator-")));
        Some(Columns {
            message,
            timestamp,
            stream,
            ptr: None,
        })
    }
}

/// Whether a field's text is an authenticator line.
fn looks_like_message(t: &str) -> bool {
    t.starts_with("time=") || t.starts_with("level=") || t.contains(" level=")
}

/// The separator of a CSV whose first record is `first`: `;` when splitting on `;` (but
/// not on `,`) finds `@message` or a log line, else `,`.
fn delimiter(first: &[u8]) -> u8 {
    let mut f = Fields::default();
    let finds = |f: &mut Fields, d: u8| {
        f.parse(first, d);
        (0..f.ranges.len()).any(|i| {
            f.get(i).is_some_and(|b| {
                let b = b.trim_ascii();
                b.starts_with(b"@message") || std::str::from_utf8(b).is_ok_and(looks_like_message)
            })
        }) && f.ranges.len() > 1
    };
    if !finds(&mut f, b',') && finds(&mut f, b';') {
        b';'
    } else {
        b','
    }
}

/// Where a header that ran into the first row ends: just after an `@message` that more
/// text follows (`…,@messageauthenticator-…`), when only `@` names (separated by the
/// separator, spaces or quotes: pastes lose some) come before it.
fn joined_header_end(first: &[u8], delim: u8) -> Option<usize> {
    let at = crate::bytes::find(first, b"@message")?;
    let end = at + b"@message".len();
    let names_only = header_names(&first[..at], delim).all(|n| n.starts_with(b"@"));
    let glued = first.get(end).is_some_and(|&c| c != delim && c != b'"');
    (names_only && glued).then_some(end)
}

/// The names of a header, split on the separator, spaces and quotes.
fn header_names(header: &[u8], delim: u8) -> impl Iterator<Item = &[u8]> {
    header
        .split(move |&c| c == delim || c == b' ' || c == b'"')
        .filter(|n| !n.is_empty())
}

/// What the first record said about the file's layout.
#[derive(Clone, Copy)]
struct Layout {
    delim: u8,
    repairs: Repairs,
}

/// Reads a Logs Insights CSV export into `sink`.
pub(crate) fn read_csv<R, S>(ctx: &Ctx<'_>, reader: &mut R, sink: &mut S) -> Result<(), Error>
where
    R: Read + ?Sized,
    S: LineSink + ?Sized,
{
    let mut columns: Option<Columns> = None;
    let mut fields = Fields::default();
    let mut pending = Vec::new();
    let record = std::cell::Cell::new(0u64);

    let mut layout: Option<Layout> = None;
    let mut row = |rec: &[u8],
                   record: u64,
                   cols: &Columns,
                   lay: Layout,
                   fields: &mut Fields|
     -> Result<(), Error> {
        fields.parse(rec, lay.delim);
        let Some(message) = fields.get(cols.message) else {
            return Err(Error::MalformedCsv {
                input: ctx.input.to_owned(),
                record,
                reason: "the row has fewer fields than the header",
            });
        };
        let text = |col: Option<usize>| {
            col.and_then(|c| fields.get(c))
                .and_then(|b| std::str::from_utf8(b).ok())
                .filter(|s| !s.is_empty())
        };
        let envelope = Envelope {
            timestamp_ms: text(cols.timestamp).and_then(time::parse_timestamp_ms),
            stream: text(cols.stream),
            ptr: text(cols.ptr),
            repairs: lay.repairs,
            ..Envelope::default()
        };
        let message = message.strip_suffix(b"\n").unwrap_or(message);
        let loc = Loc {
            input: ctx.input,
            line: record,
        };
        sink.line(strip_cr(message), &envelope, loc);
        Ok(())
    };
    let mut on_record = |rec: &[u8], fields: &mut Fields| -> Result<(), Error> {
        record.set(record.get() + 1);
        let record = record.get();
        if let (Some(cols), Some(lay)) = (&columns, layout) {
            return row(rec, record, cols, lay, fields);
        }
        // The first record: the header, a header run into the first row, or a first row.
        let delim = delimiter(rec);
        let mut repairs = Repairs::NONE;
        if delim == b';' {
            repairs = repairs.with(RepairKind::CsvSemicolon);
        }
        fields.parse(rec, delim);
        if let Some(cols) = Columns::from_header(fields) {
            columns = Some(cols);
            layout = Some(Layout { delim, repairs });
            return Ok(());
        }
        if let Some(end) = joined_header_end(rec, delim) {
            let names: Vec<&[u8]> = header_names(&rec[..end], delim).collect();
            fields.parse(&names.join(&delim), delim);
            if let Some(cols) = Columns::from_header(fields) {
                let lay = Layout { delim, repairs };
                let first = Layout {
                    delim,
                    repairs: repairs.with(RepairKind::HeaderJoined),
                };
                let r = row(&rec[end..], record, &cols, first, fields);
                columns = Some(cols);
                layout = Some(lay);
                return r;
            }
        }
        fields.parse(rec, delim);
        let Some(cols) = Columns::from_row(fields) else {
            return Err(Error::MissingMessageColumn {
                input: ctx.input.to_owned(),
            });
        };
        let lay = Layout {
            delim,
            repairs: repairs.with(RepairKind::CsvNoHeader),
        };
        let r = row(rec, record, &cols, lay, fields);
        columns = Some(cols);
        layout = Some(lay);
        r
    };

    for_each_region(
        ctx,
        reader,
        LINE_BUFFER,
        MAX_LINE,
        false,
        |region, _first| {
            let mut n = 0;
            for (_, raw) in lines(region) {
                n += 1;
                let text = strip_cr(raw);
                // Doubled quotes keep the count even, so an odd count opens or closes a field
                // that spans lines.
                let odd = memchr::memchr_iter(b'"', text).count() % 2 == 1;
                if pending.is_empty() {
                    if text.is_empty() {
                        continue;
                    }
                    if odd {
                        pending.extend_from_slice(text);
                        pending.push(b'\n');
                    } else {
                        on_record(text, &mut fields)?;
                    }
                } else {
                    pending.extend_from_slice(text);
                    if pending.len() > MAX_LINE {
                        return Err(Error::MalformedCsv {
                            input: ctx.input.to_owned(),
                            record: record.get() + 1,
                            reason: "a quoted field runs on for more than 64 MiB",
                        });
                    }
                    if odd {
                        let rec = std::mem::take(&mut pending);
                        on_record(&rec, &mut fields)?;
                        pending = rec;
                        pending.clear();
                    } else {
                        pending.push(b'\n');
                    }
                }
            }
            Ok(n)
        },
    )?;
    if !pending.is_empty() {
        return Err(Error::MalformedCsv {
            input: ctx.input.to_owned(),
            record: record.get() + 1,
            reason: "a quoted field is not closed before the end of the input",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(rec: &str) -> Vec<String> {
        let mut f = Fields::default();
        f.parse(rec.as_bytes(), b',');
        (0..f.ranges.len())
            .map(|i| String::from_utf8(f.get(i).unwrap().to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn rfc4180_fields() {
        assert_eq!(fields("a,b,c"), ["a", "b", "c"]);
        assert_eq!(fields("a,,"), ["a", "", ""]);
        assert_eq!(fields(""), [""]);
        assert_eq!(fields(r#""x,y",z"#), ["x,y", "z"]);
        assert_eq!(
            fields(r#"1,"time=""2021-08-11T10:09:43Z"" msg=""a, b""""#),
            ["1", r#"time="2021-08-11T10:09:43Z" msg="a, b""#]
        );
        assert_eq!(fields("\"multi\nline\",2"), ["multi\nline", "2"]);
        // Lenient: text after a closing quote is kept, an unclosed quote runs to the end.
        assert_eq!(fields(r#""ab"cd,e"#), ["abcd", "e"]);
        assert_eq!(fields(r#""abc"#), ["abc"]);
    }
}
