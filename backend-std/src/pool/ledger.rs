//! The calls in flight: each a batch with its sink, how many of its tasks are still out,
//! and whether it may still submit more. The scheduler hands each released run back with
//! its job's [`Tag`] (the call and the index of the job's first item in it) and the run's
//! offset in the job, so no table maps sequence numbers back to calls.
//!
//! Batches live in a slot map: a freed slot is reused, so the batches in use stay few
//! cache lines.

pub(crate) use super::batch_id::BatchId;
use super::sink::Sink;
use slotmap::SlotMap;
use std::sync::Arc;
use std::thread::ThreadId;

/// What the scheduler keeps with each job and gives back with every release of its tasks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Tag {
    /// The job's call.
    pub batch: BatchId,
    /// The index of the job's first item in its call.
    pub index: usize,
}

struct Batch {
    sink: Arc<dyn Sink>,
    /// Tasks submitted and not yet released.
    pending: usize,
    /// Whether more tasks may still be submitted (a live `imap`, a call still submitting).
    open: bool,
    /// The thread that made it, for an `imap`: it submits as that thread consumes it.
    fed_by: Option<ThreadId>,
}

/// Where a released run of tasks goes.
pub(crate) struct Destination {
    /// The sink of its call.
    pub sink: Arc<dyn Sink>,
    /// The first task's index in its call.
    pub index: usize,
}

/// The calls in flight.
#[derive(Default)]
pub(crate) struct Ledger {
    batches: SlotMap<BatchId, Batch>,
    /// Batches that are open.
    open: usize,
}

impl Ledger {
    /// Registers a call; `open` while it may submit more tasks.
    pub(crate) fn new_batch(&mut self, sink: Arc<dyn Sink>, open: bool) -> BatchId {
        self.open += usize::from(open);
        self.batches.insert(Batch {
            sink,
            pending: 0,
            open,
            fed_by: None,
        })
    }

    /// Registers an `imap`'s call, open until its input is used up, fed as `thread`
    /// consumes it.
    pub(crate) fn new_fed_batch(&mut self, sink: Arc<dyn Sink>, thread: ThreadId) -> BatchId {
        let id = self.new_batch(sink, true);
        if let Some(b) = self.batches.get_mut(id) {
            b.fed_by = Some(thread);
        }
        id
    }

    /// Whether an open `imap` call is fed by `thread`.
    pub(crate) fn fed_by(&self, thread: ThreadId) -> bool {
        self.open > 0
            && self
                .batches
                .values()
                .any(|b| b.open && b.fed_by == Some(thread))
    }

    /// Records `n` more tasks of `batch` as submitted.
    pub(crate) fn add(&mut self, batch: BatchId, n: usize) {
        if let Some(b) = self.batches.get_mut(batch) {
            b.pending += n;
        }
    }

    /// The call is complete: it submits no more; it is forgotten once nothing is pending.
    pub(crate) fn seal(&mut self, batch: BatchId) {
        let Some(b) = self.batches.get_mut(batch) else {
            return;
        };
        if b.open {
            b.open = false;
            self.open -= 1;
        }
        if b.pending == 0 {
            self.batches.remove(batch);
        }
    }

    /// Whether any call may still submit tasks.
    pub(crate) fn any_open(&self) -> bool {
        self.open > 0
    }

    /// Takes `len` tasks of the job tagged `tag`, from `offset` in it, off the books and
    /// says where their results go; `None` for a call it does not know (one that was
    /// forgotten).
    pub(crate) fn release(&mut self, tag: Tag, offset: usize, len: usize) -> Option<Destination> {
        let b = self.batches.get_mut(tag.batch)?;
        b.pending = b.pending.saturating_sub(len);
        let sink = if b.pending == 0 && !b.open {
            self.batches.remove(tag.batch)?.sink
        } else {
            Arc::clone(&b.sink)
        };
        Some(Destination {
            sink,
            index: tag.index + offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::sink::Raw;

    struct Nowhere;
    impl Sink for Nowhere {
        fn deliver(&self, _: usize, _: crate::error::Result<Raw>) {}
    }

    fn sink() -> Arc<dyn Sink> {
        Arc::new(Nowhere)
    }

    #[test]
    fn releases_map_to_their_index_and_sealed_calls_are_forgotten() {
        let mut l = Ledger::default();
        let a = l.new_batch(sink(), true);
        l.add(a, 3);
        l.add(a, 2);
        l.seal(a);
        let second = Tag { batch: a, index: 3 };
        assert_eq!(l.release(second, 0, 2).map(|d| d.index), Some(3));
        let first = Tag { batch: a, index: 0 };
        assert_eq!(l.release(first, 1, 2).map(|d| d.index), Some(1));
        assert_eq!(l.release(first, 0, 1).map(|d| d.index), Some(0));
        assert!(l.batches.is_empty());
        assert!(l.release(first, 0, 1).is_none());
    }

    #[test]
    fn an_open_call_stays_until_sealed() {
        let mut l = Ledger::default();
        let a = l.new_batch(sink(), true);
        assert!(l.any_open());
        l.add(a, 1);
        assert!(l.release(Tag { batch: a, index: 0 }, 0, 1).is_some());
        assert_eq!(l.batches.len(), 1);
        l.seal(a);
        assert!(!l.any_open() && l.batches.is_empty());
    }
}
