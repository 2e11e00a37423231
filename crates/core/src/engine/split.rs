//! Raw-file splitting: a large file of plain lines, read a block at a time and cut at line
//! boundaries into one chunk per thread, folded in place (no copy of the lines).

use std::io::{ErrorKind, Read};
use std::ops::Range;

use crate::merge::Merge;
use crate::source;

use super::{Fold, Sink};

/// One batch: a buffer of bytes read, the first `len` of which are whole lines.
struct Batch {
    buf: Vec<u8>,
    /// Bytes read into `buf`.
    filled: usize,
    /// Bytes of `buf` that are whole lines; `len..filled` starts the next batch.
    len: usize,
    /// Bytes of over-long lines read and dropped.
    dropped: u64,
}

impl Batch {
    fn new(size: usize) -> Batch {
        Batch {
            buf: vec![0; size],
            filled: 0,
            len: 0,
            dropped: 0,
        }
    }

    /// Fills the buffer (after `carry` bytes already there) and cuts it after the last
    /// whole record (see [`source::repair::record_cut`]). Returns false at end of input with
    /// nothing left.
    ///
    /// A line that does not fit in the buffer is longer than
    /// [`MAX_RECORD`](source::MAX_RECORD) (the buffer is larger): its first `MAX_RECORD + 1`
    /// bytes are kept, so that the analysis counts it as `too_long`, and the rest up to its
    /// newline is read and dropped, so that the buffer never grows.
    fn fill(&mut self, reader: &mut impl Read, carry: usize) -> std::io::Result<bool> {
        let mut filled = carry;
        let mut skipping = false;
        loop {
            if filled == self.buf.len() {
                if memchr::memchr(b'\n', &self.buf[..filled]).is_some() {
                    break;
                }
                if self.buf.len() <= source::MAX_RECORD + 1 {
                    // Only for tests' small buffers: a real batch is larger than a record.
                    self.buf
                        .resize((self.buf.len() * 2).max(source::MAX_RECORD + 2), 0);
                } else {
                    filled = source::MAX_RECORD + 1;
                    skipping = true;
                }
            }
            match reader.read(&mut self.buf[filled..]) {
                Ok(0) => {
                    (self.filled, self.len) = (filled, filled);
                    return Ok(filled > 0);
                }
                Ok(n) if skipping => match memchr::memchr(b'\n', &self.buf[filled..filled + n]) {
                    None => self.dropped += n as u64,
                    Some(p) => {
                        self.dropped += p as u64;
                        self.buf.copy_within(filled + p..filled + n, filled);
                        filled += n - p;
                        skipping = false;
                    }
                },
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.filled = filled;
        let whole = memchr::memrchr(b'\n', &self.buf[..filled]).map_or(filled, |i| i + 1);
        self.len = source::repair::record_cut(&self.buf[..whole]);
        Ok(true)
    }
}

/// Folds raw lines on `threads` threads, batch by batch: while the threads fold one batch,
/// this thread reads the next. Chunk accumulators merge into `into` in input order, which
/// gives the same result as one pass. `head` holds the bytes already read from `file`.
/// Returns (records pushed, bytes read).
pub(super) fn read<F: Fold>(
    name: &str,
    head: Vec<u8>,
    mut file: impl Read,
    threads: usize,
    block: usize,
    fold: &F,
    into: &mut F::Acc,
) -> std::io::Result<(u64, u64)> {
    let size = (block * threads).max(head.len());
    let mut cur = Batch::new(size);
    let mut next = Batch::new(size);
    cur.buf[..head.len()].copy_from_slice(&head);
    let mut more = cur.fill(&mut file, head.len())?;
    let (mut line, mut records, mut bytes) = (1u64, 0u64, 0u64);
    while more {
        bytes += cur.len as u64 + std::mem::take(&mut cur.dropped);
        let whole = &cur.buf[..cur.len];
        let chunks = source::chunk_boundaries(whole, threads);
        let starts = chunk_starts(whole, &chunks, line);
        let (results, read) = std::thread::scope(|s| {
            let workers: Vec<_> = chunks
                .iter()
                .zip(&starts)
                .map(|(range, &start)| {
                    let text = &whole[range.clone()];
                    s.spawn(move || fold_chunk(name, text, start, fold))
                })
                .collect();
            // Meanwhile, move the unfinished tail to the other buffer and read on.
            let tail = &cur.buf[cur.len..cur.filled];
            if next.buf.len() < tail.len() * 2 {
                next.buf.resize(tail.len() * 2, 0);
            }
            next.buf[..tail.len()].copy_from_slice(tail);
            let read = next.fill(&mut file, tail.len());
            let results: Vec<_> = workers
                .into_iter()
                .map(|w| w.join().expect("analysis threads do not panic"))
                .collect();
            (results, read)
        });
        for (a, n) in results {
            line += n;
            records += n;
            into.merge(a);
        }
        more = read?;
        std::mem::swap(&mut cur, &mut next);
    }
    Ok((records, bytes))
}

/// The first line number of each chunk, counting lines the way `split_lines` does. The last
/// chunk's lines are not counted here: its analysis returns the count.
fn chunk_starts(buf: &[u8], chunks: &[Range<usize>], first: u64) -> Vec<u64> {
    let mut line = first;
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let start = line;
            if i + 1 < chunks.len() {
                line += source::count_lines(&buf[c.clone()]);
            }
            start
        })
        .collect()
}

/// Folds one chunk of whole lines into a fresh accumulator. Returns it and the chunk's line
/// count (every line, empty ones included, is pushed to the fold).
fn fold_chunk<F: Fold>(name: &str, text: &[u8], start: u64, fold: &F) -> (F::Acc, u64) {
    let mut acc = fold.fresh();
    let n = source::split_lines(
        text,
        start,
        name,
        &mut Sink {
            fold,
            acc: &mut acc,
        },
    );
    (acc, n)
}
