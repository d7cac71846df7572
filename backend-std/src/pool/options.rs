//! Knobs for the asynchronous calls: chunk size and callbacks (Rust has no default
//! arguments, so they come as a small builder).

use super::sink::{Callback, ErrorCallback};
use crate::error::Error;

/// Options for `apply_async_with`, `map_async_with` and `starmap_async_with`.
///
/// ```
/// use forkpool::AsyncOptions;
/// let opts = AsyncOptions::new()
///     .chunksize(8)
///     .callback(|v: &Vec<u64>| println!("{} results", v.len()))
///     .error_callback(|e| eprintln!("failed: {e}"));
/// # let _ = opts;
/// ```
pub struct AsyncOptions<T> {
    pub(crate) chunksize: Option<usize>,
    pub(crate) callback: Option<Callback<T>>,
    pub(crate) error_callback: Option<ErrorCallback>,
    pub(crate) timeout: Option<std::time::Duration>,
}

impl<T> AsyncOptions<T> {
    /// No callbacks, the default chunk size.
    pub fn new() -> Self {
        Self {
            chunksize: None,
            callback: None,
            error_callback: None,
            timeout: None,
        }
    }

    /// Tasks per message to a worker (ignored by `apply_async_with`). Default: Python's
    /// `ceil(len / (4 * processes))`.
    pub fn chunksize(mut self, n: usize) -> Self {
        self.chunksize = Some(n);
        self
    }

    /// Runs `f` with the value once the call succeeds, exactly once, on a callback thread
    /// (not the pool's driver: callbacks that block run side by side), before `get`
    /// returns and before the pool's `join` returns. It may use the pool, even wait on
    /// other results (a callback of theirs runs on another callback thread). If it panics,
    /// the pool carries on and `get` returns [`Error::CallbackPanicked`].
    pub fn callback(mut self, f: impl FnOnce(&T) + Send + 'static) -> Self {
        self.callback = Some(Box::new(f));
        self
    }

    /// Longest each task (each chunk, for the mapping methods) may run once started. Past
    /// it the worker is killed and replaced, and the task fails with [`Error::TimedOut`];
    /// other tasks carry on. Resolution: about a millisecond.
    pub fn timeout(mut self, limit: std::time::Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Runs `f` with the error once the call fails, exactly once, as
    /// [`callback`](Self::callback) runs. If it panics, `get` returns
    /// [`Error::CallbackPanicked`].
    pub fn error_callback(mut self, f: impl FnOnce(&Error) + Send + 'static) -> Self {
        self.error_callback = Some(Box::new(f));
        self
    }
}

impl<T> Default for AsyncOptions<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> std::fmt::Debug for AsyncOptions<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncOptions")
            .field("chunksize", &self.chunksize)
            .field("callback", &self.callback.is_some())
            .field("error_callback", &self.error_callback.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}
