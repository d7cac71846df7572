//! Restart intensity: how failed worker starts are retried, and when the scheduler gives up.
//!
//! A failed start (the process could not be created, or died before it was ready) is retried
//! after a back-off that doubles with each failure in a row, starting at
//! [`Config::restart_backoff`]. When [`Config::max_spawn_failures`] starts have failed in a
//! row, the first of them no longer than [`Config::restart_window`] before the last, the
//! scheduler is broken. A start that succeeds ends the run.

use super::worker::Life;
use super::{CancelReason, Config, Job, Scheduler, Settled, SlotTable, WorkerId};
use crate::error::SchedulerError;
use crate::order::ResultOrder;
use crate::queue::JobQueue;
use crate::seq::SeqNum;

/// The current run of failed starts.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Restarts {
    /// Failed starts in a row.
    count: u32,
    /// When the first of them failed.
    since: u64,
}

impl Restarts {
    /// Records a failure at `now`; returns whether the limit is reached.
    fn fail(&mut self, now: u64, config: &Config) -> bool {
        let aged_out = config
            .restart_window
            .is_some_and(|w| now.saturating_sub(self.since) > w);
        if self.count == 0 || aged_out {
            self.count = 0;
            self.since = now;
        }
        self.count += 1;
        self.count >= config.max_spawn_failures
    }

    /// How long to wait before the next start: `base`, doubled per failure in the run.
    fn backoff(&self, base: u64) -> u64 {
        let doublings = self.count.saturating_sub(1).min(16);
        base.saturating_mul(1 << doublings)
    }
}

impl<J, R, S, Q, O, const W: usize, K, C, T> Scheduler<J, R, S, Q, O, W, K, C, T>
where
    S: SeqNum,
    K: Copy,
    C: Clone,
    Q: JobQueue<Job<J, S, K>>,
    O: ResultOrder<S, Settled<R, K, C>>,
    T: SlotTable<S, K>,
{
    /// Starting a process for slot `worker` failed. It is retried (after the back-off of
    /// [`Config::restart_backoff`], see [`next_deadline`](Self::next_deadline)) until
    /// [`Config::max_spawn_failures`] starts in a row have failed within
    /// [`Config::restart_window`]; then the scheduler is broken: it takes no more work and
    /// releases everything queued as cancelled.
    pub fn handle_spawn_failed(&mut self, worker: WorkerId) -> Result<(), SchedulerError> {
        let w = self.slot(worker)?;
        if w.life != Life::Starting {
            return Ok(());
        }
        let (now, config) = (self.now, self.config);
        if self.restarts.fail(now, &config) {
            // This start made no process; others asked for may have (`break_down`).
            self.workers[worker.index()].life = Life::Vacant;
            self.break_down();
        } else if !self.closed || !self.queue.is_empty() {
            let at = now.saturating_add(self.restarts.backoff(config.restart_backoff));
            let w = &mut self.workers[worker.index()];
            w.want_spawn = true;
            w.spawn_at = at;
        } else {
            self.workers[worker.index()].life = Life::Vacant;
        }
        Ok(())
    }

    /// Too many failed starts: the scheduler is broken and closed, queued jobs are cancelled
    /// with `CancelReason::Broken`.
    fn break_down(&mut self) {
        self.broken = true;
        self.closed = true;
        self.queue
            .for_each_mut(&mut |job| job.cancelled = Some(CancelReason::Broken));
        // Starts not made yet are dropped. A start already asked for (its `Spawn` polled)
        // may have made a process: it stays `Starting`, so that its outcome is still taken
        // and the process stopped like any other (`abort` stops it; once ready, a closed
        // scheduler drains it).
        for w in self.workers.iter_mut() {
            if w.life == Life::Starting && w.want_spawn {
                w.life = Life::Vacant;
                w.want_spawn = false;
            }
        }
    }

    /// A start succeeded: the run of failures is over.
    pub(crate) fn started(&mut self) {
        self.restarts = Restarts::default();
    }

    /// The earliest time a failed start is retried, if one waits.
    pub(crate) fn next_restart(&self) -> Option<u64> {
        self.workers
            .iter()
            .filter(|w| w.want_spawn && w.spawn_at > self.now)
            .map(|w| w.spawn_at)
            .min()
    }
}
