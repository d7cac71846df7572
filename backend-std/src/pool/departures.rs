//! Why workers leave: the loss that fails the tasks a worker held, the start that failed,
//! and a worker told to leave that is not collected yet.

use super::jobs::TaskJob;
use crate::error::{Error, ExitCause};
use forkpool_core::WorkerId;
use std::collections::VecDeque;
use crate::wire::RawConn;
use nix::unistd::Pid;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Instant;

/// Why a worker leaves its slot, and so how the tasks it held fail.
#[derive(Clone, Debug)]
pub(crate) enum Loss {
    /// It died or closed its socket on its own; collected already by whoever saw it go,
    /// with how it ended.
    Died(ExitCause),
    /// It broke the protocol (corrupt frame, answer out of turn): it is killed.
    Broke(String),
    /// A task it held was cancelled: it is killed.
    Cancelled,
    /// Its running task passed its deadline: it is killed.
    TimedOut,
}

impl Loss {
    /// The loss an error in talking to the worker (not its hanging up) means.
    pub(crate) fn broke(e: Error) -> Self {
        Self::Broke(e.to_string())
    }

    /// How the worker ended, where that is known.
    pub(crate) fn cause(&self) -> ExitCause {
        match self {
            Self::Died(cause) => *cause,
            _ => ExitCause::Unknown,
        }
    }

    /// The error a task held by worker `pid` fails with.
    pub(crate) fn error(&self, pid: u32) -> Error {
        match self {
            Self::Died(cause) => Error::WorkerDied { pid, cause: *cause },
            Self::Broke(m) => Error::Protocol(format!("worker {pid}: {m}")),
            Self::Cancelled => Error::Cancelled,
            Self::TimedOut => Error::TimedOut { pid },
        }
    }
}

/// Why a worker was lost, carried by the scheduler in the outcome of each task lost with
/// it: the loss and the worker's id.
#[derive(Clone, Debug)]
pub(crate) struct Lost {
    pub loss: Loss,
    pub pid: u32,
}

impl Lost {
    /// The error each task lost with the worker fails with.
    pub(crate) fn error(&self) -> Error {
        self.loss.error(self.pid)
    }
}

/// Why the last worker start failed, kept to fail pending work with once the pool breaks.
#[derive(Clone, Debug)]
pub(crate) struct StartFailure {
    pub message: String,
    /// The OS error behind it, if one was (`EAGAIN` from `fork`, `EMFILE`...).
    pub errno: Option<i32>,
}

impl StartFailure {
    pub(crate) fn new(e: &Error) -> Self {
        let errno = match e {
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        };
        Self {
            message: e.to_string(),
            errno,
        }
    }

    /// The error pending work fails with.
    pub(crate) fn broken(&self) -> Error {
        Error::PoolBroken {
            message: self.message.clone(),
            source: self.errno.map(std::io::Error::from_raw_os_error),
        }
    }
}

/// A worker stopped on purpose (deadline, cancel) whose other jobs are settled once it is
/// seen gone: from its result log, what it started fails and the rest runs again.
pub(crate) struct Pending {
    pub worker: WorkerId,
    pub lost: Lost,
    /// Its result log, not mapped yet.
    pub log: std::os::fd::OwnedFd,
    pub sent: VecDeque<(u64, TaskJob)>,
}

/// A process that was told to leave and is not reaped yet.
pub(crate) struct Dying {
    pub pid: Pid,
    pub conn: Arc<RawConn>,
    /// Readable once it has exited (when the kernel has pidfds): its socket may outlive it,
    /// held by a process it forked.
    pub exit: Option<Arc<OwnedFd>>,
    /// When it gets `SIGKILL` if it is still there.
    pub kill_at: Instant,
    /// What it held, to settle once it is gone (see [`Pending`]).
    pub pending: Option<Pending>,
    /// Told to exit (`EXIT`): it closes everything it holds before it exits (see
    /// `sys::leave_in_background`), so its socket's hang-up is its end. One stopped by a
    /// signal is gone only once its exit descriptor says so.
    pub told_to_exit: bool,
}
