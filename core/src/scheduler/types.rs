//! The values that go in and out of the [`super::Scheduler`].

/// A worker's slot in the pool, `0..workers`. A replacement process reuses its slot.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WorkerId(pub u16);

impl WorkerId {
    /// The slot as an index.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// How the scheduler runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// Worker slots in use (at most the scheduler's `W`).
    pub workers: usize,
    /// Most jobs a worker may hold at once, at most [`super::MAX_DEPTH`]. 1 dispatches only
    /// to idle workers. More pipelines work to hide round trips, but only while the queue is
    /// deep: a worker may hold `1 + queued / workers` jobs, capped by this value.
    pub depth: usize,
    /// Jobs a worker runs before it is retired and replaced (`maxtasksperchild`).
    pub max_jobs_per_worker: Option<u32>,
    /// Failed starts in a row after which the scheduler gives up ("broken").
    pub max_spawn_failures: u32,
    /// Failed starts only count as "in a row" while the first is at most this long (in the
    /// unit of `handle_time`) before the last; `None` counts them however far apart.
    pub restart_window: Option<u64>,
    /// Wait before retrying a failed start, doubled for each further failure in the row.
    pub restart_backoff: u64,
    /// Queued jobs per worker from which workers take more than one job (up to `depth`):
    /// below it only idle workers get work, so a job never waits behind another on a busy
    /// worker while another may soon be free. 0 pipelines as soon as jobs wait.
    pub pipeline_from: usize,
}

impl Config {
    /// `workers` workers, depth 1, no retirement, broken after 5 failed starts in a row
    /// (no window, retried at once).
    pub const fn new(workers: usize) -> Self {
        Self {
            workers,
            depth: 1,
            max_jobs_per_worker: None,
            max_spawn_failures: 5,
            restart_window: None,
            restart_backoff: 0,
            pipeline_from: 0,
        }
    }
}

/// A submitted job: `len` consecutive tasks numbered from `first`, carried by `payload`
/// (a chunk of items when `len > 1`), with the caller's `tag` (given back in every
/// [`Release`] of its tasks).
#[derive(Debug)]
pub struct Job<J, S, K = ()> {
    pub(crate) payload: J,
    pub(crate) first: S,
    pub(crate) len: usize,
    /// Why it will not run, once it will not.
    pub(crate) cancelled: Option<CancelReason>,
    /// Longest the job may run once started, in the driver's time unit.
    pub(crate) timeout: Option<u64>,
    pub(crate) tag: K,
    /// Whether its result slots are reserved already (a job a lost worker returned).
    pub(crate) reserved: bool,
}

impl<J, S: Copy, K: Copy> Job<J, S, K> {
    /// The caller's tag for the job.
    pub fn tag(&self) -> K {
        self.tag
    }
    /// The job's payload.
    pub fn payload(&self) -> &J {
        &self.payload
    }
    /// Sequence number of the job's first task.
    pub fn first(&self) -> S {
        self.first
    }
    /// Number of tasks in the job.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether the job has no task (never true for a submitted job).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Send `payload` (tasks `first..first + len`) to `worker`.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Dispatch<J, S> {
    /// Who runs it.
    pub worker: WorkerId,
    /// Sequence number of the first task.
    pub first: S,
    /// Number of tasks.
    pub len: usize,
    /// What was submitted.
    pub payload: J,
}

/// A task's end, as released to the user.
#[derive(Debug, PartialEq, Eq, Clone)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome<R, C = ()> {
    /// The worker answered with this result.
    Done(R),
    /// The worker holding the task was lost before answering for it, for the cause the
    /// driver gave ([`super::Scheduler::handle_worker_lost_because`]).
    WorkerLost(WorkerId, C),
    /// The task will not run (or its answer will not be used), for this reason.
    Cancelled(CancelReason),
}

/// Why a task was released without running to its end.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CancelReason {
    /// Its caller cancelled it ([`super::Scheduler::cancel`] or
    /// [`super::Scheduler::cancel_tagged`]).
    Cancelled,
    /// The scheduler was aborted ([`super::Scheduler::abort`]).
    Aborted,
    /// Too many worker starts failed in a row: the scheduler broke.
    Broken,
}

/// What the result order holds for a run of tasks: how they ended, their job's tag, and
/// how far into the job the run starts.
#[derive(Debug, PartialEq, Eq, Clone)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Settled<R, K = (), C = ()> {
    /// How they ended.
    pub outcome: Outcome<R, C>,
    /// The tag their job was submitted with.
    pub tag: K,
    /// The run's first task's place in its job (0 for the job's first task).
    pub offset: usize,
}

/// Tasks `seq..seq + len` ended with `outcome`: one task (`len == 1`), or a run of tasks a
/// worker answered together ([`super::Scheduler::handle_results`]) or that were lost or
/// cancelled together. A run never spans two jobs: `tag` is its job's, and `offset` says
/// where in that job it starts, so a driver maps it back to its call without a table.
#[derive(Debug, PartialEq, Eq, Clone)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Release<S, R, K = (), C = ()> {
    /// The (first) task's sequence number.
    pub seq: S,
    /// How many consecutive tasks the outcome stands for (at least 1).
    pub len: usize,
    /// How they ended.
    pub outcome: Outcome<R, C>,
    /// The tag their job was submitted with.
    pub tag: K,
    /// The first task's place in its job.
    pub offset: usize,
}

/// A job a lost worker held but never started ([`super::Scheduler::handle_worker_lost_exact`]),
/// to run again: hand its payload back with [`super::Scheduler::resubmit`] (or, without one,
/// [`super::Scheduler::fail_requeue`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Requeue<S, K = ()> {
    /// The worker that held it.
    pub worker: WorkerId,
    /// Its first task's sequence number (kept: its results go where they would have).
    pub first: S,
    /// Its number of tasks.
    pub len: usize,
    /// Its tag.
    pub tag: K,
    /// Its time limit once started.
    pub timeout: Option<u64>,
}

/// Something the driver must do to a worker process.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WorkerCommand {
    /// Start a process for this slot, then report `handle_worker_idle` (or
    /// `handle_spawn_failed`).
    Spawn(WorkerId),
    /// Stop and reap the process in this slot; it holds no task. Do not report it lost.
    Stop(WorkerId),
    /// Stop the process in this slot at once: the task it runs was cancelled (and is
    /// released already). Then report it with
    /// [`handle_worker_lost_because`](super::Scheduler::handle_worker_lost_because), which
    /// releases what else it held and asks for a replacement.
    Kill(WorkerId),
}

/// Python's default chunk size for `map`: `ceil(len / (4 * workers))`, at least 1.
///
/// ```
/// assert_eq!(forkpool_core::default_chunksize(100, 4), 7);
/// assert_eq!(forkpool_core::default_chunksize(0, 4), 1);
/// ```
pub fn default_chunksize(len: usize, workers: usize) -> usize {
    let per = workers.max(1).saturating_mul(4);
    len.div_ceil(per).max(1)
}
