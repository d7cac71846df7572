//! The lazy iterators behind `imap` and `imap_unordered` (the `Pool` methods that start
//! them are in `imap_methods.rs`).
//!
//! Input is pulled from the user's iterator only while the core's result window has room,
//! so at most a window of tasks (1024 per worker of the pool, see `imap_order`) are
//! submitted-but-not-yielded at any time: an endless input works, and memory stays bounded
//! whatever the item count. Ordered and unordered differ only in the window type
//! (`GrowableOrdered` or `GrowableUnordered` from the core, each with that capacity).

use super::driver::Inner;
use super::encode::{Unsendable, next_chunk};
use super::imap_order::window_for;
use super::imap_order::{AsCompleted, IMapOrder, InOrder};
use super::ledger::BatchId;
use super::sink::{Raw, Stream};
use super::state::Phase;
use crate::error::{Error, Result};
use crate::owner::Home;
use forkpool_core::ResultOrder;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Poll, Waker};

/// Bytes of encoded arguments an `imap` keeps in flight at most, roughly: with large
/// arguments this, not the window's count, bounds its memory (a chunk over it still goes,
/// alone).
const IN_FLIGHT_BYTES: usize = 64 << 20;

/// The iterator `imap` (`O` = [`InOrder`]) and `imap_unordered` (`O` = [`AsCompleted`])
/// return. Yields each
/// task's result, or its error; dropping it cancels the tasks not yet started. An item that
/// cannot be sent (its `Serialize` fails: [`Error::Encode`]) yields its error in its place
/// and the input goes on, as in Python's `imap`; with chunks, the items of its chunk before
/// it run as a chunk of their own.
pub struct IMap<I, A, R, O: IMapOrder> {
    inner: Arc<Inner>,
    input: I,
    input_done: bool,
    call: usize,
    chunksize: usize,
    batch: BatchId,
    stream: Arc<Stream>,
    window: O::Window,
    /// Values of a run taken from the window, not yielded yet (at most a chunk's).
    ready: VecDeque<Result<R>>,
    next_index: u64,
    /// Why input stopped early (the pool no longer takes its tasks),
    /// yielded once the tasks submitted before are.
    failed: Option<Error>,
    stopped: bool,
    /// Whether the batch was sealed (the input is used up).
    sealed: bool,
    /// Deadline of each chunk submitted from now on, in milliseconds.
    timeout_ms: Option<u64>,
    /// Bytes and items of input encoded so far (their average size bounds the window for
    /// large arguments, see `limit`).
    encoded: (u64, u64),
    /// The pool's owner process: in a fork of it the iterator yields `NotOwner`.
    home: Home,
    _types: PhantomData<fn(A) -> R>,
}

