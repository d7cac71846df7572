//! Driver threads kept for the next pool. A pool's driver thread, once its pool is finished,
//! waits up to [`KEEP`] for another pool to drive instead of ending, so a program that
//! builds pools one after another does not start and end a thread for each (about 45 µs a
//! pair here). At most [`MAX_IDLE`] wait. A fork child has none: the waiting threads of its
//! parent are not in it, and it keeps its own list.

use super::driver::{self, Inner};
use super::lock::lock;
use crate::sys::PerProcess;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long a finished pool's driver thread waits for another pool.
const KEEP: Duration = Duration::from_secs(10);

/// The most driver threads waiting at once.
const MAX_IDLE: usize = 4;

/// A pool to drive, and what to tell when the thread is done with it.
type Job = (Arc<Inner>, Arc<Released>);

/// A waiting driver thread: its number (to take itself off the list) and where to hand it
/// a pool.
type Waiting = (u64, SyncSender<Job>);

/// Whether a driver thread has let go of its pool (dropped everything of it): what a
/// pool's drop waits for, as it would join the thread, so nothing of the pool outlives it.
#[derive(Default)]
pub(crate) struct Released {
    done: Mutex<bool>,
    cv: Condvar,
}

impl Released {
    fn set(&self) {
        *lock(&self.done) = true;
        self.cv.notify_all();
    }

    /// Waits until the driver thread has let go of its pool.
    pub(crate) fn wait(&self) {
        let mut done = lock(&self.done);
        while !*done {
            done = self.cv.wait(done).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// This process's waiting driver threads, and the number for the next.
static IDLE: PerProcess<Mutex<(Vec<Waiting>, u64)>> = PerProcess::new();

fn idle() -> &'static Mutex<(Vec<Waiting>, u64)> {
    IDLE.get(|| Mutex::new((Vec::new(), 0)))
}

/// Runs `inner`'s driver loop on a waiting driver thread, or on a new one; the returned
/// [`Released`] is set once that thread has let go of the pool.
pub(crate) fn drive(inner: Arc<Inner>) -> std::io::Result<Arc<Released>> {
    let released = Arc::new(Released::default());
    let mut job = (inner, Arc::clone(&released));
    loop {
        let Some((_, to)) = lock(idle()).0.pop() else {
            break;
        };
        match to.send(job) {
            Ok(()) => return Ok(released),
            // That thread is gone: the next one, or a new thread.
            Err(back) => job = back.0,
        }
    }
    std::thread::Builder::new()
        .name("forkpool-driver".into())
        .spawn(move || serve(job))
        .map(|_| released)
}

/// A driver thread: drives `first`, then each pool it is handed while it waits.
fn serve(first: Job) {
    let mut next = Some(first);
    while let Some((inner, released)) = next.take() {
        // Set even if the loop panics (the pool learns of that through `Inner::wait_end`;
        // the thread then ends).
        let released = SetOnDrop(released);
        driver::run(inner);
        // On the list before the pool's drop returns, so the next pool finds this thread.
        let waiting = enlist();
        drop(released);
        next = waiting.and_then(|(me, from)| wait_for_a_pool(me, from));
    }
}

/// Sets a [`Released`] when dropped.
struct SetOnDrop(Arc<Released>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// Puts this thread on the waiting list (unless [`MAX_IDLE`] wait): its number and where
/// its next pool comes.
fn enlist() -> Option<(u64, Receiver<Job>)> {
    let (to, from) = sync_channel(1);
    let mut idle = lock(idle());
    if idle.0.len() >= MAX_IDLE {
        return None;
    }
    idle.1 += 1;
    let me = idle.1;
    idle.0.push((me, to));
    Some((me, from))
}

/// Waits for a pool, at most [`KEEP`]; `None` when this thread is to end.
fn wait_for_a_pool(me: u64, from: Receiver<Job>) -> Option<Job> {
    if let Ok(job) = from.recv_timeout(KEEP) {
        return Some(job);
    }
    // Off the list, unless a pool took this thread meanwhile: its pool is on its way.
    {
        let mut idle = lock(idle());
        if let Some(at) = idle.0.iter().position(|(n, _)| *n == me) {
            idle.0.remove(at);
            return None;
        }
    }
    from.recv().ok()
}
