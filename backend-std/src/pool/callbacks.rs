//! The threads that run result callbacks.
//!
//! A callback runs off the driver thread: a slow one must not stall the pool, and one may
//! wait on other results, which the driver delivers. It used to get a thread of its own,
//! which capped `apply_async` with a callback at about 29k calls/s here (Python: 37k).
//! Threads are now kept: a callback goes to a free callback thread. When more callbacks
//! wait than threads are free, one more thread is started, and each thread that takes a
//! callback while others still wait starts the next. So callbacks that block still run
//! side by side, as many at once as are blocked (as before), while quick ones share a
//! thread or a few.
//!
//! A thread counts itself free as soon as its callback has run, before it publishes the
//! result ([`Idle`]): a caller that waited for that result and makes its next call finds
//! the thread free. A free thread waits [`KEEP`] for the next callback, and at most
//! [`MAX_IDLE`] wait; the others end at once. A fork child starts with none.

use super::lock::lock;
use crate::sys::PerProcess;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long an idle callback thread waits for the next callback.
const KEEP: Duration = Duration::from_secs(10);

/// The most callback threads kept waiting.
const MAX_IDLE: usize = 4;

/// A callback and the publishing of its result. It is handed the thread's [`Idle`], to
/// drop once the user's code has run.
pub(crate) type Job = Box<dyn FnOnce(Idle) + Send>;

/// This process's callback threads and the callbacks waiting for one.
#[derive(Default)]
struct Runner {
    queue: Mutex<Queue>,
    work: Condvar,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Threads done with their callback and not yet holding another.
    free: usize,
    /// Callback threads alive.
    threads: usize,
    /// Whether a thread is starting: it takes a waiting callback once it runs, so no
    /// other is started meanwhile (a burst of quick callbacks would start one each).
    starting: bool,
}

impl Queue {
    /// Whether more callbacks wait than free threads can take, with no thread starting:
    /// the caller is to start one (a callback that blocks then never holds up the others).
    fn wants_thread(&mut self) -> bool {
        let wanted = self.jobs.len() > self.free && !self.starting;
        if wanted {
            self.starting = true;
            self.threads += 1;
        }
        wanted
    }
}

static RUNNER: PerProcess<Runner> = PerProcess::new();

/// Runs `job` on a free callback thread, or on a new one. If no thread can be started and
/// none is left, the waiting callbacks run on this thread (late, never lost).
pub(crate) fn run(job: Job) {
    let runner = RUNNER.get(Runner::default);
    let start = {
        let mut q = lock(&runner.queue);
        q.jobs.push_back(job);
        q.wants_thread()
    };
    runner.work.notify_one();
    if start {
        runner.start();
    }
}

impl Runner {
    /// Starts a callback thread (one was counted by [`Queue::wants_thread`]).
    fn start(&'static self) {
        let spawned = std::thread::Builder::new()
            .name("forkpool-callback".into())
            .spawn(move || self.serve());
        if spawned.is_ok() {
            return;
        }
        let orphans: Vec<Job> = {
            let mut q = lock(&self.queue);
            q.starting = false;
            q.threads -= 1;
            if q.threads > 0 {
                return; // those threads take the waiting callbacks as they come free
            }
            q.jobs.drain(..).collect()
        };
        for job in orphans {
            let _ = catch_unwind(AssertUnwindSafe(|| job(Idle(None))));
        }
    }

    /// A callback thread: takes waiting callbacks until none comes for [`KEEP`].
    fn serve(&'static self) {
        let mut next = {
            let mut q = lock(&self.queue);
            q.starting = false;
            self.take(q, false)
        };
        while let Some(job) = next {
            // A job catches the user's panics; one left (a captured value's `Drop`) must
            // not end a thread that is about to be counted free.
            let _ = catch_unwind(AssertUnwindSafe(|| job(Idle(Some(self)))));
            next = self.take(lock(&self.queue), true);
        }
    }

    /// The next callback for this thread (`free`: counted free since its last one); `None`
    /// when the thread is to end.
    fn take(&'static self, mut q: MutexGuard<'_, Queue>, free: bool) -> Option<Job> {
        loop {
            if let Some(job) = q.jobs.pop_front() {
                q.free -= usize::from(free);
                let start = q.wants_thread();
                drop(q);
                if start {
                    self.start();
                }
                return Some(job);
            }
            let waited = if free && q.free <= MAX_IDLE {
                let (g, waited) = self
                    .work
                    .wait_timeout(q, KEEP)
                    .unwrap_or_else(|p| p.into_inner());
                q = g;
                waited.timed_out()
            } else {
                true
            };
            if waited && q.jobs.is_empty() {
                q.free -= usize::from(free);
                q.threads -= 1;
                return None;
            }
        }
    }
}

/// Counts the callback thread free when dropped: once the callback has run, before its
/// result is published.
pub(crate) struct Idle(Option<&'static Runner>);

impl Drop for Idle {
    fn drop(&mut self) {
        if let Some(runner) = self.0 {
            lock(&runner.queue).free += 1;
        }
    }
}

/// The callbacks of one pool's calls that have not run yet: `join` waits for them, as
/// Python's `join` does (its result thread runs every callback before it ends), so results
/// a callback gathers are all in once `close` and `join` return.
#[derive(Default)]
pub(crate) struct Outstanding {
    count: Mutex<usize>,
    ran: Condvar,
}

thread_local! {
    /// The pool whose callback this thread runs, if any (its `Outstanding`'s address): a
    /// callback that joins its own pool does not wait for itself.
    static RUNNING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Outstanding {
    /// Counts a call's callbacks as outstanding until the returned ticket is dropped.
    pub(crate) fn ticket(self: &Arc<Self>) -> Ticket {
        *lock(&self.count) += 1;
        Ticket(Arc::clone(self))
    }

    /// Waits until every ticket is dropped (but the one whose callback this thread runs).
    pub(crate) fn wait_all(&self) {
        let own = RUNNING.with(|r| usize::from(r.get() == self as *const Self as usize));
        let mut count = lock(&self.count);
        while *count > own {
            count = self.ran.wait(count).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// One call's callbacks, outstanding until dropped (after they ran, or when the call is
/// dropped without an outcome).
pub(crate) struct Ticket(Arc<Outstanding>);

impl Ticket {
    /// Runs `f` (the call's callback) as this pool's callback on this thread.
    pub(crate) fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        struct Restore(usize);
        impl Drop for Restore {
            fn drop(&mut self) {
                RUNNING.with(|r| r.set(self.0));
            }
        }
        let _restore = Restore(RUNNING.with(|r| r.replace(Arc::as_ptr(&self.0) as usize)));
        f()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut count = lock(&self.0.count);
        *count -= 1;
        // Waiters wait for none left, or one (their own, see `wait_all`).
        if *count <= 1 {
            self.0.ran.notify_all();
        }
    }
}