impl<I, A, R, O> IMap<I, A, R, O>
where
    I: Iterator<Item = A>,
    A: Serialize,
    R: DeserializeOwned,
    O: IMapOrder,
{
    pub(crate) fn new(inner: Arc<Inner>, input: I, call: usize, chunksize: usize) -> Result<Self> {
        let stream = Stream::new();
        let (batch, window) = {
            let mut st = inner.lock_state();
            if st.phase != Phase::Running {
                return Err(Error::PoolNotRunning);
            }
            let window = window_for(st.slots.len());
            let me = std::thread::current().id();
            (st.ledger.new_fed_batch(stream.clone(), me), window)
        };
        Ok(Self {
            inner,
            input,
            input_done: false,
            call,
            chunksize: chunksize.clamp(1, window / 2),
            batch,
            stream,
            window: O::window(window),
            ready: VecDeque::new(),
            next_index: 0,
            failed: None,
            stopped: false,
            sealed: false,
            timeout_ms: None,
            encoded: (0, 0),
            home: Home::here(),
            _types: PhantomData,
        })
    }

    /// Gives each task (each chunk, with `imap_chunked`) at most `limit` to run once started:
    /// past it, its worker is stopped and replaced, and the task yields
    /// [`Error::TimedOut`] in its place while the others carry on. Applies to the tasks
    /// submitted after the call: call it before the first `next`.
    ///
    /// ```
    /// use std::time::Duration;
    /// fn nap(ms: u64) -> u64 { std::thread::sleep(Duration::from_millis(ms)); ms }
    /// let pool = forkpool::Pool::new(2)?;
    /// let got: Vec<_> = pool.imap(nap, [1, 60_000, 2])?.timeout(Duration::from_millis(500)).collect();
    /// assert_eq!(got[0].as_ref().unwrap(), &1);
    /// assert!(matches!(got[1], Err(forkpool::Error::TimedOut { .. })));
    /// assert_eq!(got[2].as_ref().unwrap(), &2);
    /// # Ok::<(), forkpool::Error>(())
    /// ```
    pub fn timeout(mut self, limit: std::time::Duration) -> Self {
        self.timeout_ms = Some(limit.as_millis().try_into().unwrap_or(u64::MAX));
        self
    }

    fn outstanding(&self) -> usize {
        self.window.held() + self.window.reserved()
    }

    /// Most tasks in flight now: the window, or fewer for large arguments, so that about
    /// [`IN_FLIGHT_BYTES`] of them are (by the average size of those encoded so far), but
    /// never fewer than two chunks.
    fn limit(&self) -> usize {
        let (bytes, items) = self.encoded;
        let fit = match bytes.checked_div(items) {
            Some(each) => IN_FLIGHT_BYTES / each.max(1) as usize,
            None => usize::MAX,
        };
        self.window.capacity().min(fit.max(2 * self.chunksize))
    }

    /// Once the window is at most half full, refills it: encodes chunks while a whole one
    /// fits (and half of [`IN_FLIGHT_BYTES`] is not reached), then submits them all under
    /// one lock and wakes the driver once.
    fn top_up(&mut self) -> Result<()> {
        let capacity = self.limit();
        if self.input_done || self.outstanding() > capacity / 2 {
            return Ok(());
        }
        let room = capacity.saturating_sub(self.outstanding());
        let (mut jobs, mut encoded, mut bytes) = (Vec::new(), 0, 0);
        // Input items that could not be sent: where they start (from `next_index`), and
        // the error each yields in its place.
        let mut unsent = Vec::new();
        while encoded + self.chunksize <= room && bytes < IN_FLIGHT_BYTES / 2 {
            let index = self.next_index as usize + encoded;
            let (job, failed) = match next_chunk(&mut self.input, self.call, index, self.chunksize) {
                Ok(Some(job)) => (Some(job), None),
                Ok(None) => {
                    self.input_done = true;
                    break;
                }
                Err(unsendable) => {
                    let Unsendable { before, errors } = *unsendable;
                    (before, Some(errors))
                }
            };
            if let Some(mut job) = job {
                encoded += job.n as usize;
                bytes += job.items.len();
                self.encoded.0 += job.items.len() as u64;
                self.encoded.1 += u64::from(job.n);
                job.timeout_ms = self.timeout_ms;
                jobs.push(job);
            }
            // It fails alone, as Python's `imap` does; the input goes on after it.
            if let Some(errors) = failed {
                let items = errors.len();
                unsent.push((encoded, errors));
                encoded += items;
            }
        }
        if !jobs.is_empty() {
            // Refused once the pool is terminated (the input left is then cut off as the
            // tasks in flight are); still taken after `close` while this iterator is open
            // (the scheduler closes when the last open batch is done).
            self.inner.hand_over(|st| {
                let terminated = st.phase == Phase::Terminated;
                st.submit(self.batch, jobs)
                    .map_err(|e| if terminated { Error::Terminated } else { e })
            })?;
        }
        if encoded > 0 {
            // Cannot fail: `room` was free, and indices are contiguous from `next_index`.
            let _ = self.window.try_reserve(self.next_index, encoded);
            for (at, errors) in unsent {
                for (k, error) in errors.into_iter().enumerate() {
                    let index = self.next_index + (at + k) as u64;
                    let _ = self.window.insert_run(index, 1, Err(error));
                }
            }
            self.next_index += encoded as u64;
        }
        if self.input_done {
            self.seal();
        }
        Ok(())
    }

    /// No more tasks come from this iterator: once the input is used up (or cut off), the
    /// batch is sealed, so a closed pool can finish (and `join` return) while the iterator
    /// is still in scope, its remaining results waiting in it.
    fn seal(&mut self) {
        if !self.sealed {
            self.sealed = true;
            self.inner
                .hand_over(|st| {
                    st.seal_batch(self.batch);
                    Ok(())
                })
                .ok();
        }
    }

    /// The next result, waiting at most `timeout`: Python's `IMapIterator.next(timeout)`.
    /// `None` once every result was yielded, as [`next`](Iterator::next); `Some(Err(`
    /// [`Error::Timeout`]`))` when none came in time, which takes nothing from the iterator
    /// (call again to wait more).
    ///
    /// ```
    /// use std::time::Duration;
    /// fn nap(ms: u64) -> u64 { std::thread::sleep(Duration::from_millis(ms)); ms }
    /// let pool = forkpool::Pool::new(1)?;
    /// let mut it = pool.imap(nap, [300])?;
    /// assert!(matches!(it.next_timeout(Duration::from_millis(10)), Some(Err(forkpool::Error::Timeout))));
    /// assert_eq!(it.next_timeout(Duration::from_secs(60)).unwrap()?, 300);
    /// assert!(it.next_timeout(Duration::from_secs(60)).is_none());
    /// # Ok::<(), forkpool::Error>(())
    /// ```
    pub fn next_timeout(&mut self, timeout: std::time::Duration) -> Option<Result<R>> {
        let deadline = std::time::Instant::now().checked_add(timeout);
        match self.advance(None, deadline) {
            Poll::Ready(item) => item,
            Poll::Pending => Some(Err(Error::Timeout)),
        }
    }

    /// The next item: waits for it (`waker` is `None`: the iterator; until `deadline`, if
    /// any, then `Pending`), or registers `waker` to be woken when a result arrives and
    /// returns `Pending` (the `Stream`).
    pub(super) fn advance(
        &mut self,
        waker: Option<&Waker>,
        deadline: Option<std::time::Instant>,
    ) -> Poll<Option<Result<R>>> {
        if self.stopped {
            return Poll::Ready(None);
        }
        if let Err(e) = self.home.check() {
            self.stopped = true;
            return Poll::Ready(Some(Err(e)));
        }
        loop {
            if let Err(e) = self.top_up() {
                // Yielded after the results of everything submitted before it.
                self.input_done = true;
                self.failed.get_or_insert(e);
                self.seal();
            }
            if let Some(value) = self.ready.pop_front() {
                return Poll::Ready(Some(value));
            }
            if let Some((_, _, result)) = self.window.pop() {
                match result {
                    Ok(raw) => raw.decode_each(|v| self.ready.push_back(v)),
                    Err(e) => self.ready.push_back(Err(e)),
                }
                continue;
            }
            if self.input_done && self.outstanding() == 0 {
                self.stopped = true;
                return Poll::Ready(self.failed.take().map(Err));
            }
            let arrived = match waker {
                None => {
                    let arrived = self.stream.take_all(deadline);
                    if arrived.is_empty() {
                        return Poll::Pending; // the deadline passed
                    }
                    arrived
                }
                Some(w) => match self.stream.try_take_all(w) {
                    Some(arrived) => arrived,
                    None => return Poll::Pending,
                },
            };
            for (index, result) in arrived {
                let count = result.as_ref().map_or(1, Raw::len);
                let _ = self.window.insert_run(index as u64, count, result);
            }
        }
    }
}

