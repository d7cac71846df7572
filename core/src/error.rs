//! Every error type of the core, in the standard vocabulary of channels and codecs.

use crate::scheduler::WorkerId;
use core::fmt;

/// Why [`crate::TrySend::try_send`] handed the message back.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TrySendError<T> {
    /// The channel is full; try again after the receiver has taken a message.
    Full(T),
    /// The receiver is gone; the message can never be delivered.
    Disconnected(T),
    /// This message can never be sent on this channel, whatever the receiver does: a
    /// channel between processes could not encode it, or it is larger than the channel
    /// carries. (An in-process channel never says this.)
    Unsendable(T),
}

impl<T> TrySendError<T> {
    /// The message that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(t) | Self::Disconnected(t) | Self::Unsendable(t) => t,
        }
    }

    /// Whether the channel was full.
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// Whether the receiver is gone.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, Self::Disconnected(_))
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full(_) => "sending on a full channel",
            Self::Disconnected(_) => "sending on a channel whose receiver is gone",
            Self::Unsendable(_) => "this message cannot be sent on this channel",
        })
    }
}

impl<T: fmt::Debug> core::error::Error for TrySendError<T> {}

/// Why [`crate::TryRecv::try_recv`] returned no message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TryRecvError {
    /// No message now; one may come later.
    Empty,
    /// No message now, and every sender is gone.
    Disconnected,
    /// A message arrived that could not be read (a channel between processes could not
    /// decode it, or it broke the framing); it was dropped, and later messages still come.
    /// (An in-process channel never says this.)
    Malformed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "receiving on an empty channel",
            Self::Disconnected => "receiving on an empty channel whose senders are gone",
            Self::Malformed => "a message arrived that could not be read; it was dropped",
        })
    }
}

impl core::error::Error for TryRecvError {}

/// Why a [`crate::ResultOrder`] refused a result (handed back inside).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InsertError<T> {
    /// No slot was reserved for this sequence number.
    NotReserved(T),
    /// A result for this sequence number is already held.
    Duplicate(T),
}

impl<T> InsertError<T> {
    /// The refused result.
    pub fn into_inner(self) -> T {
        match self {
            Self::NotReserved(t) | Self::Duplicate(t) => t,
        }
    }
}

impl<T> fmt::Display for InsertError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotReserved(_) => "result for a task that has no reserved slot",
            Self::Duplicate(_) => "second result for the same task",
        })
    }
}

impl<T: fmt::Debug> core::error::Error for InsertError<T> {}

/// Why [`crate::Scheduler::submit`] handed the job back.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SubmitError<J> {
    /// The job queue is full; submit again after some work has been dispatched.
    Full(J),
    /// The scheduler was closed, aborted or broken; it takes no new work.
    Closed(J),
    /// The job has more items than the result window can ever hold (or `u32::MAX`), or none.
    BadLength(J),
}

impl<J> SubmitError<J> {
    /// The job that was not submitted.
    pub fn into_inner(self) -> J {
        match self {
            Self::Full(j) | Self::Closed(j) | Self::BadLength(j) => j,
        }
    }
}

impl<J> fmt::Display for SubmitError<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full(_) => "the job queue is full",
            Self::Closed(_) => "the scheduler takes no new work (closed, aborted or broken)",
            Self::BadLength(_) => "a job must have between 1 and the window capacity items",
        })
    }
}

impl<J: fmt::Debug> core::error::Error for SubmitError<J> {}

/// An input the scheduler cannot accept: the driver reported something impossible.
///
/// The driver should treat the worker named as faulty (kill it and report it lost).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SchedulerError {
    /// The worker id is outside the pool.
    UnknownWorker(WorkerId),
    /// The worker sent a result for a task it was not running.
    UnexpectedResult(WorkerId),
}

impl fmt::Display for SchedulerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownWorker(w) => write!(f, "no worker {} in this pool", w.0),
            Self::UnexpectedResult(w) => {
                write!(
                    f,
                    "worker {} sent a result for a task it was not running",
                    w.0
                )
            }
        }
    }
}

impl core::error::Error for SchedulerError {}

/// A frame that can never be decoded; the stream it came from cannot be trusted any more.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameError {
    /// The header does not start with the frame magic.
    BadMagic,
    /// The declared payload is longer than the decoder's maximum.
    Oversize {
        /// Length the header declared.
        declared: u32,
        /// The decoder's maximum.
        max: u32,
    },
    /// The buffer could not take the payload (out of room or memory).
    BufferFull,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => f.write_str("corrupt frame: bad magic"),
            Self::Oversize { declared, max } => {
                write!(f, "frame of {declared} bytes exceeds the maximum of {max}")
            }
            Self::BufferFull => f.write_str("frame buffer could not take the payload"),
        }
    }
}

impl core::error::Error for FrameError {}

/// A [`crate::scheduler::Config`] the scheduler cannot run with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConfigError {
    /// `workers` is 0 or more than the scheduler's capacity `W`.
    Workers {
        /// Workers asked for.
        asked: usize,
        /// The most this scheduler type holds.
        max: usize,
    },
    /// `depth` is 0 or more than [`crate::scheduler::MAX_DEPTH`].
    Depth(usize),
    /// The result window is larger than half the sequence number space.
    WindowTooLarge,
    /// `max_jobs_per_worker` is `Some(0)`: a worker could never take a job.
    NoJobsPerWorker,
    /// `max_spawn_failures` is 0: the first failed start would break the pool before it
    /// was tried.
    NoSpawnFailures,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Workers { asked, max } => {
                write!(f, "a pool needs between 1 and {max} workers, not {asked}")
            }
            Self::Depth(d) => write!(
                f,
                "pipeline depth must be between 1 and {}, not {d}",
                crate::scheduler::MAX_DEPTH
            ),
            Self::WindowTooLarge => {
                f.write_str("result window larger than half the sequence number space")
            }
            Self::NoJobsPerWorker => f.write_str("maxtasksperchild must be at least 1"),
            Self::NoSpawnFailures => f.write_str("max_restarts needs at least 1"),
        }
    }
}

impl core::error::Error for ConfigError {}
