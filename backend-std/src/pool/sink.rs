//! Where released results go: an [`AsyncResult`] for `apply_async`/`map_async`, or an `imap`
//! iterator's queue. Sinks run outside the pool's lock, so a callback may use the pool.

pub use super::async_result::AsyncResult;
use super::async_result::Shared;
use super::callbacks::{self, Ticket};

use crate::error::{Error, Result};
pub(crate) use crate::protocol::Raw;
use crate::task::panic_message;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use super::lock::lock;
use std::sync::{Arc, Condvar, Mutex};

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

/// A callback run with the value when an async call succeeds.
pub(crate) type Callback<T> = Box<dyn FnOnce(&T) + Send>;
/// A callback run with the error when an async call fails.
pub(crate) type ErrorCallback = Box<dyn FnOnce(&Error) + Send>;

struct CollectState<R> {
    /// The results from index 0 on, as far as every one has come: the call's value
    /// grows here in place, with nothing per result around it.
    done: Vec<R>,
    /// The results after `done` that came before one ahead of them, by index from
    /// `done.len()`; each moves to `done` once every result before it is in.
    ahead: VecDeque<Option<R>>,
    /// How many tasks were submitted.
    expected: usize,
    remaining: usize,
    /// The failure of the lowest index so far: the call's outcome. Values after it are
    /// no longer kept (nor decoded).
    error: Option<(usize, Error)>,
    /// Whether every task was submitted (`expected` is final).
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
            None if self.done.len() == self.expected => Ok(std::mem::take(&mut self.done)),
            None => Err(Error::Internal("a map's results are incomplete")),
        })
    }
}

impl<R: DeserializeOwned> CollectState<R> {
    /// Takes the run of results for `index..`: each decoded straight onto the end of
    /// `done` when it comes next, otherwise kept aside until then.
    fn place(&mut self, index: usize, result: Result<Raw>) {
        let raw = match result {
            Ok(raw) => raw,
            Err(e) => return self.failed(index, e),
        };
        if self.error.as_ref().is_some_and(|(i, _)| index >= *i) {
            return; // the call failed before these: they are not needed
        }
        let (done, ahead) = (&mut self.done, &mut self.ahead);
        let (mut at, mut failed) = (index, None);
        raw.decode_each(|v| {
            match v {
                Ok(v) if failed.is_none() => {
                    if at == done.len() {
                        done.push(v);
                        // Its place ahead (empty) goes: the next index is now first.
                        ahead.pop_front();
                    } else {
                        let k = at - done.len();
                        if ahead.len() <= k {
                            ahead.resize_with(k + 1, || None);
                        }
                        ahead[k] = Some(v);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    failed.get_or_insert((at, e));
                }
            }
            at += 1;
        });
        if let Some((at, e)) = failed {
            return self.failed(at, e);
        }
        // Results kept aside that now come next move to the end.
        while let Some(Some(_)) = self.ahead.front() {
            if let Some(Some(v)) = self.ahead.pop_front() {
                self.done.push(v);
            }
        }
    }

    /// The task at `index` failed: the call fails, with the lowest index's error.
    fn failed(&mut self, index: usize, e: Error) {
        if self.error.as_ref().is_none_or(|(i, _)| index < *i) {
            self.error = Some((index, e));
            // Nothing from `index` on is needed any more.
            self.ahead.truncate(index.saturating_sub(self.done.len()));
        }
    }
}

/// Collects the results of a call's tasks as they are submitted ([`expect`](Self::expect))
/// and answered; once [`seal`](Self::seal)ed and complete, finishes an [`AsyncResult`] and
/// runs the callbacks once.
pub(crate) struct Collect<R, T> {
    state: Mutex<CollectState<R>>,
    shared: Arc<Shared<T>>,
    finish: fn(Vec<R>) -> Result<T>,
    callbacks: Mutex<Callbacks<T>>,
}

/// A call's callbacks, and the ticket that keeps its pool's `join` waiting until they ran.
type Callbacks<T> = (Option<Callback<T>>, Option<ErrorCallback>, Option<Ticket>);

impl<R, T: Send + 'static> Collect<R, T> {
    pub(crate) fn new(
        finish: fn(Vec<R>) -> Result<T>,
        callback: Option<Callback<T>>,
        error_callback: Option<ErrorCallback>,
        ticket: Option<Ticket>,
    ) -> (Arc<Self>, Arc<Shared<T>>) {
        let shared = Shared::new();
        let sink = Arc::new(Self {
            state: Mutex::new(CollectState {
                done: Vec::new(),
                ahead: VecDeque::new(),
                expected: 0,
                remaining: 0,
                error: None,
                sealed: false,
                completed: false,
            }),
            shared: Arc::clone(&shared),
            finish,
            callbacks: Mutex::new((callback, error_callback, ticket)),
        });
        (sink, shared)
    }

