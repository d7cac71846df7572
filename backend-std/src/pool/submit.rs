//! Submitting a whole call (`map_async`, `starmap_async`, `apply_async`): its items are
//! encoded and handed to the scheduler a group of chunks at a time, so workers start on the
//! first chunks while the caller still encodes the rest. A plain `apply_async` (one task,
//! no callback) takes a leaner path: its result slot is its sink, and where the driver
//! holds the pool's lock its job is left for the driver (`deferred.rs`). And how a call's
//! `AsyncResult` cancels it.

use super::async_result::{CallId, Cancel, CancelCall, Shared};
use super::driver::Inner;
use super::encode::next_chunk;
use super::lone_bytes::lone_bytes_job;
use super::ledger::BatchId;
use super::options::AsyncOptions;
use super::sink::{Collect, Sink};
use super::jobs::TaskJob;
use super::state::{Phase, State};
use super::{Pool, sink::AsyncResult};
use crate::error::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::atomic::Ordering;
use std::sync::{Arc, TryLockError, Weak};
use std::time::Duration;

/// Items encoded before a group is submitted (unless one chunk is larger): few enough
/// that workers start early, enough that the lock and the wake-up are shared.
const GROUP_ITEMS: usize = 4096;

/// Most results a call makes room for before they come.
const RESERVE_MOST: usize = 1 << 22;

