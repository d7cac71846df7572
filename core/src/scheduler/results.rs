//! Results: a worker's answers (one task's, or a run of them) become releases, in the
//! order the `ResultOrder` keeps; a lost worker's unanswered tasks are released as lost.

use super::{Job, Outcome, Release, Scheduler, Settled, SlotTable, WorkerId};
use crate::error::SchedulerError;
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
    /// The worker answered for task `seq`. A result out of turn is refused; the driver
    /// should then treat the worker as faulty (stop it and report it lost).
    pub fn handle_result(
        &mut self,
        worker: WorkerId,
        seq: S,
        result: R,
    ) -> Result<(), SchedulerError> {
        self.handle_results(worker, seq, 1, result)
    }

    /// The worker answered the `len` tasks from `first` at once, with one `result` standing
    /// for all of them (say, their values concatenated); it is released as one run of `len`.
    /// The run must be the next unanswered tasks of the worker's oldest job, all within that
    /// job; anything else is refused like a result out of turn.
    ///
    /// ```
    /// use forkpool_core::{Config, FifoQueue, Job, Outcome, Scheduler, Settled, Unordered, WorkerCommand};
    /// type Sched = Scheduler<(), &'static str, u32,
    ///     FifoQueue<Job<(), u32>, 4>, Unordered<u32, Settled<&'static str>, 8>, 1>;
    /// let mut s = Sched::new(Config::new(1), FifoQueue::new(), Unordered::new(), 0).unwrap();
    /// let Some(WorkerCommand::Spawn(w)) = s.poll_worker() else { panic!() };
    /// s.handle_worker_idle(w).unwrap();
    /// s.submit((), 5).unwrap();                       // one chunk of 5 tasks
    /// let _ = s.poll_dispatch().unwrap();
    /// s.handle_results(w, 0, 3, "0 to 2").unwrap();   // three answered together
    /// assert!(s.handle_results(w, 3, 3, "too many").is_err());
    /// let r = s.poll_release().unwrap();
    /// assert_eq!((r.seq, r.len, r.outcome), (0, 3, Outcome::Done("0 to 2")));
    /// ```
    pub fn handle_results(
        &mut self,
        worker: WorkerId,
        first: S,
        len: usize,
        result: R,
    ) -> Result<(), SchedulerError> {
        let now = self.now;
        let w = self.slot(worker)?;
        let Some(job) = w.jobs.front_mut() else {
            return Err(SchedulerError::UnexpectedResult(worker));
        };
        if job.next() != Some(first) || len == 0 || len > job.left() {
            return Err(SchedulerError::UnexpectedResult(worker));
        }
        let (tag, offset, cancelled) = (job.tag, job.done(), job.cancelled);
        job.answer(len);
        if job.left() == 0 {
            w.jobs.pop_front();
            w.deadline = w.jobs.front().and_then(|next| next.deadline_from(now));
        }
        if !cancelled {
            let settled = Settled {
                outcome: Outcome::Done(result),
                tag,
                offset,
            };
            self.order
                .insert_run(first, len, settled)
                .map_err(|_| SchedulerError::UnexpectedResult(worker))?;
        }
        self.maybe_retire(worker.index());
        Ok(())
    }

    /// The next result for the user, in the order `O` keeps: one task's, or a run's.
    #[must_use]
    pub fn poll_release(&mut self) -> Option<Release<S, R, K, C>> {
        self.order.pop().map(|(seq, len, settled)| Release {
            seq,
            len,
            outcome: settled.outcome,
            tag: settled.tag,
            offset: settled.offset,
        })
    }

    /// Releases every unanswered task of slot `i` (those not cancelled already) with
    /// `outcome`: lost with the worker, or cancelled.
    pub(super) fn fail_in_flight(&mut self, i: usize, outcome: impl Fn() -> Outcome<R, C>) {
        self.workers[i].deadline = None;
        while let Some(job) = self.workers[i].jobs.pop_front() {
            if job.cancelled {
                continue;
            }
            if let Some(seq) = job.next() {
                let settled = Settled {
                    outcome: outcome(),
                    tag: job.tag,
                    offset: job.done(),
                };
                // Cannot fail: the slots were reserved at dispatch and are unfilled.
                let _ = self.order.insert_run(seq, job.left(), settled);
            }
        }
    }
}
