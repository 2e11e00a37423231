//! Running a job over local inputs: read every input, parse every line, analyse, and hand the
//! result to a renderer.
//!
//! This is where `source`, `parse`, `analysis` and `report` meet; each stays ignorant of the
//! others. Large raw files are split at line boundaries and analysed on several threads. Every
//! other input (JSON, CSV, gzip, stdin) is read on this thread into owned batches of lines
//! that other threads analyse meanwhile. Either way the per-chunk analyses merge in input
//! order, so results do not depend on `--threads`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Mutex, PoisonError};

use crate::analysis::{self, Analyzer, Report};
use crate::classify::Class;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::parse::ParseError;
use crate::report::events::EventWriter;
use crate::report::source::InputSummary;
use crate::report::wire::{EventOut, StsOut};
use crate::source::detect::{self, Detection};
use crate::source::{self, Envelope, Input, InputFormat, InputStats, LineBatch, LineSink, Loc};

/// What to read and how to analyse it.
#[derive(Clone, Debug, Default)]
pub struct Job {
    /// Local inputs, in order.
    pub inputs: Vec<Input>,
    /// Their shape (or auto-detection).
    pub format: InputFormat,
    /// Filters and context for the analysis.
    pub options: analysis::Options,
    /// Threads for large or non-raw inputs (0: all cores).
    pub threads: usize,
    /// Fail when any line does not parse.
    pub strict: bool,
}

/// Pushes one line into an analyzer.
pub fn feed(analyzer: &mut Analyzer, text: &[u8], env: &Envelope<'_>, loc: Loc<'_>) {
    Feed(analyzer).line(text, env, loc)
}

/// An analyzer as a [`LineSink`].
pub struct Feed<'a>(pub &'a mut Analyzer);

impl Feed<'_> {
    #[inline]
    fn take(&mut self, e: &Event<'_>, parsed: Result<(), ParseError>) {
        match parsed {
            Ok(()) => {
                self.0.event(e);
            }
            Err(err) => self.0.reject(err.kind, e.loc.input, e.loc.line),
        }
    }
}

impl LineSink for Feed<'_> {
    #[inline]
    fn line(&mut self, text: &[u8], env: &Envelope<'_>, loc: Loc<'_>) {
        // Built here and filled in place: the record is too big to return through the parser.
        let mut e = Event::empty(*env, loc);
        let parsed = e.fill(text);
        self.take(&e, parsed);
    }

    #[inline]
    fn line_str(&mut self, text: &str, env: &Envelope<'_>, loc: Loc<'_>) {
        let mut e = Event::empty(*env, loc);
        let parsed = e.fill_str(text);
        self.take(&e, parsed);
    }
}

/// Analyses every local input of the job into a report.
pub fn report(job: &Job) -> Result<(Report, Vec<InputSummary>)> {
    report_local(job)
}

fn report_local(job: &Job) -> Result<(Report, Vec<InputSummary>)> {
    let threads = resolve_threads(job.threads);
    let mut analyzer = Analyzer::new(job.options.clone());
    let mut inputs = Vec::new();
    for input in &job.inputs {
        let name = input.name();
        let stats = match input {
            Input::File(path) if threads > 1 => report_file(
                path,
                &name,
                job,
                threads,
                BLOCK,
                batch_size(threads),
                &mut analyzer,
            )?,
            Input::Stdin if threads > 1 => {
                let stdin = std::io::stdin().lock();
                report_batched(
                    &name,
                    stdin,
                    job,
                    threads,
                    batch_size(threads),
                    &mut analyzer,
                )?
            }
            _ => source::read_input(input, job.format, &mut Feed(&mut analyzer))?,
        };
        inputs.push(InputSummary::new(&name, stats));
    }
    check_strict(job, &analyzer)?;
    Ok((analyzer.finish(), inputs))
}

