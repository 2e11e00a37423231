//! Owned batches of lines, so lines read on one thread can be analysed on others.
//!
//! A reader pushes borrowed lines (text, [`Envelope`], [`Loc`]) that live only for the call.
//! [`LineBatch`] copies them into a few flat buffers (texts in one, stream names and pointers
//! in another, fixed-size records with ranges and numbers in a third), so a full batch is three
//! allocations whatever its line count, can be sent to another thread, and is reused once
//! emptied. [`LineBatch::replay`] pushes its lines into a [`LineSink`] exactly as the reader
//! pushed them. This module knows nothing about what the sink does with them.

use std::ops::Range;

use super::{Envelope, LineSink, Loc, Repairs};

/// Lines copied out of a reader, in order, with their envelopes and line numbers.
///
/// The input name is not kept: every line of a batch comes from the same input, which the
/// caller passes back to [`LineBatch::replay`].
#[derive(Debug, Default)]
pub struct LineBatch {
    /// Line texts, back to back.
    texts: Vec<u8>,
    /// Stream names and pointers, back to back.
    strings: String,
    /// One record per line.
    lines: Vec<BatchedLine>,
    /// The stream of the last line pushed, so a run of lines from one stream stores it once.
    last_stream: Option<Range<usize>>,
}

/// One line of a batch: where its parts are, and its numbers.
#[derive(Clone, Debug)]
struct BatchedLine {
    /// In `texts`.
    text: Range<usize>,
    /// In `strings`.
    stream: Option<Range<usize>>,
    /// In `strings`.
    ptr: Option<Range<usize>>,
    timestamp_ms: Option<i64>,
    ingestion_ms: Option<i64>,
    repairs: Repairs,
    joined: u32,
    line: u64,
}

impl LineBatch {
    /// An empty batch with room for `bytes` of line text.
    pub fn with_capacity(bytes: usize) -> LineBatch {
        LineBatch {
            texts: Vec::with_capacity(bytes),
            ..LineBatch::default()
        }
    }

    /// Copies one line in. `loc.input` is not kept (see the type's documentation).
    pub fn push(&mut self, text: &[u8], envelope: &Envelope<'_>, loc: Loc<'_>) {
        let start = self.texts.len();
        self.texts.extend_from_slice(text);
        let stream = envelope.stream.map(|s| match &self.last_stream {
            Some(last) if self.strings.get(last.clone()) == Some(s) => last.clone(),
            _ => {
                let range = self.store(s);
                self.last_stream = Some(range.clone());
                range
            }
        });
        let ptr = envelope.ptr.map(|p| self.store(p));
        self.lines.push(BatchedLine {
            text: start..self.texts.len(),
            stream,
            ptr,
            timestamp_ms: envelope.timestamp_ms,
            ingestion_ms: envelope.ingestion_ms,
            repairs: envelope.repairs,
            joined: envelope.joined,
            line: loc.line,
        });
    }

    fn store(&mut self, s: &str) -> Range<usize> {
        let start = self.strings.len();
        self.strings.push_str(s);
        start..self.strings.len()
    }

    /// Whether the batch holds no line.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Bytes the batch holds: texts, strings and records. The measure of "full".
    pub fn bytes(&self) -> usize {
        self.texts.len() + self.strings.len() + self.lines.len() * size_of::<BatchedLine>()
    }

    /// Empties the batch, keeping its buffers for the next one (but not more than `keep`
    /// bytes of text or strings, so one huge line does not pin its buffer for the rest of the
    /// run).
    pub fn clear(&mut self, keep: usize) {
        self.texts.clear();
        self.texts.shrink_to(keep);
        self.strings.clear();
        self.strings.shrink_to(keep);
        self.lines.clear();
        self.last_stream = None;
    }

