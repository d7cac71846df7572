//! Cancelling: queued jobs by payload or tag, and (by tag) jobs workers already hold, which
//! the scheduler releases at once and, for a running one, stops its worker.

use super::{CancelReason, Job, Outcome, Scheduler, Settled, SlotTable};
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
    /// Cancels every queued (not yet dispatched) job whose payload matches; each of their
    /// tasks is released as [`Outcome::Cancelled`] in its turn. Returns the tasks cancelled.
    pub fn cancel(&mut self, mut matches: impl FnMut(&J) -> bool) -> usize {
        self.cancel_queued(&mut |job| matches(&job.payload))
    }

    /// [`cancel`](Self::cancel) by tag: only queued jobs; what workers hold runs on and is
    /// released as usual (see [`cancel_tagged`](Self::cancel_tagged) to reach it too).
    pub fn withdraw_tagged(&mut self, mut matches: impl FnMut(&K) -> bool) -> usize {
        self.cancel_queued(&mut |job| matches(&job.tag))
    }

    fn cancel_queued(&mut self, matches: &mut dyn FnMut(&Job<J, S, K>) -> bool) -> usize {
        let mut tasks = 0;
        self.queue.for_each_mut(&mut |job| {
            if job.cancelled.is_none() && matches(job) {
                job.cancelled = Some(CancelReason::Cancelled);
                tasks += job.len;
            }
        });
        tasks
    }

    /// Cancels every job whose tag matches, wherever it is: queued jobs as
    /// [`cancel`](Self::cancel) does; a job a worker holds has its unanswered tasks released
    /// as cancelled now (later answers for them are dropped), and a worker whose *running*
    /// job is cancelled is to be killed ([`WorkerCommand::Kill`](super::WorkerCommand::Kill)) and gets no more work.
    /// Returns the tasks cancelled.
    pub fn cancel_tagged(&mut self, mut matches: impl FnMut(&K) -> bool) -> usize {
        let mut tasks = self.cancel_queued(&mut |job| matches(&job.tag));
        for w in self.workers.iter_mut() {
            for (k, job) in w.jobs.iter_mut().enumerate() {
                if job.cancelled || !matches(&job.tag) {
                    continue;
                }
                job.cancelled = true;
                if let Some(seq) = job.next() {
                    tasks += job.left();
                    let settled = Settled {
                        outcome: Outcome::Cancelled(CancelReason::Cancelled),
                        tag: job.tag,
                        offset: job.done(),
                    };
                    // Cannot fail: the slots were reserved at dispatch and are unfilled.
                    let _ = self.order.insert_run(seq, job.left(), settled);
                }
                if k == 0 && !w.doomed {
                    w.doomed = true;
                    w.want_kill = true;
                }
            }
        }
        tasks
    }
}