impl Pool {
    pub(crate) fn submit_all<A, R, T>(
        &self,
        call: usize,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
        finish: fn(Vec<R>) -> Result<T>,
        opts: AsyncOptions<T>,
    ) -> Result<AsyncResult<T>>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        T: Send + 'static,
    {
        // A call with callbacks keeps the pool's `join` waiting until they ran.
        let ticket = (opts.callback.is_some() || opts.error_callback.is_some())
            .then(|| self.inner.callbacks.ticket());
        let (sink, shared) = Collect::new(finish, opts.callback, opts.error_callback, ticket);
        let timeout_ms = opts.timeout.map(|t| t.as_millis().max(1) as u64);
        let mut items = items.into_iter();
        // Room for the results at once where the count is known (up to a bound: a size
        // hint is no promise, and past it the results' vector grows as they come).
        sink.reserve(items.size_hint().0.min(RESERVE_MOST));
        let mut index = 0;
        // The batch is registered with its first group, so a call of one group (every
        // `apply_async`) takes the pool's lock once. Until the last group is in, it is
        // abandoned if submitting stops (an error, or a panic in the caller's iterator).
        let mut registered = Submitting {
            pool: self,
            batch: None,
        };
        let batch = loop {
            let mut jobs: Vec<TaskJob> = Vec::new();
            let (mut group, mut done) = (0, false);
            while group < GROUP_ITEMS {
                let chunk = next_chunk(&mut items, call, index + group, chunksize.max(1));
                match chunk {
                    Ok(Some(mut job)) => {
                        job.timeout_ms = timeout_ms;
                        group += job.n as usize;
                        jobs.push(job);
                    }
                    Ok(None) => {
                        done = true;
                        break;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            sink.expect(group);
            index += group;
            let submitted = self.inner.hand_over(|st| {
                let id = match registered.batch {
                    Some(id) => id,
                    None if st.phase != Phase::Running => return Err(Error::PoolNotRunning),
                    None => st.new_batch(sink.clone(), true),
                };
                if let Err(e) = st.submit(id, jobs) {
                    return Ok(Err(e));
                }
                if done {
                    // The batch may have been what kept a closed pool's scheduler open.
                    st.seal_batch(id);
                }
                Ok(Ok(id))
            });
            let id = submitted.and_then(|r| r)?;
            registered.batch = Some(id);
            if done {
                registered.batch = None; // sealed: it is the call's now
                break id;
            }
        };
        sink.seal();
        Ok(AsyncResult::new(
            shared,
            canceller(&self.inner, CallId::Known(batch)),
            Some(sink),
        ))
    }

    /// Submits one task whose value is the outcome, with no callback: the lean path of
    /// `apply_async`, with the caller's result slot as the batch's sink.
    pub(super) fn submit_one<A, R>(
        &self,
        call: usize,
        args: A,
        timeout: Option<Duration>,
    ) -> Result<AsyncResult<R>>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        // One large byte buffer is taken as it is; other arguments are encoded from a
        // reference, and dropped once the job is on its way (freeing a large one takes
        // milliseconds the worker need not wait for).
        let (mut job, args) = match lone_bytes_job(args, call) {
            Ok(job) => (job, None),
            Err(args) => match next_chunk(&mut std::iter::once(&args), call, 0, 1)? {
                Some(job) => (job, Some(args)),
                None => return Err(Error::Internal("no task to submit")),
            },
        };
        job.timeout_ms = timeout.map(|t| t.as_millis().max(1) as u64);
        let shared = Shared::<R>::new();
        let batch = submit_or_leave(&self.inner, job, Arc::clone(&shared) as _)?;
        drop(args);
        Ok(AsyncResult::new(shared, canceller(&self.inner, batch), None))
    }
}

/// Submits a single-task call (its result goes to `sink`), sent at once where the
/// scheduler says so; or, if the driver holds the lock, leaves it for the driver
/// (`deferred.rs`: a job is never left behind, the checks after leaving see to that).
fn submit_or_leave(inner: &Inner, job: TaskJob, sink: Arc<dyn Sink>) -> Result<CallId> {
    let submit = |st: &mut State, job: TaskJob, sink: Arc<dyn Sink>| {
        if st.phase != Phase::Running {
            return Err(Error::PoolNotRunning);
        }
        let id = st.new_batch(sink, false);
        st.submit(id, [job])?;
        Ok(CallId::Known(id))
    };
    let st = match inner.state.try_lock() {
        Ok(st) => Some(st),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    };
    if let Some(mut st) = st {
        inner.deferred.submit_all(&mut st);
        return inner.hand_over_locked(st, |st| submit(st, job, sink));
    }
    // Sequentially consistent with the driver clearing `awake` before it looks for jobs.
    let driver_will_look =
        || inner.awake.load(Ordering::SeqCst) && inner.running.load(Ordering::SeqCst);
    if !driver_will_look() {
        // Held by another caller (briefly), or the pool stops: wait for the lock.
        return inner.hand_over(|st| submit(st, job, sink));
    }
    let batch = inner.deferred.leave(job, sink);
    if !driver_will_look() {
        // The driver may have looked for jobs already: submit it (and any other).
        inner.hand_over(|_| Ok(()))?;
    }
    Ok(CallId::Left(batch))
}

/// How a call's [`AsyncResult`] cancels it: its call, in its pool (if the pool is still
/// there).
fn canceller(inner: &Arc<Inner>, batch: CallId) -> Cancel {
    let pool: Weak<Inner> = Arc::downgrade(inner);
    Cancel::new(pool, batch)
}

impl CancelCall for Inner {
    fn cancel_call(&self, batch: &CallId) {
        // Taking the lock submits a job left for the driver first: its id is then set.
        let _ = self.hand_over(|st| {
            if let Some(batch) = batch.get() {
                st.cancel_batch(batch);
            }
            Ok(())
        });
    }
}

/// A call's batch while its groups are submitted: if submitting stops before the last one
/// (an error, or a panic in the caller's iterator or `Serialize`), what was queued is
/// dropped and what runs finishes unseen, so the batch keeps no closed pool open.
struct Submitting<'a> {
    pool: &'a Pool,
    batch: Option<BatchId>,
}

impl Drop for Submitting<'_> {
    fn drop(&mut self) {
        if let Some(batch) = self.batch.take() {
            self.pool.inner.lock_state().close_batch(batch);
            self.pool.inner.wake();
        }
    }
}
