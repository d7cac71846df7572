//! Read-only questions the driver may ask the [`Scheduler`] between events.

use super::WorkerSlot;
use super::worker::Life;
use super::{Config, Job, Scheduler, Settled, SlotTable, WorkerId};
use crate::order::ResultOrder;
use crate::queue::JobQueue;
use crate::seq::SeqNum;

impl<J, R, S, Q, O, const W: usize, K, C, T> Scheduler<J, R, S, Q, O, W, K, C, T>
where
    S: SeqNum,
    K: Copy,
    C: Clone,
    Q: JobQueue<Job<J, S, K>>,
    O: ResultOrder<S, Settled<R, K, C>>,
    T: SlotTable<S, K>,
{
    /// Whether `close` (or `abort`) was called, or the scheduler broke.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether too many worker starts failed in a row.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Whether the scheduler is closed and every task has been released.
    pub fn is_finished(&self) -> bool {
        self.closed
            && self.queue.is_empty()
            && self.workers.iter().all(WorkerSlot::is_idle)
            && self.order.held() == 0
            && self.order.reserved() == 0
    }

    /// Jobs waiting to be dispatched.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Jobs held by workers.
    pub fn in_flight(&self) -> usize {
        self.workers.iter().map(|w| w.jobs.len()).sum()
    }

    /// The unanswered tasks worker `w` holds, as `(first, count)` runs, oldest first.
    pub fn held_by(&self, w: WorkerId) -> impl Iterator<Item = (S, usize)> + '_ {
        self.workers
            .get(w.index())
            .into_iter()
            .flat_map(|worker| worker.jobs.iter())
            .filter_map(|j| j.next().map(|s| (s, j.left())))
    }

    /// Whether slot `w` waits for the process it asked for ([`WorkerCommand::Spawn`]
    /// polled, not yet reported ready or failed). A driver that starts processes outside
    /// its lock asks this before it installs one: a start that is no longer wanted (the
    /// scheduler was aborted meanwhile) is stopped instead.
    ///
    /// [`WorkerCommand::Spawn`]: super::WorkerCommand::Spawn
    pub fn awaits_start(&self, w: WorkerId) -> bool {
        self.workers
            .get(w.index())
            .is_some_and(|s| s.life == Life::Starting && !s.want_spawn)
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The result order, to inspect its fill.
    pub fn order(&self) -> &O {
        &self.order
    }
}
