//! The pool's state behind its lock, and the I/O that carries out what the core's scheduler
//! decides. No decision is made here: every `poll_*` answer is simply performed.

use super::deliveries::Deliveries;
use super::effects::Effects;
use super::departures::{Dying, Loss, Lost, StartFailure};
use super::ledger::{BatchId, Ledger, Tag};
use super::jobs::{Jobs, TaskJob};
use forkpool_core::{GrowableUnordered, HeapSlots, VecQueue};
use super::sink::{Raw, Sink};
use crate::error::{Error, Result};
use super::transport::{Init, Transport};
use crate::wire::RawConn;
use forkpool_core::{Config, ConfigError, Job, Scheduler, Settled, WorkerCommand, WorkerId};
use nix::unistd::Pid;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Most worker processes in one pool.
pub const MAX_PROCESSES: usize = 256;

/// Sends what each socket's queue holds, as far as the socket takes it now, outside the
/// pool's lock. Returns whether the driver must look: a socket is full (the driver waits
/// until it takes more) or broken (the driver finds out why).
pub(crate) fn send_unflushed(conns: &[Arc<RawConn>]) -> bool {
    let mut wake = false;
    for conn in conns {
        wake |= !matches!(conn.flush(), Ok(true));
    }
    wake
}

type Sched = Scheduler<
    TaskJob,
    Result<Raw>,
    u64,
    VecQueue<Job<TaskJob, u64, Tag>>,
    GrowableUnordered<u64, Settled<Result<Raw>, Tag, Lost>>,
    MAX_PROCESSES,
    Tag,
    Lost,
    HeapSlots<u64, Tag>,
>;

/// Where the pool is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Phase {
    Running,
    Closed,
    Terminated,
}

pub(crate) struct Slot {
    /// The worker's id: a pid, or a thread id (see `Transport`).
    pub pid: Pid,
    /// The worker's socket, with its queue of packets not yet sent.
    pub conn: Arc<RawConn>,
    /// Jobs a caller dispatched while the worker was busy, for the driver to send.
    pub(super) held: Jobs,
    /// The process as a descriptor, readable once it has exited (see `sys::pidfd_open`);
    /// `None` on kernels without pidfds (end-of-file on `conn` then tells alone).
    pub exit: Option<Arc<OwnedFd>>,
    /// Its shared result log (see `protocol::log`): with it, a loss is exact.
    pub(super) log: Option<OwnedFd>,
    /// The jobs sent to it and not yet answered, by first sequence number, kept (with
    /// duplicates of their descriptors) to run again elsewhere if it dies before starting
    /// them. Only for a worker with a log.
    pub(super) sent: std::collections::VecDeque<(u64, TaskJob)>,
    /// Byte strings read from its memory for the results it is sending (see
    /// `protocol::piece`), until the message that places them.
    pub(super) pieces: Vec<Vec<u8>>,
    /// Large jobs it was told to read from this process's memory and has not answered for,
    /// oldest first (see `protocol::run_far`).
    pub(super) lent: std::collections::VecDeque<super::jobs::Lent>,
    /// Set once the worker has left its slot (stopped, lost or terminated). The driver reads
    /// sockets without the lock, from a list made before: a hang-up it then sees on this
    /// worker's socket is not a death to look into, but the end of a departure whoever took
    /// the slot handles (see `driver::collect`).
    pub(super) vacated: Arc<AtomicBool>,
}

