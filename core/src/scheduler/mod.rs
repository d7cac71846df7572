//! The sans-IO scheduler: decides which job goes to which worker, and which results go to
//! the user. See `README.md` beside this file for its states and the exactly-once rule.

mod cancel;
mod deadline;
mod query;
mod requeue;
mod restart;
mod results;
mod types;
mod worker;

pub use types::{
    CancelReason, Config, Dispatch, Job, Outcome, Release, Requeue, Settled, WorkerCommand,
    WorkerId, default_chunksize,
};

use crate::error::{ConfigError, SchedulerError, SubmitError};
use crate::order::ResultOrder;
use crate::queue::JobQueue;
use crate::seq::SeqNum;
use core::marker::PhantomData;
use worker::{InFlight, Life};
pub use worker::{SlotTable, WorkerSlot};

/// The types a scheduler carries without holding one of each (variance only).
type Carried<J, R, K, C> = fn(J) -> (R, K, C);

/// Most jobs one worker may hold at once ([`Config::depth`]).
pub const MAX_DEPTH: usize = 64;

/// A pool's scheduler, for up to `W` workers, over a job queue `Q` and a result order `O`.
///
/// It reads no clock and touches no process: the driver tells it what happened with the
/// `handle_*` methods and `submit`/`close`/`abort`/`cancel`, then drains every `poll_*`
/// method until each returns `None`, performs what they say, and loops while anything
/// changed. Order of draining does not matter for correctness; `poll_worker`, then
/// `poll_dispatch`, then `poll_release` gives the lowest latency.
///
/// ```
/// use forkpool_core::{Config, FifoQueue, Job, Outcome, Scheduler, Settled, Unordered, WorkerCommand};
/// type Sched = Scheduler<&'static str, u32, u16,
///     FifoQueue<Job<&'static str, u16>, 8>, Unordered<u16, Settled<u32>, 8>, 2>;
/// let mut s = Sched::new(Config::new(1), FifoQueue::new(), Unordered::new(), 0).unwrap();
/// let Some(WorkerCommand::Spawn(w)) = s.poll_worker() else { panic!() };
/// s.handle_worker_idle(w).unwrap();          // the driver started the process
/// let first = s.submit("job", 1).unwrap();
/// let d = s.poll_dispatch().unwrap();         // send it to d.worker
/// assert_eq!((d.worker, d.first, d.payload), (w, first, "job"));
/// s.handle_result(w, first, 42).unwrap();     // the worker answered
/// let r = s.poll_release().unwrap();
/// assert_eq!((r.seq, r.len, r.outcome), (first, 1, Outcome::Done(42)));
/// ```
///
/// `W` is the most worker slots; they are kept in `T`, by default a `heapless::Vec` of `W`
/// slots inside the scheduler (see [`SlotTable`] for keeping them elsewhere). `K` is the
/// caller's tag for a job ([`submit_tagged`](Self::submit_tagged)), given back with each
/// release of its tasks; `C` is the cause a driver gives for a lost worker
/// ([`handle_worker_lost_because`](Self::handle_worker_lost_because)), carried in the
/// outcome of each task lost with it.
pub struct Scheduler<
    J,
    R,
    S,
    Q,
    O,
    const W: usize,
    K = (),
    C = (),
    T = heapless::Vec<WorkerSlot<S, K>, W>,
