//! Where released results go: an [`AsyncResult`] for `apply_async`/`map_async`, or an `imap`
//! iterator's queue. Sinks run outside the pool's lock, so a callback may use the pool.

use crate::error::{Error, Result};
pub(crate) use crate::protocol::Raw;
use crate::task::panic_message;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Receives the results of one batch of tasks, by index within the batch: a result for
/// `index` that is a run ([`Raw::len`] values) stands for `index..index + len`.
pub(crate) trait Sink: Send + Sync {
    fn deliver(&self, index: usize, result: Result<Raw>);

    /// Several results at once (one lock instead of one per result).
    fn deliver_many(&self, results: &mut dyn Iterator<Item = (usize, Result<Raw>)>) {
        for (index, result) in results {
            self.deliver(index, result);
        }
    }
}

/// The end of an asynchronous call: Python's `AsyncResult`.
///
/// ```
/// fn double(x: u32) -> u32 { x * 2 }
/// let pool = forkpool_std::Pool::new(2)?;
/// let r = pool.apply_async(double, (21,))?;
/// r.wait();
/// assert_eq!(r.successful(), Some(true));
/// assert_eq!(r.get()?, 42);
/// # Ok::<(), forkpool_std::Error>(())
/// ```
pub struct AsyncResult<T> {
    shared: Arc<Shared<T>>,
    cancel: Box<dyn Fn() + Send + Sync>,
    /// The call's sink, kept so that it is freed here, by the thread that allocated it, and
    /// not by the driver thread: frees across threads contend for the allocator's locks.
    _sink: Arc<dyn Send + Sync>,
}

pub(crate) struct Shared<T> {
    value: Mutex<Slot<T>>,
    ready: Condvar,
}

/// A result's place: the value (`Some(None)` once taken) and how many threads wait for it,
/// so publishing it makes no wake-up call when nobody waits (the common case: results
/// usually arrive before `get`).
struct Slot<T> {
    value: Option<Option<Result<T>>>,
    waiters: usize,
}

impl<T> Shared<T> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            value: Mutex::new(Slot {
                value: None,
                waiters: 0,
            }),
            ready: Condvar::new(),
        })
    }

    pub(crate) fn set(&self, value: Result<T>) {
        let waiters = {
            let mut g = lock(&self.value);
            g.value = Some(Some(value));
            g.waiters
        };
        if waiters > 0 {
            self.ready.notify_all();
        }
    }

    fn wait_until(&self, deadline: Option<Instant>) -> MutexGuard<'_, Slot<T>> {
        let mut g = lock(&self.value);
        while g.value.is_none() {
            g.waiters += 1;
            match deadline {
                None => g = self.ready.wait(g).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        g.waiters -= 1;
                        break;
                    }
                    g = self
                        .ready
                        .wait_timeout(g, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
            g.waiters -= 1;
        }
        g
    }
}

impl<T> AsyncResult<T> {
    pub(crate) fn new(
        shared: Arc<Shared<T>>,
        cancel: Box<dyn Fn() + Send + Sync>,
        sink: Arc<dyn Send + Sync>,
    ) -> Self {
        Self {
            shared,
            cancel,
            _sink: sink,
        }
    }

    /// Cancels the call: tasks not started are dropped, and workers running one of its tasks
    /// are killed and replaced. The result then resolves to [`Error::Cancelled`] (unless it
    /// was ready already). Returns whether it was still pending.
    pub fn cancel(&self) -> bool {
        if self.ready() {
            return false;
        }
        (self.cancel)();
        true
    }

    /// Waits for the result and returns it.
    pub fn get(self) -> Result<T> {
        let mut g = self.shared.wait_until(None);
        take(&mut g.value)
    }