pub(crate) struct State {
    pub(super) sched: Sched,
    pub slots: Vec<Option<Slot>>,
    /// The calls in flight, and which task belongs to which.
    pub(super) ledger: Ledger,
    pub(super) init: Option<Arc<Init>>,
    pub(super) last_spawn_error: Option<StartFailure>,
    /// Processes that left their slot and are not reaped yet.
    pub(crate) dying: Vec<Dying>,
    /// How long a terminated process has between `SIGTERM` and `SIGKILL`.
    pub(super) kill_grace: std::time::Duration,
    pub phase: Phase,
    /// Time zero of the scheduler's clock.
    epoch: std::time::Instant,
    /// Bumped whenever a slot's process changes, so a caller that pumped knows whether the
    /// driver must look at the sockets again.
    pub(super) generation: u64,
    /// Whether the driver thread is between two waits: it pumps under the lock before it
    /// waits again, so a caller may leave jobs to it (see `outbox`). Set by the driver
    /// without the lock when its wait ends, cleared under the lock after its pump.
    pub(crate) driver_awake: Arc<AtomicBool>,
    /// Whether `phase` is `Running`, readable without the lock (see `deferred.rs`).
    pub(crate) running: Arc<AtomicBool>,
    /// Calls left for the driver that the pool no longer took: the next pump fails them.
    pub(super) refused: Vec<Arc<dyn Sink>>,
    /// The jobs of one dispatch round, by slot (kept between rounds, empty outside one).
    pub(super) outbox: Vec<Jobs>,
    /// Whether a job with a time limit was ever submitted (see `pump_as`).
    timed: bool,
    /// How workers are started, reached and stopped (processes or threads).
    pub(super) transport: Arc<dyn Transport>,
    /// What to do once the lock is released (sends, starts, collections).
    pub(super) effects: Effects,
    /// Workers being started outside the lock (taken, not installed yet).
    pub(super) starting: usize,
    /// This pool's key for the tags its function addresses travel with.
    pub(super) key: u64,
    /// Tasks and workers counted since the pool started (for `Pool::stats`).
    pub(super) counts: super::stats::Counts,
    /// Whether workers die of the terminal's `SIGINT` (and such a death terminates the
    /// pool), see `PoolBuilder::terminate_on_interrupt`.
    pub(super) interrupt: bool,
    /// Once the pool is dropped (with a transport that reaps on its own), which slots' workers
    /// were idle then: stopped workers go to the transport to be reaped without the driver
    /// waiting for them to exit, and idle ones are not even signalled (see `exits.rs`).
    pub(super) dropped: Option<Vec<bool>>,
    /// Whether workers read large jobs from this process's memory (until one could not).
    pub(super) lends_jobs: bool,
    /// Large jobs' items workers have read, to free once the lock is released.
    pub(super) let_go: Vec<super::jobs::LentItems>,
}

/// The error a configuration the core refuses gives: `InvalidArgument`, saying which limit.
fn invalid(e: ConfigError) -> Error {
    const { assert!(MAX_PROCESSES == 256 && forkpool_core::scheduler::MAX_DEPTH == 64) };
    Error::InvalidArgument(match e {
        ConfigError::Workers { .. } => "a pool needs between 1 and 256 processes",
        ConfigError::Depth(_) => "pipeline depth must be between 1 and 64",
        ConfigError::NoJobsPerWorker => "maxtasksperchild must be at least 1",
        ConfigError::NoSpawnFailures => "max_restarts needs at least 1",
        _ => "the scheduler refused this configuration",
    })
}

impl State {
    pub(crate) fn new(
        config: Config,
        init: Option<Init>,
        kill_grace: std::time::Duration,
        interrupt: bool,
        transport: Box<dyn Transport>,
    ) -> Result<Self> {
        let transport: Arc<dyn Transport> = Arc::from(transport);
        let sched = Sched::new(config, VecQueue::new(), GrowableUnordered::new(), 0)
            .map_err(invalid)?;
        Ok(Self {
            sched,
            slots: (0..config.workers).map(|_| None).collect(),
            ledger: Ledger::default(),
            init: init.map(Arc::new),
            last_spawn_error: None,
            dying: Vec::new(),
            kill_grace,
            phase: Phase::Running,
            epoch: std::time::Instant::now(),
            generation: 0,
            driver_awake: Arc::new(AtomicBool::new(false)),
            running: Arc::new(AtomicBool::new(true)),
            refused: Vec::new(),
            outbox: (0..config.workers).map(|_| Jobs::default()).collect(),
            timed: false,
            effects: Effects::default(),
            starting: 0,
            key: crate::owner::new_key(),
            counts: Default::default(),
            interrupt,
            dropped: None,
            lends_jobs: transport.reads_worker_memory(),
            let_go: Vec::new(),
            transport,
        })
    }