> {
    queue: Q,
    order: O,
    workers: T,
    config: Config,
    next_seq: S,
    closed: bool,
    aborted: bool,
    broken: bool,
    restarts: restart::Restarts,
    /// The driver's clock, as last told by `handle_time`.
    now: u64,
    _types: PhantomData<Carried<J, R, K, C>>,
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
    /// A scheduler numbering tasks from `first_seq` (which must be where `order` starts).
    /// Every worker slot starts out wanting a process: drain [`poll_worker`](Self::poll_worker).
    pub fn new(config: Config, queue: Q, order: O, first_seq: S) -> Result<Self, ConfigError> {
        if config.workers == 0 || config.workers > W || config.workers > usize::from(u16::MAX) {
            return Err(ConfigError::Workers {
                asked: config.workers,
                max: W.min(usize::from(u16::MAX)),
            });
        }
        if config.depth == 0 || config.depth > MAX_DEPTH {
            return Err(ConfigError::Depth(config.depth));
        }
        if order.capacity() > S::half_range() {
            return Err(ConfigError::WindowTooLarge);
        }
        if config.max_jobs_per_worker == Some(0) {
            return Err(ConfigError::NoJobsPerWorker);
        }
        if config.max_spawn_failures == 0 {
            return Err(ConfigError::NoSpawnFailures);
        }
        let mut workers = T::default();
        for _ in 0..config.workers {
            if workers.push_slot(WorkerSlot::starting()).is_err() {
                return Err(ConfigError::Workers {
                    asked: config.workers,
                    max: workers.len(),
                });
            }
        }
        Ok(Self {
            queue,
            order,
            workers,
            config,
            next_seq: first_seq,
            closed: false,
            aborted: false,
            broken: false,
            restarts: restart::Restarts::default(),
            now: 0,
            _types: PhantomData,
        })
    }

    /// Queues a job of `len` tasks and returns the first task's sequence number; the job
    /// comes back when the queue is full, the scheduler closed, or `len` is 0 or larger
    /// than the result window (or than `u32::MAX`).
    pub fn submit(&mut self, payload: J, len: usize) -> Result<S, SubmitError<J>>
    where
        K: Default,
    {
        self.submit_tagged(payload, len, K::default(), None)
    }

    /// [`submit`](Self::submit) with a limit on how long the job may run once started (in
    /// the unit of [`handle_time`](Self::handle_time)); see [`poll_expired`](Self::poll_expired).
    pub fn submit_with_timeout(
        &mut self,
        payload: J,
        len: usize,
        timeout: Option<u64>,
    ) -> Result<S, SubmitError<J>>
    where
        K: Default,
    {
        self.submit_tagged(payload, len, K::default(), timeout)
    }

    /// [`submit`](Self::submit) with the caller's `tag` for the job (every [`Release`] of
    /// its tasks carries it, with the task's offset in the job) and an optional limit on
    /// how long it may run once started.
    pub fn submit_tagged(
        &mut self,
        payload: J,
        len: usize,
        tag: K,
        timeout: Option<u64>,
    ) -> Result<S, SubmitError<J>> {
        if self.closed {
            return Err(SubmitError::Closed(payload));
        }
        let Some(next) = self.next_seq.advance(len) else {
            return Err(SubmitError::BadLength(payload));
        };
        if len == 0 || len > self.order.capacity() || u32::try_from(len).is_err() {
            return Err(SubmitError::BadLength(payload));
        }
        let first = self.next_seq;
        let job = Job {
            payload,
            first,
            len,
            cancelled: None,
            timeout,
            tag,
            reserved: false,
        };
        self.queue
            .push(job)
            .map_err(|job| SubmitError::Full(job.payload))?;
        self.next_seq = next;
        Ok(first)
    }

    /// Takes no more submissions; queued and running work still completes, then every
    /// worker is stopped.
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Stops everything now: every queued and running task is released as
    /// [`Outcome::Cancelled`] and every worker process is to be stopped.
    pub fn abort(&mut self) {
        self.closed = true;
        self.aborted = true;
        self.queue
            .for_each_mut(&mut |job| job.cancelled = Some(CancelReason::Aborted));
        for i in 0..self.workers.len() {
            self.fail_in_flight(i, || Outcome::Cancelled(CancelReason::Aborted));
            self.workers[i].doomed = false;
            self.workers[i].want_kill = false;
            let w = &mut self.workers[i];
            // A process exists unless its start is still only wanted; one already due to
            // stop (a retirement not yet polled) must still be stopped.
            w.want_stop = w.want_stop || (w.life != Life::Vacant && !w.want_spawn);
            w.want_spawn = false;
            w.life = Life::Vacant;
        }
    }

    /// The process in slot `worker` is ready: new ones after a `Spawn` command. Reporting a
    /// running worker idle again is harmless.
    pub fn handle_worker_idle(&mut self, worker: WorkerId) -> Result<(), SchedulerError> {
        let budget = self.config.max_jobs_per_worker;
        let w = self.slot(worker)?;
        if w.life == Life::Starting && !w.want_spawn {
            w.life = Life::Running;
            w.budget = budget;
            self.started();
        }
        Ok(())
    }

    /// The process in slot `worker` is gone (died, killed, or spoke nonsense). Each task it
    /// held and had not answered is released as [`Outcome::WorkerLost`] exactly once, and a
    /// replacement is asked for if work remains. Reporting a slot lost twice is harmless.
    pub fn handle_worker_lost(&mut self, worker: WorkerId) -> Result<(), SchedulerError>
    where
        C: Default,
    {
        self.handle_worker_lost_because(worker, C::default())
    }

    /// [`handle_worker_lost`](Self::handle_worker_lost), with the cause each lost task's
    /// outcome carries ([`Outcome::WorkerLost`]).
    pub fn handle_worker_lost_because(
        &mut self,
        worker: WorkerId,
        cause: C,
    ) -> Result<(), SchedulerError> {
        self.slot(worker)?;
        let i = worker.index();
        if self.workers[i].life == Life::Starting && !self.workers[i].want_spawn {
            return self.handle_spawn_failed(worker);
        }
        self.fail_in_flight(i, || Outcome::WorkerLost(worker, cause.clone()));
        let w = &mut self.workers[i];
        w.want_stop = false;
        w.want_kill = false;
        w.doomed = false;
        if w.life == Life::Running {
            w.life = Life::Starting;
            w.want_spawn = true;
        }
        Ok(())
    }

    /// The next worker process to start or stop.
    #[must_use]
    pub fn poll_worker(&mut self) -> Option<WorkerCommand> {
        // Jobs a lost worker gave back are work still to do.
        let returned = self.workers.iter().any(|w| w.returned > 0);
        let draining = self.closed && self.queue.is_empty() && !returned;
        for (i, w) in self.workers.iter_mut().enumerate() {
            let id = WorkerId(i as u16);
            if draining && w.life == Life::Running && w.is_idle() {
                w.life = Life::Vacant;
                w.want_stop = true;
            }
            if draining && w.want_spawn {
                w.want_spawn = false;
                w.life = Life::Vacant;
            }
            if w.want_kill {
                w.want_kill = false;
                return Some(WorkerCommand::Kill(id));
            }
            if w.want_stop {
                w.want_stop = false;
                return Some(WorkerCommand::Stop(id));
            }
            if w.want_spawn && w.spawn_at <= self.now {
                w.want_spawn = false;
                return Some(WorkerCommand::Spawn(id));
            }
        }
        None
    }

    /// The next job to send, and to which worker. Cancelled jobs at the front of the queue
    /// are turned into cancelled releases here, as the result window allows.
    #[must_use]
    pub fn poll_dispatch(&mut self) -> Option<Dispatch<J, S>> {
        loop {
            let job = self.queue.front()?;
            let (first, len, cancelled, tag) = (job.first, job.len, job.cancelled, job.tag);
            let reserved = job.reserved;
            if let Some(reason) = cancelled {
                if !reserved && !self.order.try_reserve(first, len) {
                    return None;
                }
                let _ = self.queue.pop();
                let settled = Settled {
                    outcome: Outcome::Cancelled(reason),
                    tag,
                    offset: 0,
                };
                // Cannot fail: the slots were reserved just above.
                let _ = self.order.insert_run(first, len, settled);
                continue;
            }
            let depth = self.pipeline_limit();
            let worker = (0..self.workers.len())
                .filter(|&i| self.workers[i].has_room(depth))
                .min_by_key(|&i| self.workers[i].jobs.len())?;
            if !reserved && !self.order.try_reserve(first, len) {
                return None;
            }
            let job = self.queue.pop()?;
            let now = self.now;
            let w = &mut self.workers[worker];
            let held = InFlight::new(first, len, job.timeout, job.tag);
            if w.jobs.is_empty() {
                w.deadline = held.deadline_from(now);
            }
            // Cannot fail: has_room checked jobs.len() < depth <= MAX_DEPTH.
            let _ = w.jobs.push_back(held);
            if let Some(b) = w.budget.as_mut() {
                *b -= 1;
            }
            return Some(Dispatch {
                worker: WorkerId(worker as u16),
                first,
                len,
                payload: job.payload,
            });
        }
    }

    fn slot(&mut self, worker: WorkerId) -> Result<&mut WorkerSlot<S, K>, SchedulerError> {
        self.workers
            .get_mut(worker.index())
            .ok_or(SchedulerError::UnknownWorker(worker))
    }

    /// How many jobs a worker may hold right now: one more than the queued jobs per worker,
    /// capped by [`Config::depth`], once at least [`Config::pipeline_from`] wait per worker. Deep queues are pipelined (hiding round trips for tiny
    /// tasks); when fewer jobs wait than there are workers, only idle workers get work, so
    /// a job never waits behind another on a busy worker while the queue is shallow.
    fn pipeline_limit(&self) -> usize {
        let per_worker = self.queue.len() / self.workers.len().max(1);
        if per_worker < self.config.pipeline_from {
            return 1;
        }
        per_worker.saturating_add(1).min(self.config.depth)
    }

    fn maybe_retire(&mut self, i: usize) {
        let w = &mut self.workers[i];
        if w.life == Life::Running && w.is_idle() && w.budget == Some(0) {
            w.want_stop = true;
            w.want_spawn = true;
            w.life = Life::Starting;
        }
    }
}

#[cfg(test)]
mod tests;
