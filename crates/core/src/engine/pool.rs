//! The batch pool: one input read on the calling thread into owned batches of lines, which
//! worker threads fold meanwhile; their accumulators merge in input order.

use std::collections::BTreeMap;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Mutex, PoisonError};

use crate::merge::Merge;
use crate::source::{self, Envelope, InputFormat, InputStats, LineBatch, LineSink, Loc};

use super::{Fold, Sink};

/// Reads `reader` as one input on this thread while `threads` workers fold what it read into
/// fresh accumulators, a batch of about `batch` bytes of lines at a time. A worker takes the
/// next batch as soon as it is free, so no worker waits for another; batch accumulators merge
/// into `into` in input order, which gives the same result as one pass.
///
/// At most `threads + 2` batches exist (one filling, one queued, one per worker; a batch
/// analysed ahead of its turn is kept until it is merged), so memory does not grow with the
/// input. A read error is returned once the workers have finished what they had been sent.
pub(super) fn read<F: Fold>(
    name: &str,
    reader: impl Read,
    format: InputFormat,
    threads: usize,
    batch: usize,
    fold: &F,
    into: &mut F::Acc,
) -> Result<InputStats, source::Error> {
    let analyze = |b: &LineBatch| {
        let mut acc = fold.fresh();
        b.replay(
            name,
            &mut Sink {
                fold,
                acc: &mut acc,
            },
        );
        acc
    };
    read_with(name, reader, format, threads, batch, into, &analyze)
}

/// [`read`] with the analysis of one batch as a parameter.
pub(super) fn read_with<A: Merge + Send>(
    name: &str,
    reader: impl Read,
    format: InputFormat,
    threads: usize,
    batch: usize,
    into: &mut A,
    analyze: &(dyn Fn(&LineBatch) -> A + Sync),
) -> Result<InputStats, source::Error> {
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
            into,
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
    read
}

/// The reading side of [`read`]: copies lines into a batch and sends it on,
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

/// What the workers of [`read`] share.
struct Work<'a, A> {
    analyze: &'a (dyn Fn(&LineBatch) -> A + Sync),
    size: usize,
    full: Mutex<Receiver<(u64, LineBatch)>>,
    empty: Sender<LineBatch>,
    merged: Mutex<Merged<'a, A>>,
}

/// The analysis so far, and what is waiting to join it.
struct Merged<'a, A> {
    /// The number of the next batch to merge.
    next: u64,
    /// Batches analysed before their turn, with their (emptied) batch.
    waiting: BTreeMap<u64, (A, LineBatch)>,
    /// The analysis of the batches merged so far (and of what came before them).
    into: &'a mut A,
    /// The first panic of a worker, re-raised once all have stopped. A panic is a bug, but
    /// it must not leave the reader waiting for a batch that never comes back.
    panic: Option<Box<dyn std::any::Any + Send>>,
}

impl<A: Merge + Send> Work<'_, A> {
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
    fn merge_ready(&self, m: &mut Merged<'_, A>) {
        loop {
            let next = m.next;
            let Some((a, b)) = m.waiting.remove(&next) else {
                return;
            };
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| m.into.merge(a))) {
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