    /// Pushes every line into `sink`, as coming from `input`, exactly as it was pushed in.
    ///
    /// The texts are checked for UTF-8 many lines at a time, which is much cheaper than line
    /// by line; lines that pass go to [`LineSink::line_str`], the others to [`LineSink::line`].
    pub fn replay<S: LineSink + ?Sized>(&self, input: &str, sink: &mut S) {
        let end = self.texts.len();
        // `texts[from..]` checked: valid up to `from + valid.len()`.
        let (mut from, mut valid) = (0, "");
        for r in &self.lines {
            let envelope = Envelope {
                timestamp_ms: r.timestamp_ms,
                // Stored from `&str`s at char boundaries, so `get` always finds them.
                stream: r.stream.clone().and_then(|s| self.strings.get(s)),
                ptr: r.ptr.clone().and_then(|p| self.strings.get(p)),
                ingestion_ms: r.ingestion_ms,
                repairs: r.repairs,
                joined: r.joined,
            };
            let loc = Loc {
                input,
                line: r.line,
            };
            if r.text.end > from + valid.len() {
                // Check from this line to the end of the batch, or to the next invalid byte.
                from = r.text.start;
                let rest = &self.texts[from..end];
                valid = match std::str::from_utf8(rest) {
                    Ok(v) => v,
                    Err(e) => std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(),
                };
            }
            // A line within valid text is itself valid only if it starts and ends at char
            // boundaries: two invalid halves of a character can make a valid pair.
            let text = valid.get(r.text.start - from..r.text.end - from);
            match text {
                Some(text) => sink.line_str(text, &envelope, loc),
                None => sink.line(&self.texts[r.text.clone()], &envelope, loc),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line as a sink received it, owned.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Got {
        text: Vec<u8>,
        timestamp_ms: Option<i64>,
        stream: Option<String>,
        ptr: Option<String>,
        ingestion_ms: Option<i64>,
        input: String,
        line: u64,
    }

    /// Lines received, each with whether it came through `line_str`.
    #[derive(Default)]
    struct Collect(Vec<(Got, bool)>);

    impl LineSink for Collect {
        fn line(&mut self, text: &[u8], e: &Envelope<'_>, loc: Loc<'_>) {
            self.push(text, false, e, loc);
        }
        fn line_str(&mut self, text: &str, e: &Envelope<'_>, loc: Loc<'_>) {
            self.push(text.as_bytes(), true, e, loc);
        }
    }

    impl Collect {
        fn push(&mut self, text: &[u8], utf8: bool, e: &Envelope<'_>, loc: Loc<'_>) {
            let got = Got {
                text: text.to_vec(),
                timestamp_ms: e.timestamp_ms,
                stream: e.stream.map(str::to_owned),
                ptr: e.ptr.map(str::to_owned),
                ingestion_ms: e.ingestion_ms,
                input: loc.input.to_owned(),
                line: loc.line,
            };
            self.0.push((got, utf8));
        }

        fn lines(&self) -> Vec<Got> {
            self.0.iter().map(|(g, _)| g.clone()).collect()
        }
    }

    fn env<'a>(ts: Option<i64>, stream: Option<&'a str>, ptr: Option<&'a str>) -> Envelope<'a> {
        Envelope {
            timestamp_ms: ts,
            stream,
            ptr,
            ingestion_ms: ts.map(|t| t + 5),
            ..Envelope::default()
        }
    }

    fn loc(line: u64) -> Loc<'static> {
        Loc { input: "", line }
    }

    #[test]
    fn replay_gives_back_what_was_pushed() {
        let pushed: Vec<(&[u8], Envelope<'_>, u64)> = vec![
            (b"one", env(Some(1), Some("s1"), Some("p1")), 1),
            (b"", env(None, Some("s1"), None), 2),
            (b"three", env(Some(3), Some("s2"), Some("p3")), 4),
            (b"bad \xff utf-8", env(Some(4), Some("s1"), None), 7),
            (b"caf\xc3", Envelope::default(), 8),
            (b"\xa9 split", Envelope::default(), 9),
            ("\u{e9} ok".as_bytes(), env(Some(9), None, Some("p9")), 10),
        ];
        let mut batch = LineBatch::with_capacity(16);
        let mut want = Collect::default();
        for (text, e, line) in &pushed {
            batch.push(text, e, loc(*line));
            want.line(
                text,
                e,
                Loc {
                    input: "in",
                    line: *line,
                },
            );
        }
        assert_eq!(batch.lines.len(), pushed.len());
        let mut got = Collect::default();
        batch.replay("in", &mut got);
        assert_eq!(got.lines(), want.lines());
        // Valid lines go to `line_str`; invalid ones, and the two halves of a character split
        // over two lines, go to `line`.
        let utf8: Vec<bool> = got.0.iter().map(|g| g.1).collect();
        assert_eq!(utf8, [true, true, true, false, false, false, true]);
    }

    #[test]
    fn clear_keeps_the_buffers_but_not_a_huge_one() {
        let mut batch = LineBatch::with_capacity(64);
        batch.push(&[b'x'; 10_000], &env(Some(1), Some("s"), Some("p")), loc(1));
        assert!(batch.bytes() > 10_000);
        batch.clear(64);
        assert!(batch.is_empty());
        assert_eq!(batch.bytes(), 0);
        assert!(batch.texts.capacity() < 10_000);
        // The last stream before clearing is not reused: its bytes are gone.
        batch.push(b"a", &env(None, Some("t"), None), loc(2));
        let mut got = Collect::default();
        batch.replay("i", &mut got);
        assert_eq!(got.0[0].0.stream.as_deref(), Some("t"));
    }
}
