//! The lazy iterators behind `imap` and `imap_unordered`.
//!
//! Input is pulled from the user's iterator only while the core's result window has room,
//! so at most `WINDOW` tasks are submitted-but-not-yielded at any time: an endless input
//! works, and memory stays bounded whatever the item count. Ordered and unordered differ
//! only in the window type (`Ordered` or `Unordered` from the core).

use super::Pool;
use super::driver::Inner;
use super::encode::next_chunk;
use super::imap_order::WINDOW;
use super::imap_order::{AsCompleted, IMapOrder, InOrder, OneArg};
use super::ledger::BatchId;
use super::lock::lock;
use super::sink::{Raw, Stream};
use super::state::Phase;
use crate::error::{Error, Result};
use crate::owner::Home;
use crate::task::{TaskFn, erase};
use forkpool_core::ResultOrder;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Poll, Waker};


/// The iterator `imap` (`O` = [`InOrder`]) and `imap_unordered` (`O` = [`AsCompleted`])
/// return. Yields each
/// task's result, or its error; dropping it cancels the tasks not yet started. An item that
/// cannot be encoded ends the input: the tasks before it still yield, then its
/// [`Error::Encode`], then nothing.
pub struct IMap<I, A, R, O: IMapOrder> {
    inner: Arc<Inner>,
    input: I,
    input_done: bool,
    call: usize,
    chunksize: usize,
    batch: BatchId,
    stream: Arc<Stream>,
    window: Box<O::Window>,
    /// Values of a run taken from the window, not yielded yet (at most a chunk's).
    ready: VecDeque<Result<R>>,
    next_index: u64,
    /// Why input stopped early (an item that would not encode, a pool no longer running),
    /// yielded once the tasks submitted before are.
    failed: Option<Error>,
    stopped: bool,
    /// Whether the batch was sealed (the input is used up).
    sealed: bool,
    /// Deadline of each chunk submitted from now on, in milliseconds.
    timeout_ms: Option<u64>,
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
        let batch = {
            let mut st = lock(&inner.state);
            if st.phase != Phase::Running {
                return Err(Error::PoolNotRunning);
            }
            st.new_batch(stream.clone(), true)
        };
        Ok(Self {
            inner,
            input,
            input_done: false,
            call,
            chunksize: chunksize.clamp(1, WINDOW / 2),
            batch,
            stream,
            window: O::window(),
            ready: VecDeque::new(),
            next_index: 0,
            failed: None,
            stopped: false,
            sealed: false,
            timeout_ms: None,
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

    /// Once the window is at most half full, refills it: encodes chunks while a whole one
    /// fits, then submits them all under one lock and wakes the driver once.
    fn top_up(&mut self) -> Result<()> {
        let capacity = self.window.capacity();
        if self.input_done || self.outstanding() > capacity / 2 {
            return Ok(());
        }
        let room = capacity - self.outstanding();
        let (mut jobs, mut encoded, mut failed) = (Vec::new(), 0, None);
        while encoded + self.chunksize <= room {
            let index = self.next_index as usize + encoded;
            match next_chunk(&mut self.input, self.call, index, self.chunksize) {
                Ok(Some(mut job)) => {
                    encoded += job.n as usize;
                    job.timeout_ms = self.timeout_ms;
                    jobs.push(job);
                }
                Ok(None) => {
                    self.input_done = true;
                    break;
                }
                // The chunks before the one that failed still run.
                Err(e) => {
                    failed = Some(e);
                    self.input_done = true;
                    break;
                }
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
            // Cannot fail: `room` was free, and indices are contiguous from `next_index`.
            let _ = self.window.try_reserve(self.next_index, encoded);
            self.next_index += encoded as u64;
        }
        if self.input_done {
            self.seal();
        }
        failed.map_or(Ok(()), Err)
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

    /// The next item: waits for it (`waker` is `None`, the iterator), or registers `waker`
    /// to be woken when a result arrives and returns `Pending` (the `Stream`).
    pub(super) fn advance(&mut self, waker: Option<&Waker>) -> Poll<Option<Result<R>>> {
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
                None => self.stream.take_all(),
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

    /// Exact while the input's length is known: one item per input item still to come
    /// (an item that cannot be encoded ends the iterator early, with its error).
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
        match self.advance(None) {
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
        lock(&self.inner.state).close_batch(self.batch);
        self.inner.wake();
    }
}

/// The ordered `imap` iterator type.
pub type IMapOrdered<I, A, R> = IMap<I, A, R, InOrder>;
/// The `imap_unordered` iterator type.
pub type IMapUnordered<I, A, R> = IMap<I, A, R, AsCompleted>;

impl Pool {
    /// Lazily applies `f` to every item; yields results in input order. Input is pulled
    /// only as workers need it, and at most [`WINDOW`] results are held.
    pub fn imap<F, T, R, I>(
        &self,
        f: F,
        items: I,
    ) -> Result<IMapOrdered<OneArg<I::IntoIter>, (T,), R>>
    where
        F: TaskFn<(T,), R>,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = T>,
    {
        self.imap_chunked(f, items, 1)
    }

    /// [`imap`](Self::imap) with an explicit chunk size (at most half of [`WINDOW`]).
    pub fn imap_chunked<F, T, R, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<IMapOrdered<OneArg<I::IntoIter>, (T,), R>>
    where
        F: TaskFn<(T,), R>,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = T>,
    {
        self.home.check()?;
        let input = OneArg(items.into_iter());
        IMap::<_, _, _, InOrder>::new(
            Arc::clone(&self.inner),
            input,
            erase::<F, (T,), R>(f),
            chunksize,
        )
    }

    /// Like [`imap`](Self::imap), but yields results as they complete.
    pub fn imap_unordered<F, T, R, I>(
        &self,
        f: F,
        items: I,
    ) -> Result<IMapUnordered<OneArg<I::IntoIter>, (T,), R>>
    where
        F: TaskFn<(T,), R>,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = T>,
    {
        self.imap_unordered_chunked(f, items, 1)
    }

    /// [`imap_unordered`](Self::imap_unordered) with an explicit chunk size.
    pub fn imap_unordered_chunked<F, T, R, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<IMapUnordered<OneArg<I::IntoIter>, (T,), R>>
    where
        F: TaskFn<(T,), R>,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = T>,
    {
        self.home.check()?;
        let input = OneArg(items.into_iter());
        IMap::<_, _, _, AsCompleted>::new(
            Arc::clone(&self.inner),
            input,
            erase::<F, (T,), R>(f),
            chunksize,
        )
    }
}
