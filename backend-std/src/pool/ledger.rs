//! Which task belongs to which call: the calls in flight (each a batch, with its sink and
//! how many of its tasks are still out) and the sequence numbers of their jobs.
//!
//! Both are looked up once per released result, so both are laid out for it: batches live
//! in a slot map (a freed slot is reused, so the batches in use stay few cache lines), and
//! job ranges in a deque sorted by sequence number, popped from the front as they finish.
//! Results come back roughly in submission order, so a release usually finds its range at
//! the last hit or the one after.

use super::sink::Sink;
use slotmap::{SlotMap, new_key_type};
use std::collections::VecDeque;
use std::sync::Arc;

new_key_type! {
    /// A call in flight (`apply_async`, `map_async`, an `imap`...); never reused for another
    /// call, so a late cancel cannot hit the wrong one.
    pub(crate) struct BatchId;
}

struct Batch {
    sink: Arc<dyn Sink>,
    /// Tasks submitted and not yet released.
    pending: usize,
    /// Whether more tasks may still be submitted (a live `imap`, a call still submitting).
    open: bool,
}

/// The tasks `first..first + n` (one job) are items `index..` of `batch`; `left` of them
/// are not released yet.
struct Range {
    first: u64,
    n: usize,
    index: usize,
    batch: BatchId,
    left: usize,
}

/// Where a released run of tasks goes.
pub(crate) struct Destination {
    /// The sink of its call.
    pub sink: Arc<dyn Sink>,
    /// The first task's index in its call.
    pub index: usize,
}

/// The calls in flight and the job ranges of their tasks.
#[derive(Default)]
pub(crate) struct Ledger {
    batches: SlotMap<BatchId, Batch>,
    /// Ranges in sequence order; finished ones stay until they reach the front (or a
    /// compaction), so lookups stay a search over one sorted deque.
    ranges: VecDeque<Range>,
    /// Finished ranges still in `ranges`.
    finished: usize,
    /// Where the last release was found.
    hint: usize,
    /// Batches that are open.
    open: usize,
}

/// Finished ranges a ledger keeps behind a long-running one before it compacts.
const COMPACT_AFTER: usize = 4096;

impl Ledger {
    /// Registers a call; `open` while it may submit more tasks.
    pub(crate) fn new_batch(&mut self, sink: Arc<dyn Sink>, open: bool) -> BatchId {
        self.open += usize::from(open);
        self.batches.insert(Batch {
            sink,
            pending: 0,
            open,
        })
    }

    /// Records that the `n` tasks from sequence `first` are items `index..` of `batch`.
    /// Sequence numbers only grow from one call to the next.
    pub(crate) fn add(&mut self, batch: BatchId, first: u64, index: usize, n: usize) {
        debug_assert!(self.ranges.back().is_none_or(|r| r.first < first));
        if let Some(b) = self.batches.get_mut(batch) {
            b.pending += n;
        }
        self.ranges.push_back(Range {
            first,
            n,
            index,
            batch,
            left: n,
        });
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

    /// The call task `seq` belongs to.
    pub(crate) fn batch_of(&self, seq: u64) -> Option<BatchId> {
        let at = self.find(seq)?;
        Some(self.ranges[at].batch)
    }

    /// Takes the `len` tasks from `seq` (one job's, or part of it) off the books and says
    /// where their results go; `None` for tasks it does not know (already released, or
    /// of a call that was dropped).
    pub(crate) fn release(&mut self, seq: u64, len: usize) -> Option<Destination> {
        let at = self.find(seq)?;
        let r = &mut self.ranges[at];
        let offset = (seq - r.first) as usize;
        if r.left == 0 || len > r.n - offset || len > r.left {
            return None;
        }
        r.left -= len;
        let (index, batch, range_done) = (r.index + offset, r.batch, r.left == 0);
        self.hint = at;
        if range_done {
            self.finished += 1;
            self.trim();
        }
        let b = self.batches.get_mut(batch)?;
        b.pending = b.pending.saturating_sub(len);
        let sink = if b.pending == 0 && !b.open {
            self.batches.remove(batch)?.sink
        } else {
            Arc::clone(&b.sink)
        };
        Some(Destination { sink, index })
    }

    /// The range holding task `seq`, trying the last hit and its successor first.
    fn find(&self, seq: u64) -> Option<usize> {
        let holds = |at: usize| {
            self.ranges
                .get(at)
                .is_some_and(|r| seq >= r.first && seq - r.first < r.n as u64)
        };
        if holds(self.hint) {
            return Some(self.hint);
        }
        if holds(self.hint + 1) {
            return Some(self.hint + 1);
        }
        let at = self
            .ranges
            .partition_point(|r| r.first <= seq)
            .checked_sub(1)?;
        holds(at).then_some(at)
    }

    /// Drops finished ranges from the front, and compacts when many finished ones sit
    /// behind a range still running.
    fn trim(&mut self) {
        while self.ranges.front().is_some_and(|r| r.left == 0) {
            self.ranges.pop_front();
            self.finished -= 1;
            self.hint = self.hint.saturating_sub(1);
        }
        if self.finished > COMPACT_AFTER && self.finished > self.ranges.len() / 2 {
            self.ranges.retain(|r| r.left > 0);
            self.finished = 0;
            self.hint = 0;
        }
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
    fn releases_each_task_once_and_forgets_sealed_calls() {
        let mut l = Ledger::default();
        let a = l.new_batch(sink(), true);
        l.add(a, 0, 0, 3);
        l.add(a, 3, 3, 2);
        l.seal(a);
        assert_eq!(l.release(3, 2).map(|d| d.index), Some(3));
        assert!(l.release(3, 1).is_none(), "released twice");
        assert_eq!(l.release(1, 2).map(|d| d.index), Some(1));
        assert_eq!(l.batch_of(0), Some(a));
        assert_eq!(l.release(0, 1).map(|d| d.index), Some(0));
        assert!(l.batches.is_empty() && l.ranges.is_empty());
        assert!(l.release(0, 1).is_none());
    }

    #[test]
    fn compacts_behind_a_long_running_range() {
        let mut l = Ledger::default();
        let slow = l.new_batch(sink(), false);
        l.add(slow, 0, 0, 1);
        for seq in 1..=3 * COMPACT_AFTER as u64 {
            let b = l.new_batch(sink(), false);
            l.add(b, seq, 0, 1);
            assert!(l.release(seq, 1).is_some());
        }
        assert!(l.ranges.len() <= 2 * COMPACT_AFTER, "{}", l.ranges.len());
        assert_eq!(l.batch_of(0), Some(slow));
        assert!(l.release(0, 1).is_some());
        assert!(l.ranges.is_empty() && l.batches.is_empty());
    }

    #[test]
    fn an_open_call_stays_until_sealed() {
        let mut l = Ledger::default();
        let a = l.new_batch(sink(), true);
        assert!(l.any_open());
        l.add(a, 0, 0, 1);
        assert!(l.release(0, 1).is_some());
        assert_eq!(l.batches.len(), 1);
        l.seal(a);
        assert!(!l.any_open() && l.batches.is_empty());
    }
}