    /// Registers a batch; `open` for one that submits more later.
    pub(crate) fn new_batch(&mut self, sink: Arc<dyn Sink>, open: bool) -> BatchId {
        self.ledger.new_batch(sink, open)
    }

    /// Queues jobs of registered batch `batch`. If the scheduler refuses one (the pool is
    /// terminated), the batch is dropped as a whole; the pump that follows settles what
    /// that frees.
    pub(crate) fn submit(
        &mut self,
        batch: BatchId,
        jobs: impl IntoIterator<Item = TaskJob>,
    ) -> Result<()> {
        for job in jobs {
            let (index, n, timeout) = (job.index, job.n as usize, job.timeout_ms);
            self.timed |= timeout.is_some();
            let tag = Tag { batch, index };
            if self.sched.submit_tagged(job, n, tag, timeout).is_err() {
                self.close_batch(batch);
                return Err(Error::PoolNotRunning);
            }
            self.counts.submitted += n as u64;
            self.ledger.add(batch, n);
        }
        Ok(())
    }

    /// The batch is complete: no more tasks come; forget it once nothing is pending.
    pub(crate) fn seal_batch(&mut self, batch: BatchId) {
        self.ledger.seal(batch);
    }

    /// The batch's owner is gone: cancel what is queued (what runs finishes unseen);
    /// forget it once nothing is pending.
    pub(crate) fn close_batch(&mut self, batch: BatchId) {
        self.sched.withdraw_tagged(|t| t.batch == batch);
        self.ledger.seal(batch);
    }

    pub(crate) fn close(&mut self) {
        if self.phase == Phase::Running {
            self.phase = Phase::Closed;
        }
        self.running.store(false, Ordering::SeqCst);
    }

    pub(crate) fn terminate(&mut self) {
        self.phase = Phase::Terminated;
        self.running.store(false, Ordering::SeqCst);
        self.sched.abort();
        self.effects.cancel_starts();
    }

    /// [`terminate`](Self::terminate) for a pool being dropped: nobody will wait for its
    /// workers to exit, so they are handed to the transport to reap once stopped.
    pub(crate) fn terminate_for_drop(&mut self) {
        if self.transport.reaps_on_its_own() {
            let idle = (0..self.slots.len())
                .map(|i| self.sched.held_by(WorkerId(i as u16)).next().is_none())
                .collect();
            self.dropped = Some(idle);
        }
        self.terminate();
    }

    /// Whether the driver has nothing left to do.
    pub(crate) fn finished(&self) -> bool {
        self.sched.is_finished()
            && self.slots.iter().all(Option::is_none)
            && self.dying.is_empty()
            && self.starting == 0
    }

    /// Performs every command, dispatch and release the scheduler has, until none is left;
    /// sends the jobs callers held back (the driver's pump).
    pub(crate) fn pump(&mut self, out: &mut Deliveries) {
        self.pump_as(out, false, true);
    }

