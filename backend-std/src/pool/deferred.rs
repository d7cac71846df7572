//! `apply_async` without waiting for the pool's lock while the driver holds it; and how a
//! call is cancelled, its job submitted or still left.
//!
//! In a loop of `apply_async` calls of tiny tasks the caller takes the pool's lock for
//! each call, and the driver holds it for 15-50 µs a turn (it settles the results it read
//! and dispatches jobs): the caller slept 50-127 ms of a 200k-call loop of 140-330 ms
//! waiting for it. So a call that finds the lock taken while the driver is awake leaves
//! its job here instead, and whoever takes the lock next ([`Inner::lock_state`]: the
//! driver's next turn, or any caller) submits it first, before anything else it does
//! under the lock. Every job left here is submitted in the order it was left, and before
//! any later change of the same thread (its next call, `close`, `cancel`) takes effect.
//!
//! A job is never left behind: the caller leaves it, then looks whether the driver is
//! still awake; the driver, once it clears that flag, looks for jobs left before it waits
//! (both sequentially consistent, so one of them sees the other). A caller that finds the
//! driver asleep, or the pool no longer running, takes the lock itself (and pumps). A job
//! left for a pool that stops running meanwhile fails with `PoolNotRunning`, as its call
//! would have, delivered by the next pump outside the lock.

use super::async_result::{CallId, Cancel, CancelCall};
use super::driver::Inner;
use super::jobs::TaskJob;
use super::ledger::BatchId;
use super::lock::lock;
use super::sink::Sink;
use super::state::{Phase, State};
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, TryLockError, Weak};

/// Jobs of single-task calls left for the next holder of the pool's lock.
#[derive(Default)]
pub(crate) struct Deferred {
    calls: Mutex<Vec<Call>>,
    /// Whether `calls` may hold any (read without its lock).
    any: AtomicBool,
}

/// One call's job, where its result goes, and the id its call gets once submitted (for
/// `cancel`; never set if the pool refused it).
struct Call {
    job: TaskJob,
    sink: Arc<dyn Sink>,
    batch: Arc<OnceLock<BatchId>>,
}

impl Deferred {
    fn leave(&self, call: Call) {
        lock(&self.calls).push(call);
        self.any.store(true, Ordering::SeqCst);
    }

    /// Whether jobs were left (the driver looks before it waits).
    pub(crate) fn any(&self) -> bool {
        self.any.load(Ordering::SeqCst)
    }

    /// Submits every job left, in order (under the pool's lock).
    fn submit_all(&self, st: &mut State) {
        if !self.any() {
            return;
        }
        let calls = {
            let mut calls = lock(&self.calls);
            self.any.store(false, Ordering::SeqCst);
            std::mem::take(&mut *calls)
        };
        for call in calls {
            if st.phase != Phase::Running {
                // Failed by the next pump, outside the lock (a result may wake a task).
                st.refused.push(call.sink);
                continue;
            }
            let id = st.new_batch(Arc::clone(&call.sink), false);
            let _ = call.batch.set(id);
            if st.submit(id, [call.job]).is_err() {
                st.refused.push(call.sink);
            }
        }
    }
}

impl Inner {
    /// The pool's lock, with every job left for it submitted first.
    pub(crate) fn lock_state(&self) -> MutexGuard<'_, State> {
        let mut st = lock(&self.state);
        self.deferred.submit_all(&mut st);
        st
    }

    /// Submits a single-task call (its result goes to `sink`), sent at once where the
    /// scheduler says so; or, if the driver holds the lock, leaves it for the driver (its
    /// id is then set once it is submitted).
    pub(crate) fn submit_one(&self, job: TaskJob, sink: Arc<dyn Sink>) -> Result<CallId> {
        let submit = |st: &mut State, job: TaskJob, sink: Arc<dyn Sink>| {
            if st.phase != Phase::Running {
                return Err(Error::PoolNotRunning);
            }
            let id = st.new_batch(sink, false);
            st.submit(id, [job])?;
            Ok(CallId::Known(id))
        };
        let st = match self.state.try_lock() {
            Ok(st) => Some(st),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        };
        if let Some(mut st) = st {
            self.deferred.submit_all(&mut st);
            return self.hand_over_locked(st, |st| submit(st, job, sink));
        }
        if !self.awake.load(Ordering::SeqCst) || !self.running.load(Ordering::SeqCst) {
            // Held by another caller (briefly), or the pool stops: wait for the lock.
            return self.hand_over(|st| submit(st, job, sink));
        }
        let batch = Arc::new(OnceLock::new());
        self.deferred.leave(Call {
            job,
            sink,
            batch: Arc::clone(&batch),
        });
        if !self.awake.load(Ordering::SeqCst) || !self.running.load(Ordering::SeqCst) {
            // The driver may have looked for jobs already: submit it (and any other).
            self.hand_over(|_| Ok(()))?;
        }
        Ok(CallId::Left(batch))
    }
}

/// How a call's [`AsyncResult`](super::AsyncResult) cancels it: its batch, in its pool
/// (if the pool is still there).
pub(crate) fn canceller(inner: &Arc<Inner>, batch: CallId) -> Cancel {
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

/// Whether the pool still takes calls (cleared under the lock by `close` and `terminate`).
pub(crate) fn running_flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(true))
}