/// `--threads 0` means every core. Any count is clamped to [`THREADS_PER_CORE`] per core and
/// at most [`MAX_THREADS`]: each thread holds batches of up to [`BLOCK`] bytes, so 5000
/// threads would ask for 80 GB, and more threads than that buy nothing.
fn resolve_threads(n: usize) -> usize {
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

/// Most threads `--threads` may ask for, whatever the cores; see [`resolve_threads`].
pub const MAX_THREADS: usize = 64;

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
fn report_file(
    path: &std::path::Path,
    name: &str,
    job: &Job,
    threads: usize,
    block: usize,
    batch: usize,
    analyzer: &mut Analyzer,
) -> Result<InputStats> {
    let open = |path: &std::path::Path| {
        File::open(path).map_err(|source| source::Error::Open {
            path: path.to_owned(),
            source,
        })
    };
    let read_err = |source| source::Error::Read {
        input: name.to_owned(),
        source,
    };
    let mut file = open(path)?;
    let len = file.metadata().map_err(read_err)?.len();
    let mut head = Vec::with_capacity(detect::PEEK_MAX);
    (&mut file)
        .take(detect::PEEK_MAX as u64)
        .read_to_end(&mut head)
        .map_err(read_err)?;
    let large = len >= PARALLEL_MIN.min(block as u64);
    if !large || !is_plain_raw(&head, job.format) {
        // A small gzip file can still hold many lines.
        let batched = large || head.starts_with(&GZIP_MAGIC);
        let reader = std::io::Cursor::new(head).chain(file);
        return if batched {
            report_batched(name, reader, job, threads, batch, analyzer)
        } else {
            Ok(source::read_from(
                name,
                reader,
                job.format,
                &mut Feed(analyzer),
            )?)
        };
    }
    let (records, bytes) =
        analyze_parallel(name, head, file, job, threads, block, analyzer).map_err(read_err)?;
    Ok(InputStats {
        format: InputFormat::Raw,
        records,
        bytes,
    })
}

/// Whether an input starting with `head` is read as plain raw lines (not gzip, no BOM, not
/// another shape), which is what the parallel path handles.
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

/// One batch: a buffer of bytes read, the first `len` of which are whole lines.
struct Batch {
    buf: Vec<u8>,
    /// Bytes read into `buf`.
    filled: usize,
    /// Bytes of `buf` that are whole lines; `len..filled` starts the next batch.
    len: usize,
}

impl Batch {
    fn new(size: usize) -> Batch {
        Batch {
            buf: vec![0; size],
            filled: 0,
            len: 0,
        }
    }

    /// Fills the buffer (after `carry` bytes already there) and cuts it after the last
    /// newline. Returns false at end of input with nothing left.
    fn fill(&mut self, reader: &mut impl Read, carry: usize) -> std::io::Result<bool> {
        let mut filled = carry;
        loop {
            if filled == self.buf.len() {
                if memchr::memchr(b'\n', &self.buf[..filled]).is_some() {
                    break;
                }
                // One line longer than the buffer: grow rather than split it.
                self.buf.resize(self.buf.len() * 2, 0);
            }
            match reader.read(&mut self.buf[filled..]) {
                Ok(0) => {
                    (self.filled, self.len) = (filled, filled);
                    return Ok(filled > 0);
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.filled = filled;
        self.len = memchr::memrchr(b'\n', &self.buf[..filled]).map_or(filled, |i| i + 1);
        Ok(true)
    }
}

/// Analyses raw lines on `threads` threads, batch by batch: while the threads analyse one
/// batch, this thread reads the next. Chunk analyses merge in input order, which gives the
/// same result as one pass (`Analyzer::merge`). `head` holds the bytes already read from
/// `file`. Returns (records pushed, bytes read).
fn analyze_parallel(
    name: &str,
    head: Vec<u8>,
    mut file: File,
    job: &Job,
    threads: usize,
    block: usize,
    analyzer: &mut Analyzer,
) -> std::io::Result<(u64, u64)> {
    let size = (block * threads).max(head.len());
    let mut cur = Batch::new(size);
    let mut next = Batch::new(size);
    cur.buf[..head.len()].copy_from_slice(&head);
    let mut more = cur.fill(&mut file, head.len())?;
    let (mut line, mut records, mut bytes) = (1u64, 0u64, 0u64);
    while more {
        bytes += cur.len as u64;
        let whole = &cur.buf[..cur.len];
        let chunks = source::chunk_boundaries(whole, threads);
        let starts = chunk_starts(whole, &chunks, line);
        let (results, read) = std::thread::scope(|s| {
            let workers: Vec<_> = chunks
                .iter()
                .zip(&starts)
                .map(|(range, &start)| {
                    let text = &whole[range.clone()];
                    let opts = job.options.clone();
                    s.spawn(move || analyze_chunk(name, text, start, opts))
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
            analyzer.merge(a);
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

/// Analyses one chunk of whole lines. Returns the analysis and the chunk's line count (every
/// line, empty ones included, is pushed to the analyzer).
fn analyze_chunk(name: &str, text: &[u8], start: u64, opts: analysis::Options) -> (Analyzer, u64) {
    let mut a = Analyzer::new(opts);
    let n = source::split_lines(text, start, name, &mut Feed(&mut a));
    (a, n)
}

/// Reads `reader` as one input on this thread while `threads` workers analyse what it read,
/// a batch of about `batch` bytes of lines at a time. A worker takes the next batch as soon as
/// it is free, so no worker waits for another; batch analyses merge in input order, which gives
/// the same result as one pass (`Analyzer::merge`).
///
/// At most `threads + 2` batches exist (one filling, one queued, one per worker; a batch
/// analysed ahead of its turn is kept until it is merged), so memory does not grow with the
/// input. A read error is returned once the workers have finished what they had been sent.
fn report_batched(
    name: &str,
    reader: impl Read,
    job: &Job,
    threads: usize,
    batch: usize,
    analyzer: &mut Analyzer,
) -> Result<InputStats> {
    let analyze = |b: &LineBatch| {
        let mut a = Analyzer::new(job.options.clone());
        b.replay(name, &mut Feed(&mut a));
        a
    };
    read_batched(name, reader, job.format, threads, batch, analyzer, &analyze)
}

/// [`report_batched`] with the analysis of one batch as a parameter, for tests.
fn read_batched(
    name: &str,
    reader: impl Read,
    format: InputFormat,
    threads: usize,
    batch: usize,
    analyzer: &mut Analyzer,
    analyze: &(dyn Fn(&LineBatch) -> Analyzer + Sync),
) -> Result<InputStats> {
    let workers = threads.max(1);
    let (full_tx, full_rx) = mpsc::sync_channel(1);
    let (empty_tx, empty_rx) = mpsc::channel();
    let work = Work {
        analyze,
        size: batch,
        full: Mutex::new(full_rx),
        empty: empty_tx,
        merged: Mutex::new(Merged {
            next: 0,
            waiting: BTreeMap::new(),
            analyzer,
            panic: None,
        }),
    };
    let read = std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| work.run());
        }
        let mut batcher = Batcher {
            batch: LineBatch::with_capacity(batch),
            size: batch,
            sent: 0,
            allocated: 1,
            most: workers + 2,
            full: full_tx,
            empty: empty_rx,
            closed: false,
        };
        let read = source::read_from(name, reader, format, &mut batcher);
        if read.is_ok() {
            batcher.send();
        }
        // Hanging up ends the workers' loops; the scope waits for them.
        drop(batcher);
        read
    });
    let merged = work
        .merged
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(panic) = merged.panic {
        std::panic::resume_unwind(panic);
    }
    Ok(read?)
}

/// The reading side of [`report_batched`]: copies lines into a batch and sends it on,
/// numbered, when full. Batches come back from the workers for reuse.
struct Batcher {
    batch: LineBatch,
    size: usize,
    /// Batches sent so far: the number of the next one.
    sent: u64,
    /// Batches made so far, and how many may be.
    allocated: usize,
    most: usize,
    full: SyncSender<(u64, LineBatch)>,
    empty: Receiver<LineBatch>,
    /// The workers are gone. Not reached (they catch panics), but lines are then dropped
    /// rather than kept without bound.
    closed: bool,
}

impl Batcher {
    /// Sends the current batch (if it holds any line) and starts another.
    fn send(&mut self) {
        if self.batch.is_empty() || self.closed {
            return;
        }
        if self
            .full
            .send((self.sent, std::mem::take(&mut self.batch)))
            .is_err()
        {
            self.closed = true;
            return;
        }
        self.sent += 1;
        let next = match self.empty.try_recv() {
            Ok(b) => Ok(b),
            Err(_) if self.allocated < self.most => {
                self.allocated += 1;
                Ok(LineBatch::with_capacity(self.size))
            }
            // Every batch is out: wait for a worker to give one back.
            Err(_) => self.empty.recv(),
        };
        match next {
            Ok(b) => self.batch = b,
            Err(_) => self.closed = true,
        }
    }
}

impl LineSink for Batcher {
    #[inline]
    fn line(&mut self, text: &[u8], envelope: &Envelope<'_>, loc: Loc<'_>) {
        if self.closed {
            return;
        }
        self.batch.push(text, envelope, loc);
        if self.batch.bytes() >= self.size {
            self.send();
        }
    }
}

/// What the workers of [`report_batched`] share.
struct Work<'a> {
    analyze: &'a (dyn Fn(&LineBatch) -> Analyzer + Sync),
    size: usize,
    full: Mutex<Receiver<(u64, LineBatch)>>,
    empty: Sender<LineBatch>,
    merged: Mutex<Merged<'a>>,
}

/// The analysis so far, and what is waiting to join it.
struct Merged<'a> {
    /// The number of the next batch to merge.
    next: u64,
    /// Batches analysed before their turn, with their (emptied) batch.
    waiting: BTreeMap<u64, (Analyzer, LineBatch)>,
    analyzer: &'a mut Analyzer,
    /// The first panic of a worker, re-raised once all have stopped. A panic is a bug, but
    /// it must not leave the reader waiting for a batch that never comes back.
    panic: Option<Box<dyn std::any::Any + Send>>,
}

impl Work<'_> {
    /// One worker: analyses batches until the reader hangs up, and merges whatever can be
    /// merged after each.
    fn run(&self) {
        loop {
            // Poisoning cannot happen (panics are caught below); the receiver is good anyway.
            let next = self
                .full
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .recv();
            let Ok((n, mut batch)) = next else {
                return;
            };
            let analysis = if self.failed() {
                None
            } else {
                Some(catch_unwind(AssertUnwindSafe(|| (self.analyze)(&batch))))
            };
            batch.clear(self.size);
            let mut m = self.merged.lock().unwrap_or_else(PoisonError::into_inner);
            match analysis {
                Some(Ok(a)) if m.panic.is_none() => {
                    m.waiting.insert(n, (a, batch));
                    self.merge_ready(&mut m);
                }
                Some(Err(panic)) => {
                    m.panic.get_or_insert(panic);
                    self.give_back(batch);
                }
                _ => self.give_back(batch),
            }
            if m.panic.is_some() {
                // Nothing merges any more: give back every batch so the reader never waits.
                for (_, (_, b)) in std::mem::take(&mut m.waiting) {
                    self.give_back(b);
                }
            }
        }
    }

    fn failed(&self) -> bool {
        let m = self.merged.lock().unwrap_or_else(PoisonError::into_inner);
        m.panic.is_some()
    }

    /// Merges the waiting analyses that are next in input order.
    fn merge_ready(&self, m: &mut Merged<'_>) {
        loop {
            let next = m.next;
            let Some((a, b)) = m.waiting.remove(&next) else {
                return;
            };
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| m.analyzer.merge(a))) {
                m.panic.get_or_insert(panic);
            }
            m.next += 1;
            self.give_back(b);
            if m.panic.is_some() {
                return;
            }
        }
    }

    fn give_back(&self, batch: LineBatch) {
        // The reader may be done and gone; the batch is then simply dropped.
        let _ = self.empty.send(batch);
    }
}

/// Analyses lines from any reader (stdin, a test buffer) as one input.
pub fn report_from(
    name: &str,
    reader: impl Read,
    job: &Job,
) -> Result<(Report, Vec<InputSummary>)> {
    let mut analyzer = Analyzer::new(job.options.clone());
    let stats = source::read_from(name, reader, job.format, &mut Feed(&mut analyzer))?;
    check_strict(job, &analyzer)?;
    Ok((analyzer.finish(), vec![InputSummary::new(name, stats)]))
}

/// `--strict`: an error naming the first line that did not parse, if any did not.
pub fn check_strict(job: &Job, a: &Analyzer) -> Result<()> {
    let acct = &a.accounting;
    if job.strict && acct.unparsed() > 0 {
        let first = acct
            .first_unparsed
            .as_ref()
            .map(|(input, line, kind)| format!("{input}:{line}: {}", kind.as_str()))
            .unwrap_or_default();
        return Err(Error::Strict {
            unparsed: acct.unparsed(),
            first,
        });
    }
    Ok(())
}

/// Streams the job's events to `writer`, classified. Returns the analysis of what was read
/// (for the summary line and `--fail-on`).
pub fn events<W: Write>(job: &Job, writer: &mut EventWriter<W>) -> Result<Report> {
    let mut analyzer = Analyzer::new(job.options.clone());
    let mut failed: Option<std::io::Error> = None;
    for input in &job.inputs {
        let mut sink = |t: &[u8], e: &Envelope<'_>, l: Loc<'_>| {
            if failed.is_some() {
                return;
            }
            if let Err(e) = write_event(&mut analyzer, writer, &job.options, t, e, l) {
                failed = Some(e);
            }
        };
        source::read_input(input, job.format, &mut sink)?;
        if let Some(e) = failed.take() {
            return Err(Error::Output(e));
        }
    }
    check_strict(job, &analyzer)?;
    Ok(analyzer.finish())
}

/// Classifies one line and writes it as an event, when it passes the job's filters.
pub fn write_event<W: Write>(
    analyzer: &mut Analyzer,
    writer: &mut EventWriter<W>,
    opts: &analysis::Options,
    text: &[u8],
    env: &Envelope<'_>,
    loc: Loc<'_>,
) -> std::io::Result<()> {
    let e = match Event::parse(text, *env, loc) {
        Ok(e) => e,
        Err(err) => {
            analyzer.reject(err.kind, loc.input, loc.line);
            return Ok(());
        }
    };
    let Some(verdict) = analyzer.event(&e) else {
        return Ok(());
    };
    let filtering = !opts.classes.is_empty() || !opts.families.is_empty();
    if filtering
        && !verdict
            .class
            .is_some_and(|c| opts.keeps_class(c) || sub_class_wanted(c, opts))
    {
        return Ok(());
    }
    let class = verdict.class.map(|c| (c.as_str(), c.family().as_str()));
    writer.write(&EventOut::new(
        &e,
        class,
        verdict.sts.as_ref().map(StsOut::from),
    ))
}

/// Not-mapped denials are sub-classed only at the end, so a filter on a sub-class keeps the
/// base class's events.
fn sub_class_wanted(c: Class, opts: &analysis::Options) -> bool {
    c == Class::IdentityNotMapped
        && opts.classes.iter().any(|w| {
            matches!(
                w,
                Class::NodeRoleNotMapped
                    | Class::SsoRoleNotMapped
                    | Class::PrincipalRecreated
                    | Class::RolePathInMapping
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use eks_authlog_testkit::corpus::{self, Spec};

    fn json(r: &Report, inputs: &[InputSummary]) -> Vec<u8> {
        let mut out = Vec::new();
        crate::report::document::write(&mut out, r, inputs, None).unwrap();
        out
    }

    #[test]
    fn small_blocks_and_any_thread_count_give_the_same_report() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let spec = Spec {
            lines: Some(3000),
            ..Spec::default()
        };
        let mut file = File::create(&path).unwrap();
        corpus::write(&spec, &mut file).unwrap();
        // A line longer than the block, so a batch has to grow.
        writeln!(
            file,
            "time=\"2026-01-16T00:00:00Z\" level=info msg=\"{}\"",
            "x".repeat(9000)
        )
        .unwrap();
        drop(file);
        let job = Job {
            inputs: vec![Input::File(path.clone())],
            threads: 1,
            ..Job::default()
        };
        let (r, inputs) = report(&job).unwrap();
        let want = json(&r, &inputs);
        for threads in [2, 3, 7] {
            for block in [4096, 1 << 20] {
                let mut a = Analyzer::new(job.options.clone());
                let stats = report_file(
                    &path,
                    &inputs[0].name,
                    &job,
                    threads,
                    block,
                    1 << 20,
                    &mut a,
                )
                .unwrap();
                let got = json(&a.finish(), &[InputSummary::new(&inputs[0].name, stats)]);
                assert!(got == want, "threads {threads}, block {block}");
            }
        }
    }

    /// The JSON report of `data` read on one thread straight into the analyzer, as
    /// `--threads 1` does.
    fn direct(data: &[u8], job: &Job) -> Result<Vec<u8>> {
        let (r, inputs) = report_from("in", data, job)?;
        Ok(json(&r, &inputs))
    }

    /// The JSON report of `data` read through batches of `batch` bytes on `threads` threads.
    fn batched(data: &[u8], job: &Job, threads: usize, batch: usize) -> Result<Vec<u8>> {
        let mut a = Analyzer::new(job.options.clone());
        let stats = report_batched("in", data, job, threads, batch, &mut a)?;
        check_strict(job, &a)?;
        Ok(json(&a.finish(), &[InputSummary::new("in", stats)]))
    }

    /// Batch sizes from one line per batch to everything in one batch.
    const BATCHES: [usize; 4] = [1, 700, 4096, 1 << 20];

    fn same_report_batched(what: &str, data: &[u8], job: &Job) {
        let want = direct(data, job).unwrap();
        for threads in 1..=4 {
            for batch in BATCHES {
                let got = batched(data, job, threads, batch).unwrap();
                assert!(
                    got == want,
                    "{what}: threads {threads}, batch {batch}:\n{}\n---\n{}",
                    String::from_utf8_lossy(&want),
                    String::from_utf8_lossy(&got)
                );
            }
        }
    }

    #[test]
    fn a_panicking_worker_neither_hangs_nor_loses_its_panic() {
        let mut data = Vec::new();
        let spec = Spec {
            lines: Some(500),
            ..Spec::default()
        };
        corpus::write(&spec, &mut data).unwrap();
        for threads in 1..=3 {
            for batch in [1, 4096] {
                let calls = std::sync::atomic::AtomicUsize::new(0);
                let analyze = |_: &LineBatch| {
                    if calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 2 {
                        panic!("analysis bug");
                    }
                    Analyzer::default()
                };
                let mut a = Analyzer::default();
                let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    read_batched(
                        "in",
                        &data[..],
                        InputFormat::Raw,
                        threads,
                        batch,
                        &mut a,
                        &analyze,
                    )
                }));
                let panic = run.expect_err("the panic is raised again");
                assert_eq!(
                    panic.downcast_ref::<&str>(),
                    Some(&"analysis bug"),
                    "threads {threads}, batch {batch}"
                );
            }
        }
    }

    #[test]
    fn merge_pairs_every_denial_that_heads_a_chunk() {
        // One line per batch: the denial is analysed apart from its response.
        let data = concat!(
            r#"time="2026-01-15T04:28:17Z" level=info msg="STS response" arn="arn:aws:sts::111122223333:assumed-role/Ops/EKSAuthTokenSession" client="127.0.0.1:57518" session=EKSAuthTokenSession userid=AROAFB62VQG413OU82O05"#,
            "\n",
            r#"time="2026-01-15T04:28:17Z" level=warning msg="access denied" arn="arn:aws:iam::111122223333:role/Ops" client="127.0.0.1:57518" error="failed mapping username: SessionName did not contain an instance id""#,
            "\n",
        );
        let want = direct(data.as_bytes(), &Job::default()).unwrap();
        assert!(String::from_utf8_lossy(&want).contains("(session EKSAuthTokenSession)"));
        let got = batched(data.as_bytes(), &Job::default(), 2, 1).unwrap();
        assert!(
            String::from_utf8_lossy(&got).contains("(session EKSAuthTokenSession)"),
            "the merged report lost the session of the paired STS response"
        );
        assert!(got == want);
    }

    #[test]
    fn batches_give_the_same_report_on_every_fixture() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("testdata/inputs");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            same_report_batched(&path.display().to_string(), &data, &Job::default());
            seen += 1;
        }
        assert!(seen >= 8, "fixtures in {}", dir.display());
    }

    #[test]
    fn batches_give_the_same_report_on_a_generated_corpus_in_every_shape() {
        use eks_authlog_testkit::corpus::CorpusFormat;
        for format in CorpusFormat::ALL {
            let spec = Spec {
                lines: Some(1500),
                format,
                seed: 3,
                ..Spec::default()
            };
            let mut data = Vec::new();
            corpus::write(&spec, &mut data).unwrap();
            same_report_batched(&format!("{format:?}"), &data, &Job::default());
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&data).unwrap();
            same_report_batched(
                &format!("{format:?} gzip"),
                &gz.finish().unwrap(),
                &Job::default(),
            );
        }
    }

    #[test]
    fn batches_keep_odd_lines_and_their_numbers() {
        // Blank lines, CRLF, invalid UTF-8, a character split over two lines, a line longer
        // than a batch, and no final newline.
        let mut data = Vec::new();
        let spec = Spec {
            lines: Some(200),
            ..Spec::default()
        };
        corpus::write(&spec, &mut data).unwrap();
        data.extend_from_slice(b"\n\r\nlevel=info msg=\"caf\xc3\n\xa9\" x=1\nbad \xff\n");
        data.extend_from_slice(format!("level=info msg=\"{}\"\n", "y".repeat(5000)).as_bytes());
        data.extend_from_slice(&data.clone()[..2000]);
        data.extend_from_slice(b"time=\"2026-01-15T00:00:00Z\" level=info msg=last");
        same_report_batched("odd lines", &data, &Job::default());
    }

    #[test]
    fn thread_counts_are_clamped() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let most = (cores * THREADS_PER_CORE).min(MAX_THREADS);
        assert_eq!(resolve_threads(0), cores.min(most));
        assert_eq!(resolve_threads(1), 1);
        for n in [5000, 99_999_999_999, usize::MAX] {
            assert_eq!(resolve_threads(n), most, "{n}");
        }
    }

    #[test]
    fn batches_give_the_same_strict_error() {
        let data = b"level=info msg=ok\nnot logfmt at all\nlevel=info msg=ok\n";
        let job = Job {
            strict: true,
            format: InputFormat::Raw,
            ..Job::default()
        };
        let want = direct(data, &job).unwrap_err().to_string();
        assert!(want.contains("in:2"), "{want}");
        for threads in 1..=4 {
            for batch in BATCHES {
                let got = batched(data, &job, threads, batch).unwrap_err().to_string();
                assert_eq!(got, want, "threads {threads}, batch {batch}");
            }
        }
    }

    #[test]
    fn batches_give_the_same_read_error() {
        let spec = Spec {
            lines: Some(300),
            format: eks_authlog_testkit::corpus::CorpusFormat::Ndjson,
            ..Spec::default()
        };
        let mut good = Vec::new();
        corpus::write(&spec, &mut good).unwrap();
        let mut document = Vec::new();
        corpus::write(
            &Spec {
                format: eks_authlog_testkit::corpus::CorpusFormat::FilterLogEvents,
                ..spec.clone()
            },
            &mut document,
        )
        .unwrap();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "bad NDJSON line",
                [&good[..], b"{\"message\": oops}\n", &good[..]].concat(),
            ),
            ("truncated NDJSON", good[..good.len() - 40].to_vec()),
            (
                "truncated document",
                document[..document.len() / 2].to_vec(),
            ),
            (
                "bad first line",
                [&b"{\"message\": \n"[..], &good[..]].concat(),
            ),
        ];
        for (what, data) in cases {
            let want = direct(&data, &Job::default()).unwrap_err().to_string();
            for threads in 1..=4 {
                for batch in BATCHES {
                    let got = batched(&data, &Job::default(), threads, batch)
                        .unwrap_err()
                        .to_string();
                    assert_eq!(got, want, "{what}: threads {threads}, batch {batch}");
                }
            }
        }
    }
}
