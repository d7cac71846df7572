//! What the pool tells `tracing` (with the `tracing` feature): workers spawned, lost with
//! their cause, and tasks that failed. Without the feature every function here is empty.

#[cfg(feature = "tracing")]
use crate::error::{Error, ExitCause};

/// A worker process started in slot `slot` (`replacing`: it replaces one that left).
#[cfg(feature = "tracing")]
pub(super) fn spawned(pid: i32, slot: usize, replacing: bool) {
    if replacing {
        tracing::info!(pid, slot, "forkpool: worker replaced");
    } else {
        tracing::debug!(pid, slot, "forkpool: worker spawned");
    }
}

/// A worker left its slot for good: died, broke the protocol, or was stopped.
#[cfg(feature = "tracing")]
pub(super) fn lost(pid: u32, slot: usize, why: &str, cause: ExitCause) {
    tracing::warn!(pid, slot, why, cause = %cause, "forkpool: worker lost");
}

/// `n` tasks failed with `error`.
#[cfg(feature = "tracing")]
pub(super) fn failed(n: usize, error: &Error) {
    tracing::debug!(tasks = n, error = %error, "forkpool: task failed");
}

#[cfg(not(feature = "tracing"))]
pub(super) fn spawned(_pid: i32, _slot: usize, _replacing: bool) {}

#[cfg(not(feature = "tracing"))]
pub(super) fn lost(_pid: u32, _slot: usize, _why: &str, _cause: crate::error::ExitCause) {}

#[cfg(not(feature = "tracing"))]
pub(super) fn failed(_n: usize, _error: &crate::error::Error) {}