    /// `n` more tasks were (are about to be) submitted, numbered after the previous ones.
    pub(crate) fn expect(&self, n: usize) {
        let mut st = lock(&self.state);
        st.expected += n;
        st.remaining += n;
        let room = st.expected - st.done.len();
        st.done.reserve(room);
    }

    /// Makes room for `n` results before they are expected (a call's item count, where
    /// its iterator knows it).
    pub(crate) fn reserve(&self, n: usize) {
        lock(&self.state).done.reserve(n);
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
        let (callback, error_callback, ticket) = std::mem::take(&mut *lock(&self.callbacks));
        let shared = Arc::clone(&self.shared);
        if callback.is_none() && error_callback.is_none() {
            shared.set(value);
            return;
        }
        // Callbacks run on a callback thread, then the result is published: `get` returns
        // after the callback ran, and a callback that waits on the pool (even on another
        // result) cannot stall the driver that would deliver it.
        callbacks::run(Box::new(move |idle| {
            let call = || match &value {
                Ok(v) => callback.map(|cb| cb(v)),
                Err(e) => error_callback.map(|cb| cb(e)),
            };
            let ran = catch_unwind(AssertUnwindSafe(|| match &ticket {
                Some(t) => t.run(call),
                None => call(),
            }));
            // Free for the next callback before `get` can return.
            drop(idle);
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
            // Ran and published: the pool's `join` may return.
            drop(ticket);
        }));
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
            // Each task's result comes once; anything else (out of range, or already in)
            // is not counted.
            let known = index.saturating_add(count) <= st.expected
                && index >= st.done.len()
                && st.ahead.get(index - st.done.len()).is_none_or(Option::is_none);
            if !known || st.remaining < count {
                continue;
            }
            st.place(index, result);
            st.remaining -= count;
            done = done.or_else(|| st.finished());
        }
        drop(guard);
        if let Some(values) = done {
            self.complete(values);
        }
    }
}

/// The sink of one task whose value is the call's outcome, with no callback (every plain
/// `apply_async`): the result is decoded straight into the caller's slot, with no
/// collecting state around it.
impl<R: DeserializeOwned + Send> Sink for Shared<R> {
    fn deliver(&self, index: usize, result: Result<Raw>) {
        if index != 0 {
            return;
        }
        let value = result.and_then(|raw| {
            let mut one = None;
            raw.decode_each(|v| {
                one.get_or_insert(v);
            });
            one.unwrap_or_else(|| Err(Error::Internal("an empty result")))
        });
        self.set(value);
    }
}

/// The queue between the driver and one `imap` iterator (or stream).
pub(crate) struct Stream {
    queue: Mutex<Queued>,
    ready: Condvar,
}

/// Results not yet taken, and the async task to wake when more come (a `Stream`'s).
#[derive(Default)]
struct Queued {
    results: VecDeque<(usize, Result<Raw>)>,
    waker: Option<std::task::Waker>,
}

impl Stream {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            queue: Mutex::new(Queued::default()),
            ready: Condvar::new(),
        })
    }

    /// Waits until at least one result is queued, or `deadline` passes (then it may take
    /// none), and takes all of them.
    pub(crate) fn take_all(
        &self,
        deadline: Option<std::time::Instant>,
    ) -> VecDeque<(usize, Result<Raw>)> {
        let mut q = lock(&self.queue);
        while q.results.is_empty() {
            q = match deadline {
                None => self.ready.wait(q).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    self.ready
                        .wait_timeout(q, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
        std::mem::take(&mut q.results)
    }

    /// Takes every queued result, or (none queued) leaves `waker` to be woken when one
    /// comes and returns `None`.
    pub(crate) fn try_take_all(
        &self,
        waker: &std::task::Waker,
    ) -> Option<VecDeque<(usize, Result<Raw>)>> {
        let mut q = lock(&self.queue);
        if q.results.is_empty() {
            q.waker = Some(waker.clone());
            return None;
        }
        Some(std::mem::take(&mut q.results))
    }

    /// Queues results and wakes whoever waits for them.
    fn push(&self, results: &mut dyn Iterator<Item = (usize, Result<Raw>)>) {
        let waker = {
            let mut q = lock(&self.queue);
            q.results.extend(results);
            q.waker.take()
        };
        self.ready.notify_all();
        if let Some(w) = waker {
            super::async_result::wake(w);
        }
    }
}

impl Sink for Stream {
    fn deliver(&self, index: usize, result: Result<Raw>) {
        self.push(&mut std::iter::once((index, result)));
    }

    fn deliver_many(&self, results: &mut dyn Iterator<Item = (usize, Result<Raw>)>) {
        self.push(results);
    }
}

#[cfg(test)]
mod tests;
