//! `Pool::builder()`: processes, initializer, maxtasksperchild, pipeline depth, restart
//! limits, and the grace a terminated worker gets.

use super::Pool;
use super::transport::Init;
use super::transport::Transport;
use crate::codec;
use crate::error::Result;
use crate::task::{TaskFn, erase};
use forkpool_core::Config;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Configures and builds a [`Pool`].
///
/// ```
/// fn init(base: u64) { assert_eq!(base, 42) }
/// let pool = forkpool::Pool::builder()
///     .processes(2)
///     .initializer(init, (42,))
///     .maxtasksperchild(100)
///     .build()?;
/// # drop(pool);
/// # Ok::<(), forkpool::Error>(())
/// ```
#[derive(Default)]
pub struct PoolBuilder {
    processes: Option<usize>,
    init: Option<Result<Init>>,
    maxtasksperchild: Option<u32>,
    depth: Option<usize>,
    restarts: Option<(u32, Duration)>,
    kill_grace: Option<Duration>,
    terminate_on_interrupt: bool,
}

/// Failed worker starts in a row that break a pool, by default...
const MAX_RESTARTS: u32 = 5;
/// ...within this time.
const RESTART_WINDOW: Duration = Duration::from_secs(10);
/// Wait before retrying a failed start; doubled for each further failure in a row.
const RESTART_BACKOFF: Duration = Duration::from_millis(10);
/// Most chunks a worker holds by default: deep queues of tiny tasks share round trips. A
/// worker that dies, or is stopped, still fails only the chunk it was running (see
/// `pool/requeue.rs`).
pub(crate) const DEFAULT_DEPTH: usize = 64;
/// Chunks waiting per worker from which workers take more than one: below it (the seed's
/// handful of long tasks) a chunk only goes to an idle worker.
const PIPELINE_FROM: usize = 4;
/// Default time between `SIGTERM` and `SIGKILL` for a worker being stopped.
const KILL_GRACE: Duration = Duration::from_millis(200);

impl PoolBuilder {
    /// Worker processes (default: the number of CPUs).
    pub fn processes(mut self, n: usize) -> Self {
        self.processes = Some(n);
        self
    }

    /// Runs `f(args...)` in every worker when it starts (and in each replacement). If it
    /// panics, `build` fails with [`Error::InitializerFailed`](crate::Error::InitializerFailed).
    ///
    /// This is where per-worker state goes: workers see the program as it was before
    /// `main`, so a static set in `main` (a `OnceLock`, an atomic) is not set there, and a
    /// `get_or_init` in a task would silently build a value of its own. Set it here
    /// instead, from the arguments:
    ///
    /// ```
    /// use std::sync::OnceLock;
    /// static GREETING: OnceLock<String> = OnceLock::new();
    ///
    /// fn init(word: String) { GREETING.set(word).unwrap(); }
    /// fn greet(name: String) -> String { format!("{}, {name}", GREETING.get().unwrap()) }
    ///
    /// let pool = forkpool::Pool::builder().processes(1).initializer(init, ("hello".into(),)).build()?;
    /// assert_eq!(pool.apply(greet, ("world".into(),))?, "hello, world");
    /// # Ok::<(), forkpool::Error>(())
    /// ```
    pub fn initializer<F, A>(mut self, f: F, args: A) -> Self
    where
        F: TaskFn<A, ()>,
        A: Serialize + DeserializeOwned,
    {
        let call = erase::<F, A, ()>(f);
        self.init = Some(codec::encode(&args).map(|(args, fds)| Init { call, args, fds }));
        self
    }

    /// Tasks (chunks) a worker runs before it is replaced by a fresh one.
    pub fn maxtasksperchild(mut self, n: u32) -> Self {
        self.maxtasksperchild = Some(n);
        self
    }

    /// Most chunks a worker may hold at once: 1 (Python's one at a time) to
    /// [`MAX_DEPTH`](forkpool_core::scheduler::MAX_DEPTH) (64, the default). Deep
    /// pipelines let tiny tasks share round trips and system calls: at 64, `x + 1` with
    /// chunk size 1 runs more than ten times as fast as at 1 (see `BENCHMARKS.md`). The
    /// scheduler pipelines only while at least 4 chunks per worker wait, so a shallow queue
    /// (a handful of long tasks) still goes to idle workers first.
    ///
    /// Depth costs no crash granularity: a worker that dies, or is stopped (a deadline
    /// passed, its task cancelled), fails only the chunk it was running; the results it had
    /// computed come back (each worker keeps its unsent results in memory it shares with the
    /// pool), and the chunks queued behind it run once on another worker. (Only a worker
    /// process that outlives its kill grace without exiting fails the chunks it held.) What
    /// depth can still cost: long tasks queued behind one another balance less well, when
    /// more than 4 per worker wait.
    pub fn pipeline_depth(mut self, depth: usize) -> Self {
        self.depth = Some(depth);
        self
    }