    /// Waits at most `timeout` for the result. [`Error::Timeout`] if it is not ready (call
    /// again to wait more); once it was returned, later calls fail with
    /// [`Error::InvalidArgument`].
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        let mut g = self.shared.wait_until(Some(Instant::now() + timeout));
        if g.value.is_none() {
            return Err(Error::Timeout);
        }
        take(&mut g.value)
    }

    /// Waits until the result is ready.
    pub fn wait(&self) {
        drop(self.shared.wait_until(None));
    }

    /// Waits at most `timeout`; whether the result is ready.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.shared
            .wait_until(Some(Instant::now() + timeout))
            .value
            .is_some()
    }

    /// Whether the result is ready.
    pub fn ready(&self) -> bool {
        lock(&self.shared.value).value.is_some()
    }

    /// `None` while not ready; then whether the call succeeded.
    pub fn successful(&self) -> Option<bool> {
        match &lock(&self.shared.value).value {
            None => None,
            Some(Some(r)) => Some(r.is_ok()),
            Some(None) => Some(true),
        }
    }
}

fn take<T>(g: &mut Option<Option<Result<T>>>) -> Result<T> {
    match g.as_mut().and_then(Option::take) {
        Some(r) => r,
        None => Err(Error::InvalidArgument("this result was already taken")),
    }
}

/// A callback run with the value when an async call succeeds.
pub(crate) type Callback<T> = Box<dyn FnOnce(&T) + Send>;
/// A callback run with the error when an async call fails.
pub(crate) type ErrorCallback = Box<dyn FnOnce(&Error) + Send>;

struct CollectState<R> {
    slots: Vec<Option<R>>,
    remaining: usize,
    error: Option<(usize, Error)>,
    /// Whether every task was submitted (`slots` has its final length).
    sealed: bool,
    /// Whether the outcome was taken (it is taken once).
    completed: bool,
}

impl<R> CollectState<R> {
    /// The call's outcome, once sealed and every result is in (taken once).
    fn finished(&mut self) -> Option<Result<Vec<R>>> {
        if !self.sealed || self.remaining != 0 || self.completed {
            return None;
        }
        self.completed = true;
        Some(match self.error.take() {
            Some((_, e)) => Err(e),
            None => Ok(self.slots.iter_mut().filter_map(Option::take).collect()),
        })
    }
}

/// Collects the results of a call's tasks as they are submitted ([`expect`](Self::expect))
/// and answered; once [`seal`](Self::seal)ed and complete, finishes an [`AsyncResult`] and
/// runs the callbacks once.
pub(crate) struct Collect<R, T> {
    state: Mutex<CollectState<R>>,
    shared: Arc<Shared<T>>,
    finish: fn(Vec<R>) -> Result<T>,
    callbacks: Mutex<(Option<Callback<T>>, Option<ErrorCallback>)>,
}

