//! forkpool's one error type.

use std::fmt;

/// How a process ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum ExitCause {
    /// It called `exit` (or returned from `main`) with this code.
    Exited(i32),
    /// A signal killed it.
    Signaled {
        /// The signal number (`libc::SIGKILL` is 9, `SIGSEGV` 11, `SIGABRT` 6...).
        signal: i32,
        /// The signal's name, like `"SIGKILL"`.
        name: &'static str,
        /// Whether it dumped core.
        core_dumped: bool,
    },
    /// The status could not be read (the process was reaped elsewhere).
    Unknown,
}

impl fmt::Display for ExitCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exited(code) => write!(f, "exited with code {code}"),
            Self::Signaled { signal, name, .. } => write!(f, "was killed by {name} ({signal})"),
            Self::Unknown => f.write_str("ended with an unknown status"),
        }
    }
}

/// What usually sends `signal` to a task's process, so the message says where to look.
fn signal_hint(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV | libc::SIGBUS => {
            ": an invalid memory access, or a stack overflow (deep recursion)"
        }
        libc::SIGABRT => {
            ": an abort (a stack overflow, a panic under `panic = \"abort\"`, a failed \
             allocation, `std::process::abort`)"
        }
        libc::SIGKILL => ": killed from outside, or by the kernel's out-of-memory killer",
        libc::SIGFPE => ": an arithmetic fault",
        libc::SIGILL => ": an illegal instruction",
        _ => "",
    }
}