    /// Gives up after `n` failed worker starts in a row (the process could not be created,
    /// or died or failed its initializer before it was ready), the first at most `within`
    /// before the last: the pool is then broken and every pending task fails with
    /// [`Error::PoolBroken`](crate::Error::PoolBroken), which names the cause. Failed starts are retried after 10 ms,
    /// doubled for each further failure. Default: 5 within 10 s.
    pub fn max_restarts(mut self, n: u32, within: Duration) -> Self {
        self.restarts = Some((n, within));
        self
    }

    /// How long a worker being stopped (deadline passed, task cancelled, pool terminated)
    /// has between `SIGTERM` and `SIGKILL`; `SIGCONT` goes with the `SIGTERM`, so a stopped
    /// worker ends too. Default: 200 ms. The pool does not wait for it: a replacement starts
    /// at once.
    pub fn kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = Some(grace);
        self
    }

    /// Whether the terminal's Ctrl-C (`SIGINT`, which it sends to the whole foreground
    /// process group) ends the pool's work. Default `false`: workers and the fork server
    /// ignore `SIGINT`, so only the owner's own handling decides (a program that ignores or
    /// handles Ctrl-C keeps its pool and its tasks running; one that does not handle it dies,
    /// and its workers die with it). With `true`, as a command-line tool usually wants, a
    /// Ctrl-C also kills the workers: the tasks they were running fail with
    /// [`Error::WorkerDied`](crate::Error::WorkerDied) naming `SIGINT`, and the pool is terminated (pending work
    /// fails with [`Error::Terminated`](crate::Error::Terminated)).
    ///
    /// An ignored signal stays ignored across `exec`: programs a task starts (with
    /// `std::process::Command`) ignore Ctrl-C too unless this is set, or they restore it.
    pub fn terminate_on_interrupt(mut self, yes: bool) -> Self {
        self.terminate_on_interrupt = yes;
        self
    }

    /// Starts the workers. With an initializer, waits until each has run it (one that fails
    /// fails the build with [`Error::InitializerFailed`](crate::Error::InitializerFailed));
    /// without one, returns as [`Pool::new`] does, once every worker is forked and the first
    /// has answered.
    pub fn build(self) -> Result<Pool> {
        let interrupt = self.terminate_on_interrupt;
        self.build_on(Box::new(super::processes::Processes { interrupt }))
    }

    /// Sets the number of workers unless [`processes`](Self::processes) did.
    pub(crate) fn or_processes(mut self, n: usize) -> Self {
        self.processes.get_or_insert(n);
        self
    }

    /// Sets an initializer already encoded (a `ThreadPool`'s).
    pub(crate) fn encoded_initializer(mut self, init: Init) -> Self {
        self.init = Some(Ok(init));
        self
    }


    /// Builds the pool with workers of the kind `transport` starts.
    pub(crate) fn build_on(self, transport: Box<dyn Transport>) -> Result<Pool> {
        let processes = match self.processes {
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        // The core's scheduler checks the configuration (see `State::new`): one place.
        let mut config = Config::new(processes);
        config.max_jobs_per_worker = self.maxtasksperchild;
        config.depth = self.depth.unwrap_or(DEFAULT_DEPTH);
        config.pipeline_from = PIPELINE_FROM;
        let (max, window) = self.restarts.unwrap_or((MAX_RESTARTS, RESTART_WINDOW));
        config.max_spawn_failures = max;
        config.restart_window = Some(window.as_millis().try_into().unwrap_or(u64::MAX));
        config.restart_backoff = RESTART_BACKOFF.as_millis() as u64;
        let init = self.init.transpose()?;
        let grace = self.kill_grace.unwrap_or(KILL_GRACE);
        Pool::start(config, init, grace, self.terminate_on_interrupt, transport)
    }
}

impl std::fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("processes", &self.processes)
            .field("initializer", &self.init.is_some())
            .field("maxtasksperchild", &self.maxtasksperchild)
            .field("pipeline_depth", &self.depth)
            .field("max_restarts", &self.restarts)
            .field("kill_grace", &self.kill_grace)
            .field("terminate_on_interrupt", &self.terminate_on_interrupt)
            .finish()
    }
}
