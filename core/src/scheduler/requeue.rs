//! Exact losses: a worker that is lost when only its front job had started gives the jobs
//! behind it back, to run once elsewhere, instead of failing them.
//!
//! A driver may use [`Scheduler::handle_worker_lost_exact`] when it knows that a lost worker
//! started nothing after the job it was running: its worker protocol makes every finished
//! task's result reach the driver (or outlive the process) before the next task starts.
//! Deep pipelines then cost nothing in crash granularity: the running job's unanswered
//! tasks fail; every job behind it runs again, with its sequence numbers, tag and reserved
//! result slots, so ordered release and the exactly-once rule hold.

use super::worker::Life;
use super::{CancelReason, Job, Outcome, Requeue, Scheduler, Settled, SlotTable, WorkerId};
use crate::error::{SchedulerError, SubmitError};
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
    /// The process in slot `worker` is gone, and the driver knows the last job it started:
    /// `started`, that job's first sequence number or its next unanswered one (`None`: it
    /// started none of the jobs it holds). Every job it holds up to that one has its unanswered tasks released
    /// as [`Outcome::WorkerLost`] with `cause`; every job after it never started and comes
    /// back through [`poll_requeue`](Self::poll_requeue) to run again. A replacement is
    /// asked for as with [`handle_worker_lost_because`](Self::handle_worker_lost_because).
    pub fn handle_worker_lost_exact(
        &mut self,
        worker: WorkerId,
        cause: C,
        started: Option<S>,
    ) -> Result<(), SchedulerError> {
        self.slot(worker)?;
        let i = worker.index();
        if self.workers[i].life == Life::Starting && !self.workers[i].want_spawn {
            return self.handle_spawn_failed(worker);
        }
        // Held jobs up to the one that started ran (or may have): lost. Jobs cancelled while
        // held were released already.
        // `started` names a job by its first task, or by its next unanswered one.
        let ran = started.and_then(|s| {
            self.workers[i]
                .jobs
                .iter()
                .position(|j| j.first == s || j.next() == Some(s))
        });
        let upto = ran.map_or(0, |k| k + 1);
        for _ in 0..upto {
            let Some(job) = self.workers[i].jobs.pop_front() else {
                break;
            };
            if let Some(seq) = job.next().filter(|_| !job.cancelled) {
                let settled = Settled {
                    outcome: Outcome::WorkerLost(worker, cause.clone()),
                    tag: job.tag,
                    offset: job.done(),
                };
                // Cannot fail: the slots were reserved at dispatch and are unfilled.
                let _ = self.order.insert_run(seq, job.left(), settled);
            }
        }
        let w = &mut self.workers[i];
        w.deadline = None;
        // The rest never started: they come back (but for those cancelled already).
        let mut kept = 0u8;
        for _ in 0..w.jobs.len() {
            if let Some(job) = w.jobs.pop_front()
                && !job.cancelled
            {
                let _ = w.jobs.push_back(job);
                kept += 1;
            }
        }
        w.returned = kept;
        w.want_stop = false;
        w.want_kill = false;
        w.doomed = false;
        if w.life == Life::Running {
            w.life = Life::Starting;
            w.want_spawn = true;
        }
        Ok(())
    }

    /// The running job of slot `worker` passed its deadline ([`poll_expired`]): its
    /// unanswered tasks are released now as [`Outcome::WorkerLost`] with `cause`, and the
    /// slot takes no more work. The driver stops the process, and reports it once it is
    /// gone, exactly ([`handle_worker_lost_exact`]) if it can tell what it started.
    ///
    /// [`poll_expired`]: Self::poll_expired
    /// [`handle_worker_lost_exact`]: Self::handle_worker_lost_exact
    pub fn expire(&mut self, worker: WorkerId, cause: C) -> Result<(), SchedulerError> {
        let w = self.slot(worker)?;
        w.deadline = None;
        w.doomed = true;
        let Some(job) = w.jobs.front_mut().filter(|j| !j.cancelled) else {
            return Ok(());
        };
        job.cancelled = true;
        let (seq, left, tag, offset) = (job.next(), job.left(), job.tag, job.done());
        if let Some(seq) = seq {
            let settled = Settled {
                outcome: Outcome::WorkerLost(worker, cause),
                tag,
                offset,
            };
            // Cannot fail: the slots were reserved at dispatch and are unfilled.
            let _ = self.order.insert_run(seq, left, settled);
        }
        Ok(())
    }

    /// The next job a lost worker gave back, newest first: resubmit each as it comes
    /// ([`resubmit`](Self::resubmit) puts it at the front of the queue), so they run again
    /// in their first order, before anything submitted since.
    #[must_use]
    pub fn poll_requeue(&mut self) -> Option<Requeue<S, K>> {
        let (i, w) = self
            .workers
            .iter_mut()
            .enumerate()
            .find(|(_, w)| w.returned > 0)?;
        let job = w.jobs.pop_back()?;
        w.returned -= 1;
        Some(Requeue {
            worker: WorkerId(i as u16),
            first: job.first,
            len: job.len(),
            tag: job.tag,
            timeout: job.timeout(),
        })
    }

    /// Queues a returned job again, at the front, with its payload. After `abort` it is
    /// released as cancelled in its turn.
    pub fn resubmit(&mut self, r: Requeue<S, K>, payload: J) -> Result<(), SubmitError<J>> {
        let job = Job {
            payload,
            first: r.first,
            len: r.len,
            cancelled: if self.aborted {
                Some(CancelReason::Aborted)
            } else if self.broken {
                Some(CancelReason::Broken)
            } else {
                None
            },
            timeout: r.timeout,
            tag: r.tag,
            reserved: true,
        };
        self.queue
            .push_front(job)
            .map_err(|job| SubmitError::Full(job.payload))
    }

    /// A returned job the driver cannot run again (it has no payload for it): its tasks are
    /// released as lost with `cause`.
    pub fn fail_requeue(&mut self, r: Requeue<S, K>, cause: C) {
        let settled = Settled {
            outcome: Outcome::WorkerLost(r.worker, cause),
            tag: r.tag,
            offset: 0,
        };
        // Cannot fail: the slots were reserved at its first dispatch and are unfilled.
        let _ = self.order.insert_run(r.first, r.len, settled);
    }
}