impl<I, A, R, O> Iterator for IMap<I, A, R, O>
where
    I: Iterator<Item = A>,
    A: Serialize,
    R: DeserializeOwned,
    O: IMapOrder,
{
    type Item = Result<R>;

    /// Exact while the input's length is known: one item per input item still to come.
    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.stopped {
            return (0, Some(0));
        }
        let here = self.ready.len() + self.outstanding() + usize::from(self.failed.is_some());
        if self.input_done {
            return (here, Some(here));
        }
        let (low, high) = self.input.size_hint();
        (
            here.saturating_add(low),
            high.and_then(|h| h.checked_add(here)),
        )
    }

    fn next(&mut self) -> Option<Result<R>> {
        match self.advance(None, None) {
            Poll::Ready(item) => item,
            Poll::Pending => None, // only with a waker
        }
    }
}

impl<I, A, R, O: IMapOrder> std::fmt::Debug for IMap<I, A, R, O> {
    /// Whether results come in input order, and how many are buffered or in flight.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IMap")
            .field("order", &std::any::type_name::<O>().rsplit("::").next())
            .field("ready", &self.ready.len())
            .field("in_flight", &(self.window.held() + self.window.reserved()))
            .field("input_done", &self.input_done)
            .field("chunksize", &self.chunksize)
            .finish()
    }
}

/// With an input of known length (a `Vec`, a range...), `len()` counts the results still
/// to come, so progress bars (`indicatif`'s `.progress()`) know the total.
impl<I, A, R, O> ExactSizeIterator for IMap<I, A, R, O>
where
    I: ExactSizeIterator<Item = A>,
    A: Serialize,
    R: DeserializeOwned,
    O: IMapOrder,
{
}

impl<I, A, R, O: IMapOrder> Drop for IMap<I, A, R, O> {
    fn drop(&mut self) {
        if !self.home.is_here() {
            return;
        }
        self.inner.lock_state().close_batch(self.batch);
        self.inner.wake();
    }
}

/// The ordered `imap` iterator type.
pub type IMapOrdered<I, A, R> = IMap<I, A, R, InOrder>;
/// The `imap_unordered` iterator type.
pub type IMapUnordered<I, A, R> = IMap<I, A, R, AsCompleted>;
