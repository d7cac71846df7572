//! Taking a lock whose holder panicked: the pool's state stays usable (every change to it
//! is complete before anything that can panic runs), so poisoning is ignored.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