/// Everything that can go wrong in forkpool.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The task (or process closure) panicked; `message` is the panic's text.
    Panicked {
        /// The panic message (or a note that the payload was not a string).
        message: String,
        /// The process it panicked in.
        pid: u32,
        /// Where it panicked, `file.rs:LINE:COLUMN`, when known.
        location: Option<String>,
        /// The backtrace of the panicking thread, when `RUST_BACKTRACE` was set in the
        /// owner (as it was when the worker started).
        backtrace: Option<String>,
    },
    /// The process running the task died (signal or exit) before answering.
    WorkerDied {
        /// Its pid.
        pid: u32,
        /// How it ended.
        cause: ExitCause,
    },
    /// A wait with a time limit ran out; waiting again is allowed.
    Timeout,
    /// A node of a cluster (a remote pool's agent) could not do what was asked: start a
    /// worker (another executable, no resources), or be reached at all.
    Node {
        /// The node's peer number on the link (an MPI rank).
        node: usize,
        /// What went wrong there.
        message: String,
    },
    /// The pool was closed or terminated, so it takes no new work.
    PoolNotRunning,
    /// The pool was terminated (or dropped) before this task finished.
    Terminated,
    /// The task was cancelled (`AsyncResult::cancel`, or its `imap` iterator was dropped).
    Cancelled,
    /// The task ran past its deadline (`AsyncOptions::timeout`); its worker was stopped
    /// (a process killed, a `ThreadPool` thread let go) and replaced.
    TimedOut {
        /// The worker that ran it: a process id, or a `ThreadPool` thread's id.
        pid: u32,
    },
    /// Worker processes could not be started (too many failed starts in a row, see
    /// `PoolBuilder::max_restarts`); pending work was failed with this cause.
    PoolBroken {
        /// Why the last start failed.
        message: String,
        /// The OS error behind it, if one was: `fork` out of processes (`EAGAIN`), out of
        /// file descriptors (`EMFILE`)... Also given by [`std::error::Error::source`].
        source: Option<std::io::Error>,
    },
    /// The call's callback (or error callback) panicked; the pool carries on. The task's
    /// own result was handed to the callback and is not kept.
    CallbackPanicked {
        /// The callback's panic message.
        message: String,
    },
    /// The pool's initializer failed in a worker.
    InitializerFailed {
        /// The initializer's panic message, or how the worker died.
        message: String,
    },
    /// The other end of a connection is gone.
    Disconnected,
    /// A message is larger than the connection allows.
    MessageTooLarge {
        /// The message's size in bytes.
        len: usize,
        /// The connection's maximum.
        max: usize,
    },
    /// A value could not be serialized.
    Encode(String),
    /// Bytes could not be deserialized into the expected type.
    Decode(String),
    /// A peer sent bytes that break the wire protocol (corrupt or truncated frame).
    Protocol(String),
    /// One of forkpool's own invariants did not hold: a bug in forkpool, not in your code
    /// or its input. The text says which.
    Internal(&'static str),
    /// An argument is out of range.
    InvalidArgument(&'static str),
    /// `join` was called on a pool that is still running: call `close` or `terminate` first.
    StillRunning,
    /// `join` was called while an `imap` (or `imap_unordered`) of the pool, made on the
    /// same thread, still has input to submit. An `imap` submits its input only as it is
    /// consumed, so the pool's work is not done until it is used up or dropped; `join` would
    /// wait for ever. Consume or drop the iterator first (nothing was lost: it still yields
    /// every result). An iterator handed to another thread to consume still counts as its
    /// maker's: join once that thread is done with it, or from another thread.
    ImapNotConsumed,
    /// A pool (or one of its results) was used from a process that is not the one that
    /// made it: a fork of it (a `Process` child that captured the pool). The pool's workers
    /// and driver thread belong to its owner; nothing was touched.
    NotOwner {
        /// The process that made the pool.
        owner: u32,
        /// The process that tried to use it.
        caller: u32,
    },
    /// The process that held a lock died holding it. The lock was made usable again and
    /// released; what it guarded may be half-updated. Acquire it again to go on.
    OwnerDied {
        /// The process that held it, when known (0 if not).
        pid: u32,
    },
    /// A message did not fit the buffer given to `recv_bytes_into`; here it is, whole.
    BufferTooShort {
        /// The message received.
        message: Vec<u8>,
    },
    /// A queue was full (`try_put`); the value was not sent and is still the caller's.
    Full,
    /// A queue was empty (`try_get`).
    Empty,
    /// The queue was closed: no more values can be put, and none are left to get.
    Closed,
    /// A barrier was broken (a party died, or it was aborted) before every party arrived.
    BrokenBarrier {
        /// The party that died, when one did.
        pid: Option<u32>,
    },
    /// A system call failed.
    Io {
        /// What forkpool was doing.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(op: &'static str, errno: nix::errno::Errno) -> Self {
        Self::Io {
            op,
            source: std::io::Error::from(errno),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Panicked {
                message,
                pid,
                location: Some(at),
                ..
            } => write!(f, "task panicked in process {pid} at {at}: {message}"),
            Self::Panicked { message, pid, .. } => {
                write!(f, "task panicked in process {pid}: {message}")
            }
            Self::WorkerDied { pid, cause } => {
                write!(f, "worker process {pid} {cause} before answering")?;
                match cause {
                    ExitCause::Signaled { signal, .. } => f.write_str(signal_hint(*signal)),
                    _ => Ok(()),
                }
            }
            Self::Timeout => f.write_str("timed out; the result may still come: wait again"),
            Self::PoolNotRunning => f.write_str("the pool was closed or terminated"),
            Self::Terminated => f.write_str("the pool was terminated before the task finished"),
            Self::Cancelled => f.write_str("the task was cancelled"),
            Self::TimedOut { pid } => {
                write!(
                    f,
                    "the task ran past its deadline; its worker ({pid}) was stopped and replaced"
                )
            }
            Self::PoolBroken { message, .. } => {
                write!(f, "the pool could not start worker processes: {message}")
            }
            Self::CallbackPanicked { message } => {
                write!(f, "the result callback panicked: {message}")
            }
            Self::InitializerFailed { message } => {
                write!(f, "the pool's initializer failed: {message}")
            }
            Self::Disconnected => f.write_str("the other end of the connection is gone"),
            Self::Node { node, message } => write!(f, "node {node}: {message}"),
            Self::MessageTooLarge { len, max } => {
                write!(
                    f,
                    "message of {len} bytes exceeds the connection's maximum of {max}"
                )
            }
            Self::Encode(m) => write!(f, "could not serialize value: {m}"),
            Self::Decode(m) => write!(f, "could not deserialize value: {m}"),
            Self::Protocol(m) => write!(f, "peer broke the wire protocol: {m}"),
            Self::Internal(what) => write!(
                f,
                "forkpool broke one of its own rules ({what}); this is a bug in forkpool"
            ),
            Self::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            Self::StillRunning => f.write_str("join() needs close() or terminate() first"),
            Self::ImapNotConsumed => f.write_str(
                "join() would wait for ever: an imap made on this thread still has input to \
                 submit (it submits as it is consumed); consume or drop it before join()",
            ),
            Self::NotOwner { owner, caller } => write!(
                f,
                "this pool belongs to process {owner}; process {caller}, a fork of it, cannot \
                 use it (make a pool in the child instead)"
            ),
            Self::OwnerDied { pid: 0 } => f.write_str(
                "the process that held this lock died holding it; the lock is released, what \
                 it guarded may be half-updated",
            ),
            Self::OwnerDied { pid } => write!(
                f,
                "process {pid} died holding this lock; the lock is released, what it guarded \
                 may be half-updated"
            ),
            Self::BufferTooShort { message } => write!(
                f,
                "a message of {} bytes did not fit the buffer (the error carries it)",
                message.len()
            ),
            Self::Full => f.write_str("the queue is full; the value was not put"),
            Self::Empty => f.write_str("the queue is empty"),
            Self::Closed => f.write_str("the queue was closed"),
            Self::BrokenBarrier { pid: Some(pid) } => {
                write!(f, "the barrier is broken: party process {pid} died")
            }
            Self::BrokenBarrier { pid: None } => f.write_str("the barrier is broken"),
            Self::Io { op, source } => write!(f, "{op} failed: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::PoolBroken {
                source: Some(source),
                ..
            } => Some(source),
            _ => None,
        }
    }
}

/// Short for `Result<T, forkpool::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
