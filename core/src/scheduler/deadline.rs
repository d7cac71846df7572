//! Deadlines: how long a job may run once started. The scheduler reads no clock: the driver
//! tells it the time (any monotonic unit, e.g. milliseconds) and asks which workers ran past
//! a deadline; it kills those and reports them lost.

use super::{Job, Scheduler, Settled, SlotTable, WorkerId};
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
    /// The driver's clock now; call before draining the `poll_*` methods.
    pub fn handle_time(&mut self, now: u64) {
        self.now = self.now.max(now);
    }

    /// A worker whose running job passed its deadline. The driver must stop it and report it
    /// with [`handle_worker_lost`](Self::handle_worker_lost) (which releases its tasks).
    #[must_use]
    pub fn poll_expired(&self) -> Option<WorkerId> {
        self.workers.iter().enumerate().find_map(|(i, w)| {
            let deadline = w.deadline?;
            (deadline <= self.now).then_some(WorkerId(i as u16))
        })
    }

    /// The earliest time the scheduler wants to be told ([`handle_time`](Self::handle_time)):
    /// a running job's deadline, or the end of a failed start's back-off. Bounds the
    /// driver's wait.
    pub fn next_deadline(&self) -> Option<u64> {
        let jobs = self.workers.iter().filter_map(|w| w.deadline);
        jobs.chain(self.next_restart()).min()
    }
}