    /// A pump from a caller (`from_caller`) or the driver; `clock`: the scheduler is told
    /// the time first (see [`pump_from_caller`](Self::pump_from_caller)).
    fn pump_as(&mut self, out: &mut Deliveries, from_caller: bool, clock: bool) {
        for sink in self.refused.drain(..) {
            out.push(sink, 0, Err(Error::PoolNotRunning));
        }
        if clock {
            self.sched.handle_time(self.now_ms());
        }
        loop {
            if self.phase == Phase::Closed && !self.ledger.any_open() {
                self.sched.close();
            }
            let mut moved = false;
            while let Some(w) = self.sched.poll_expired() {
                moved = true;
                self.lose(w.index(), Loss::TimedOut);
            }
            while let Some(cmd) = self.sched.poll_worker() {
                moved = true;
                match cmd {
                    WorkerCommand::Spawn(w) => self.effects.start(w),
                    WorkerCommand::Stop(w) => self.stop(w.index()),
                    // The task it runs was cancelled (and released): stop it at once.
                    WorkerCommand::Kill(w) => self.lose(w.index(), Loss::Cancelled),
                }
            }
            moved |= self.dispatch(from_caller);
            while let Some(r) = self.sched.poll_release() {
                moved = true;
                self.route(r, out);
            }
            if !moved {
                return;
            }
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// How long the driver may wait before a running task's deadline passes.
    pub(crate) fn until_next_deadline(&self) -> Option<std::time::Duration> {
        let deadline = self.sched.next_deadline()?;
        Some(std::time::Duration::from_millis(
            deadline.saturating_sub(self.now_ms()),
        ))
    }

    pub(super) fn take_slot(&mut self, i: usize) -> Option<Slot> {
        self.generation += 1;
        let slot = self.slots[i].take();
        if let Some(s) = &slot {
            s.vacated.store(true, Ordering::SeqCst);
        }
        slot
    }

    /// [`pump`](Self::pump) from a caller's thread right after it submitted, so work goes
    /// out without a detour through the driver thread. Returns whether the driver must be
    /// woken: processes changed, or a task now runs against a deadline sooner than any the
    /// driver may be timing (it computes its wait before it sleeps).
    pub(crate) fn pump_from_caller(&mut self, out: &mut Deliveries) -> bool {
        let generation = self.generation;
        let deadline = self.sched.next_deadline();
        // The scheduler's decisions depend on the time only with jobs with a time limit (a
        // deadline starts when one is dispatched) or a deadline or back-off pending:
        // otherwise the clock read (25 ns here) is skipped, and no deadline can come of
        // this pump. The driver tells the time every turn.
        let clocked = self.timed || deadline.is_some();
        self.pump_as(out, true, clocked);
        let sooner = clocked
            && match (deadline, self.sched.next_deadline()) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(before), Some(now)) => now < before,
            };
        let look = self.effects.need_driver();
        self.generation != generation || sooner || look
    }

    /// Marks a worker's socket as holding packets to send once the lock is released.
    pub(super) fn mark_unflushed(&mut self, conn: &Arc<RawConn>) {
        self.effects.send(conn);
    }

    /// The sockets with packets queued since the last call, for [`send_unflushed`].
    pub(crate) fn take_unflushed(&mut self) -> Vec<Arc<RawConn>> {
        self.effects.take_sends()
    }

    /// The workers to collect, to hand to the transport without the lock
    /// ([`Transport::release`]).
    pub(crate) fn take_releases(&mut self) -> (Arc<dyn Transport>, Vec<(Pid, bool)>) {
        (
            Arc::clone(&self.transport),
            self.effects.take_releases(),
        )
    }

    /// Collects the worker in slot `i` and says how it ended (it died; while the pool
    /// starts only, see [`start_here`](Self::start_here)).
    pub(crate) fn exit_cause_of(&self, i: usize) -> crate::error::ExitCause {
        match &self.slots[i] {
            Some(slot) => self.transport.exit_cause(slot.pid),
            None => crate::error::ExitCause::Unknown,
        }
    }

    /// What the pool is doing and has done (`Pool::stats`).
    pub(crate) fn stats(&self) -> super::stats::PoolStats {
        let running = (0..self.slots.len())
            .flat_map(|i| self.sched.held_by(WorkerId(i as u16)))
            .map(|(_, left)| left)
            .sum();
        let workers = self.slots.iter().flatten().count();
        self.counts.snapshot(running, workers, self.slots.len())
    }

    /// Why the last worker start failed (for an initializer error or a broken pool).
    pub(crate) fn last_spawn_error(&self) -> Option<&StartFailure> {
        self.last_spawn_error.as_ref()
    }
}
