//! How a pool's workers are started, reached and stopped: the one thing that differs
//! between worker processes ([`Pool`](super::Pool), `processes.rs`) and worker threads
//! ([`ThreadPool`](crate::ThreadPool), `threads.rs`). Everything else (the scheduler, the
//! driver, the outbox, the calls in flight) is the same engine: a worker of either kind is
//! reached through a socket that speaks the worker protocol (`protocol`, `worker.rs`).

use crate::error::{ExitCause, Result};
use crate::wire::RawConn;
use nix::unistd::Pid;
use std::os::fd::OwnedFd;

/// A worker that started: its id, the pool's end of its socket (already sent `INIT`), and
/// a descriptor that becomes readable when it ends, where its kind has one.
pub(crate) struct Started {
    /// A pid for a process; the kernel's thread id for a thread.
    pub id: Pid,
    pub conn: RawConn,
    pub exit: Option<OwnedFd>,
}

/// The initializer every new worker runs: trampoline address and encoded arguments.
pub(crate) struct Init {
    pub call: usize,
    pub args: Vec<u8>,
    pub fds: Vec<OwnedFd>,
}

/// What every new worker is told in `INIT`: the pool's key for call tags, and the
/// initializer it runs before any task.
pub(crate) struct Intro<'a> {
    pub key: u64,
    pub init: Option<&'a Init>,
    /// Whether the pool reads large result batches from the worker's memory (a worker
    /// process of this machine's pool: see `pool/far.rs`).
    pub far: bool,
    /// How many workers the pool has (a fork server keeps as many forked ahead).
    pub size: usize,
}

/// Starts, stops and collects one kind of worker. Called under the pool's lock: no method
/// waits on a worker (a start waits only for the worker to exist).
pub(crate) trait Transport: Send + Sync + 'static {
    /// Starts `n` workers, sends each its `INIT`, and reports each start (or why it failed)
    /// to `each`, in order. `Err` when no more can be started now: the starts not reported
    /// failed with it.
    fn start(&self, n: usize, intro: Intro<'_>, each: &mut dyn FnMut(Result<Started>))
    -> Result<()>;

    /// Asks a worker that holds work to stop at once (a process gets `SIGTERM`); the pool
    /// then closes its socket and releases it after the grace.
    fn stop_now(&self, id: Pid);

    /// Collects workers the pool is done with, each `(id, kill_first)`: one that hung up
    /// has ended; one with `kill_first` did not end in time (a process is killed; a thread,
    /// which cannot be, is left to finish its task and end on its own).
    fn release(&self, gone: &[(Pid, bool)]);

    /// Collects a worker that died on its own and says how it ended.
    fn exit_cause(&self, id: Pid) -> ExitCause;

    /// Whether [`release`](Self::release) reaps a worker asked to stop without anyone
    /// waiting for it (and kills it if it does not leave in time): a dropped pool then
    /// returns without waiting for its workers to exit.
    fn reaps_on_its_own(&self) -> bool {
        false
    }

    /// Whether its workers are processes whose memory the pool can read (a large batch of
    /// results is then read from there instead of the socket: `pool/far.rs`).
    fn reads_worker_memory(&self) -> bool {
        false
    }

    /// Whether its workers take a result log once their jobs pipeline (worker processes:
    /// a loss is then exact; see `protocol::log`).
    fn keeps_logs(&self) -> bool {
        false
    }

    /// Whether a worker stopped on purpose and not seen gone when its grace ran out is
    /// settled from its log all the same (threads, which cannot be killed, check the log's
    /// stop mark before each job); otherwise what it held fails.
    fn settles_from_log_alive(&self) -> bool {
        false
    }
}
