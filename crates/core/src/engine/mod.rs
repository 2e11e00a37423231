//! The thread engines: one input folded on several threads, with the same result as one pass.
//!
//! Large raw files are split at line boundaries and folded in place ([`split`]). Every other
//! input (JSON, CSV, gzip, stdin) is read on the calling thread into owned batches of lines
//! that workers fold meanwhile ([`pool`]). Either way each piece is folded into a fresh
//! accumulator and the pieces [`Merge`] in input order, so results do not depend on the
//! number of threads. The engines know nothing of what is accumulated: a [`Fold`] says.

mod pool;
mod split;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::merge::Merge;
use crate::source::detect::{self, Detection};
use crate::source::{self, Envelope, Input, InputFormat, InputStats, LineSink, Loc};

/// What the engines run on each piece of input: a fresh accumulator, fed lines.
pub trait Fold: Sync {
    /// The state of one piece; pieces merge in input order.
    type Acc: Merge + Send;

    /// A fresh accumulator, for a piece read on another thread.
    fn fresh(&self) -> Self::Acc;

    /// Pushes one line into `acc`.
    fn line(&self, acc: &mut Self::Acc, text: &[u8], envelope: &Envelope<'_>, loc: Loc<'_>);

    /// Pushes one line already known to be UTF-8.
    fn line_str(&self, acc: &mut Self::Acc, text: &str, envelope: &Envelope<'_>, loc: Loc<'_>) {
        self.line(acc, text.as_bytes(), envelope, loc);
    }
}

/// A fold and one accumulator, as the sink the sources push lines into.
struct Sink<'a, F: Fold> {
    fold: &'a F,
    acc: &'a mut F::Acc,
}

impl<F: Fold> LineSink for Sink<'_, F> {
    #[inline]
    fn line(&mut self, text: &[u8], envelope: &Envelope<'_>, loc: Loc<'_>) {
        self.fold.line(self.acc, text, envelope, loc);
    }

    #[inline]
    fn line_str(&mut self, text: &str, envelope: &Envelope<'_>, loc: Loc<'_>) {
        self.fold.line_str(self.acc, text, envelope, loc);
    }
}

/// `--threads 0` means every core. Any count is clamped to [`THREADS_PER_CORE`] per core and
/// at most [`MAX_THREADS`].
pub fn resolve_threads(n: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let most = cores.saturating_mul(THREADS_PER_CORE).min(MAX_THREADS);
    match n {
        0 => cores,
        n => n,
    }
    .min(most)
}

/// Threads per core `--threads` may ask for; see [`resolve_threads`].
pub const THREADS_PER_CORE: usize = 4;

/// Most threads `--threads` may ask for, whatever the cores; see [`resolve_threads`]. Each
/// thread holds batches of up to `BLOCK` bytes, so 5000 threads asked for 80 GB, and more
/// threads than cores buy nothing.
pub const MAX_THREADS: usize = 64;

/// Folds one input into `into` on `threads` threads (on this one when `threads` is 1).
pub fn read_input<F: Fold>(
    input: &Input,
    name: &str,
    format: InputFormat,
    threads: usize,
    fold: &F,
    into: &mut F::Acc,
) -> Result<InputStats, source::Error> {
    let batch = batch_size(threads);
    match input {
        Input::File(path) if threads > 1 => {
            read_file(path, name, format, threads, BLOCK, batch, fold, into)
        }
        Input::Stdin if threads > 1 => {
            let stdin = std::io::stdin().lock();
            pool::read(name, stdin, format, threads, batch, fold, into)
        }
        _ => source::read_input(input, format, &mut Sink { fold, acc: into }),
    }
}

/// Uncompressed files smaller than this are read on one thread: spawning would cost more than
/// it saves.
pub const PARALLEL_MIN: u64 = 4 << 20;

/// Bytes each thread analyses per batch. Two batches are alive at once (one analysed, one
/// being read), so memory stays at about `2 × threads × BLOCK` whatever the input size.
const BLOCK: usize = 8 << 20;

/// Bytes of line batches the batched path may hold at once (copied texts and envelopes),
/// whatever the input size and thread count: `threads + 2` batches share it.
const BATCH_MEMORY: usize = 12 << 20;

/// The size of one batch for `threads` workers: a share of [`BATCH_MEMORY`], but neither so
/// small that merging a batch costs a noticeable part of analysing it, nor larger than 4 MiB.
fn batch_size(threads: usize) -> usize {
    (BATCH_MEMORY / (threads + 2)).clamp(256 << 10, 4 << 20)
}

/// Reads one file on several threads: split in place when it is plain raw lines, in batches
/// when it has another shape or is compressed; on one thread when it is small.
#[allow(clippy::too_many_arguments)]
fn read_file<F: Fold>(
    path: &Path,
    name: &str,
    format: InputFormat,
    threads: usize,
    block: usize,
    batch: usize,
    fold: &F,
    into: &mut F::Acc,
) -> Result<InputStats, source::Error> {
    let read_err = |source| source::Error::Read {
        input: name.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(|source| source::Error::Open {
        path: path.to_owned(),
        source,
    })?;
    let len = file.metadata().map_err(read_err)?.len();
    let mut head = Vec::with_capacity(detect::PEEK_MAX);
    (&mut file)
        .take(detect::PEEK_MAX as u64)
        .read_to_end(&mut head)
        .map_err(read_err)?;
    let large = len >= PARALLEL_MIN.min(block as u64);
    if !large || !is_plain_raw(&head, format) {
        // A small gzip file can still hold many lines.
        let batched = large || head.starts_with(&GZIP_MAGIC);
        let reader = std::io::Cursor::new(head).chain(file);
        return if batched {
            pool::read(name, reader, format, threads, batch, fold, into)
        } else {
            source::read_from(name, reader, format, &mut Sink { fold, acc: into })
        };
    }
    let (records, bytes) =
        split::read(name, head, file, threads, block, fold, into).map_err(read_err)?;
    Ok(InputStats {
        format: InputFormat::Raw,
        records,
        bytes,
        query_status: None,
    })
}

/// Whether an input starting with `head` is read as plain raw lines (not gzip, no BOM, not
/// another shape), which is what the split path handles.
fn is_plain_raw(head: &[u8], format: InputFormat) -> bool {
    if head.starts_with(&GZIP_MAGIC) || head.starts_with(b"\xEF\xBB\xBF") {
        return false;
    }
    match format {
        InputFormat::Raw => true,
        InputFormat::Auto => {
            detect::detect(head, head.len() < detect::PEEK_MAX)
                == Detection::Format(InputFormat::Raw)
        }
        _ => false,
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
