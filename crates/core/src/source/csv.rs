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

use std::io::Read;
use std::ops::Range;

use super::lines::{LINE_BUFFER, for_each_region, lines, strip_cr};
use super::{Ctx, Envelope, Error, LineSink, Loc};
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
    fn parse(&mut self, rec: &[u8]) {
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
            let end = memchr::memchr(b',', &rec[i..]).map_or(rec.len(), |c| i + c);
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
    let mut record = 0u64;

    let mut on_record = |rec: &[u8], fields: &mut Fields| -> Result<(), Error> {
        record += 1;
        fields.parse(rec);
        let Some(cols) = &columns else {
            columns =
                Some(
                    Columns::from_header(fields).ok_or_else(|| Error::MissingMessageColumn {
                        input: ctx.input.to_owned(),
                    })?,
                );
            return Ok(());
        };
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
            ingestion_ms: None,
        };
        let message = message.strip_suffix(b"\n").unwrap_or(message);
        let loc = Loc {
            input: ctx.input,
            line: record,
        };
        sink.line(strip_cr(message), &envelope, loc);
        Ok(())
    };

    for_each_region(ctx, reader, LINE_BUFFER, |region, _first| {
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
    })?;
    if !pending.is_empty() {
        return Err(Error::MalformedCsv {
            input: ctx.input.to_owned(),
            record: record + 1,
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
        f.parse(rec.as_bytes());
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