impl<R, T: Send + 'static> Collect<R, T> {
    pub(crate) fn new(
        finish: fn(Vec<R>) -> Result<T>,
        callback: Option<Callback<T>>,
        error_callback: Option<ErrorCallback>,
    ) -> (Arc<Self>, Arc<Shared<T>>) {
        let shared = Shared::new();
        let sink = Arc::new(Self {
            state: Mutex::new(CollectState {
                slots: Vec::new(),
                remaining: 0,
                error: None,
                sealed: false,
                completed: false,
            }),
            shared: Arc::clone(&shared),
            finish,
            callbacks: Mutex::new((callback, error_callback)),
        });
        (sink, shared)
    }

    /// `n` more tasks were (are about to be) submitted, numbered after the previous ones.
    pub(crate) fn expect(&self, n: usize) {
        let mut st = lock(&self.state);
        let len = st.slots.len() + n;
        st.slots.resize_with(len, || None);
        st.remaining += n;
    }

    /// Every task was submitted; completes now if every result is in.
    pub(crate) fn seal(&self) {
        let done = {
            let mut st = lock(&self.state);
            st.sealed = true;
            st.finished()
        };
        if let Some(values) = done {
            self.complete(values);
        }
    }

    fn complete(&self, values: Result<Vec<R>>)
    where
        T: Send + 'static,
    {
        let value = values.and_then(self.finish);
        let (callback, error_callback) = std::mem::take(&mut *lock(&self.callbacks));
        let shared = Arc::clone(&self.shared);
        if callback.is_none() && error_callback.is_none() {
            shared.set(value);
            return;
        }
        // Callbacks run on a thread of their own, then the result is published: `get`
        // returns after the callback ran, and a callback that waits on the pool (even on
        // another result) cannot stall the driver that would deliver it.
        let run = move || {
            let ran = catch_unwind(AssertUnwindSafe(|| match &value {
                Ok(v) => callback.map(|cb| cb(v)),
                Err(e) => error_callback.map(|cb| cb(e)),
            }));
            match ran {
                Ok(_) => shared.set(value),
                Err(p) => {
                    // Reported where the caller looks (`get`), and on stderr for callers
                    // that never look.
                    let message = panic_message(p.as_ref());
                    eprintln!("forkpool: a result callback panicked: {message}");
                    shared.set(Err(Error::CallbackPanicked { message }));
                }
            }
        };
        let job = Arc::new(Mutex::new(Some(run)));
        let theirs = Arc::clone(&job);
        let spawned = std::thread::Builder::new()
            .name("forkpool-callback".into())
            .spawn(move || lock(&theirs).take().map(|run| run()));
        if spawned.is_err() {
            // No thread to be had: run it here rather than lose the result.
            if let Some(run) = lock(&job).take() {
                run();
            }
        }
    }
}

impl<R: DeserializeOwned + Send, T: Send + 'static> Sink for Collect<R, T> {
    fn deliver(&self, index: usize, result: Result<Raw>) {
        self.deliver_many(&mut std::iter::once((index, result)));
    }

    fn deliver_many(&self, results: &mut dyn Iterator<Item = (usize, Result<Raw>)>) {
        let mut guard = lock(&self.state);
        let st = &mut *guard;
        let mut done = None;
        for (index, result) in results {
            let count = result.as_ref().map_or(1, Raw::len);
            if index.saturating_add(count) > st.slots.len() || st.remaining < count {
                continue;
            }
            let mut place = |at: usize, decoded: Result<R>| match decoded {
                Ok(v) => st.slots[at] = Some(v),
                Err(e) => {
                    if st.error.as_ref().is_none_or(|(i, _)| at < *i) {
                        st.error = Some((at, e));
                    }
                }
            };
            match result {
                Ok(raw) => {
                    let mut at = index;
                    raw.decode_each(|v| {
                        place(at, v);
                        at += 1;
                    });
                }
                Err(e) => place(index, Err(e)),
            }
            st.remaining -= count;
            done = done.or_else(|| st.finished());
        }
        drop(guard);
        if let Some(values) = done {
            self.complete(values);
        }
    }
}

/// The queue between the driver and one `imap` iterator.
pub(crate) struct Stream {
    queue: Mutex<VecDeque<(usize, Result<Raw>)>>,
    ready: Condvar,
}

impl Stream {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            queue: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
        })
    }

    /// Waits until at least one result is queued, then takes all of them.
    pub(crate) fn take_all(&self) -> VecDeque<(usize, Result<Raw>)> {
        let mut q = lock(&self.queue);
        while q.is_empty() {
            q = self.ready.wait(q).unwrap_or_else(|p| p.into_inner());
        }
        std::mem::take(&mut *q)
    }
}

impl Sink for Stream {
    fn deliver(&self, index: usize, result: Result<Raw>) {
        lock(&self.queue).push_back((index, result));
        self.ready.notify_all();
    }

    fn deliver_many(&self, results: &mut dyn Iterator<Item = (usize, Result<Raw>)>) {
        lock(&self.queue).extend(results);
        self.ready.notify_all();
    }
}
