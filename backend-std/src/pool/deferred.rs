//! Jobs of `apply_async` calls left for the driver, for a caller not to wait for the pool's
//! lock while the driver holds it (`Pool::submit_one`).
//!
//! In a loop of `apply_async` calls of tiny tasks the caller takes the pool's lock for
//! each call, and the driver holds it for 15-50 µs a turn (it settles the results it read
//! and dispatches jobs): the caller slept 50-127 ms of a 200k-call loop of 140-330 ms
//! waiting for it. So a call that finds the lock taken while the driver is awake leaves
//! its job here instead, and whoever takes the lock next (`Inner::lock_state`: the
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

use super::jobs::TaskJob;
use super::ledger::BatchId;
use super::lock::lock;
use super::sink::Sink;
use super::state::{Phase, State};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

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
    /// Leaves a call's job (its result goes to `sink`); the call's id, set once it is
    /// submitted.
    pub(super) fn leave(&self, job: TaskJob, sink: Arc<dyn Sink>) -> Arc<OnceLock<BatchId>> {
        let batch = Arc::new(OnceLock::new());
        lock(&self.calls).push(Call {
            job,
            sink,
            batch: Arc::clone(&batch),
        });
        self.any.store(true, Ordering::SeqCst);
        batch
    }

    /// Whether jobs were left (the driver looks before it waits).
    pub(crate) fn any(&self) -> bool {
        self.any.load(Ordering::SeqCst)
    }

    /// Submits every job left, in order (under the pool's lock).
    pub(super) fn submit_all(&self, st: &mut State) {
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
