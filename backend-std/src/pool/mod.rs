//! `Pool`: Python's `multiprocessing.Pool` over forked worker processes, driven by the
//! core's scheduler.

mod async_result;
mod batch_id;
mod await_result;
mod builder;
mod callbacks;
mod deferred;
mod deliveries;
mod departures;
mod driver;
mod driver_threads;
mod effects;
mod encode;
mod erased;
mod events;
mod exits;
mod far;
mod far_jobs;
#[cfg(test)]
mod fake_workers;
mod imap;
mod imap_methods;
mod imap_order;
#[cfg(feature = "stream")]
mod imap_stream;
mod jobs;
mod lone_bytes;
mod map_methods;
mod ledger;
mod lock;
mod messages;
mod options;
mod outbox;
mod pieces;
pub(crate) mod processes;
mod requeue;
mod routing;
mod sink;
mod starts;
mod startup;
mod state;
mod stats;
mod submit;
mod threads;
pub(crate) mod transport;
mod turn;

pub use await_result::{Completions, ResultFuture, as_completed};
pub use builder::PoolBuilder;
pub use imap::{IMap, IMapOrdered, IMapUnordered};
pub use imap_order::{AsCompleted, IMapOrder, InOrder, OneArg, WINDOW as IMAP_WINDOW};
pub use options::AsyncOptions;
pub use sink::AsyncResult;
pub use state::MAX_PROCESSES;
pub(crate) use transport::Init;
pub(crate) use threads::Threads;
pub use stats::PoolStats;

use crate::error::{Error, Result};
use crate::owner::Home;
use crate::task::{TaskFn, erase};
use deliveries::Deliveries;
use driver::Inner;
use serde::Serialize;
use serde::de::DeserializeOwned;
use state::Phase;
use std::sync::Arc;

/// A pool of worker processes, like Python's `multiprocessing.Pool`.
///
/// Task functions are fn items or closures that capture nothing; arguments and results
/// cross the process boundary with serde. A worker that dies fails only the task it held
/// (with [`Error::WorkerDied`], or [`Error::Panicked`] for a panic) and is replaced.
/// Dropping the pool terminates it: every pending result resolves to
/// [`Error::Terminated`], and the workers are told to stop (`SIGTERM`) and left to the fork
/// server, which reaps each as it exits and kills one that has not left within 2 s; the
/// drop does not wait for them to exit (`terminate` then `join` does).
///
/// Workers are forked from a fork server that started before `main`, so they see the
/// program as it was then (statics set later are not there: use
/// [`PoolBuilder::initializer`]). They do take your process's credentials (uid, gid,
/// supplementary groups), environment, working directory and umask as they are when each
/// worker starts, so dropping root in `main` reaches the tasks; not resource limits,
/// seccomp/Landlock filters or namespaces set after the fork server started. They ignore
/// the terminal's Ctrl-C unless [`PoolBuilder::terminate_on_interrupt`] says otherwise.
/// Their standard input is `/dev/null`, as in Python. A pool belongs to the process that
/// made it: in a fork of it (a [`crate::Process`] child that captured it) every method
/// fails with [`Error::NotOwner`] and touches nothing.
///
/// ```
/// fn square(x: u64) -> u64 { x * x }
/// let pool = forkpool::Pool::new(2)?;
/// assert_eq!(pool.map(square, 1..=4)?, [1, 4, 9, 16]);
/// assert_eq!(pool.apply(|a: u64, b: u64| a + b, (2, 3))?, 5);
/// # Ok::<(), forkpool::Error>(())
/// ```
pub struct Pool {
    inner: Arc<Inner>,
    /// Set once the driver thread has let go of the pool (see `driver_threads`).
    released: Arc<driver_threads::Released>,
    processes: usize,
    /// The process that made the pool; in any other (a fork of it) every method refuses.
    home: Home,
}

impl Pool {
    /// A pool of `processes` workers; [`Error::InvalidArgument`] for 0. Returns once every
    /// worker is forked and the first has answered: the others finish booting while it
    /// runs the first task. (Python's `Pool()` returns before any worker has started; a
    /// start that fails here, out of processes or descriptors, fails `new`.)
    pub fn new(processes: usize) -> Result<Self> {
        Self::builder().processes(processes).build()
    }

    /// Configure a pool: processes, initializer, maxtasksperchild.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// Number of worker processes.
    pub fn processes(&self) -> usize {
        self.processes
    }

    /// The pids of the worker processes running now (replacements get new pids); none
    /// outside the pool's owner process.
    pub fn pids(&self) -> Vec<u32> {
        if !self.home.is_here() {
            return Vec::new();
        }
        let st = self.inner.lock_state();
        st.slots
            .iter()
            .flatten()
            .map(|s| s.pid.as_raw() as u32)
            .collect()
    }

    /// What the pool is doing and has done: tasks queued, running, completed and failed,
    /// workers running and restarted (a snapshot; see [`PoolStats`]). The default
    /// (all zero) outside the pool's owner process.
    ///
    /// ```
    /// fn double(x: u32) -> u32 { x * 2 }
    /// let pool = forkpool::Pool::new(2)?;
    /// pool.map(double, 0..10)?;
    /// let s = pool.stats();
    /// assert_eq!((s.completed, s.failed, s.queued, s.running), (10, 0, 0, 0));
    /// assert_eq!((s.workers, s.restarts), (2, 0));
    /// # Ok::<(), forkpool::Error>(())
    /// ```
    pub fn stats(&self) -> PoolStats {
        if !self.home.is_here() {
            return PoolStats::default();
        }
        self.inner.lock_state().stats()
    }

    /// Runs `f(args...)` in a worker and waits for its result.
    pub fn apply<F, A, R>(&self, f: F, args: A) -> Result<R>
    where
        F: TaskFn<A, R>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.apply_async(f, args)?.get()
    }

    /// Runs `f(args...)` in a worker; returns at once.
    pub fn apply_async<F, A, R>(&self, f: F, args: A) -> Result<AsyncResult<R>>
    where
        F: TaskFn<A, R>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.apply_async_with(f, args, AsyncOptions::new())
    }

    /// [`apply_async`](Self::apply_async) with a callback and an error callback.
    pub fn apply_async_with<F, A, R>(
        &self,
        f: F,
        args: A,
        opts: AsyncOptions<R>,
    ) -> Result<AsyncResult<R>>
    where
        F: TaskFn<A, R>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        fn single<R>(v: Vec<R>) -> Result<R> {
            v.into_iter()
                .next()
                .ok_or(Error::Internal("no result for apply"))
        }
        let call = erase::<F, A, R>(f);
        self.home.check()?;
        if opts.callback.is_none() && opts.error_callback.is_none() {
            return self.submit_one(call, args, opts.timeout);
        }
        // As in `submit_one`, the arguments are dropped once the job is on its way.
        let submitted = self.submit_all(call, [&args], 1, single, opts);
        drop(args);
        submitted
    }

    /// Takes no more work; workers exit once everything submitted is done. Does nothing
    /// outside the pool's owner process.
    pub fn close(&self) {
        if !self.home.is_here() {
            return;
        }
        // Idle workers are told to exit from here, at once; the driver, woken, sees them
        // leave.
        let _ = self.inner.hand_over(|st| {
            st.close();
            Ok(())
        });
        self.inner.wake();
    }

    /// Stops at once: kills and reaps every worker; every pending result and iterator
    /// resolves to [`Error::Terminated`]. Does nothing outside the pool's owner process
    /// (a fork of it must not signal the owner's workers).
    pub fn terminate(&self) {
        if !self.home.is_here() {
            return;
        }
        let mut out = Deliveries::new();
        {
            let mut st = self.inner.lock_state();
            st.terminate();
            st.pump(&mut out);
        }
        out.deliver();
        self.inner.wake();
    }

    /// Waits for the workers to exit, after [`close`](Self::close) or
    /// [`terminate`](Self::terminate) ([`Error::StillRunning`] before), and for the
    /// callbacks of the calls made before to have run, as Python's `join` does: what
    /// callbacks gather is complete once `join` returns. An `imap` submits its input as it
    /// is consumed, so one this thread made and has not used up or dropped would keep the
    /// pool busy for ever: `join` then returns [`Error::ImapNotConsumed`] at once (the
    /// iterator still yields every result).
    ///
    /// A worker counts as gone once it has ended or, told to exit, has closed every
    /// descriptor it held (its end of the pool, and any pipe or file a task kept): it runs
    /// no more tasks and nothing of it can be reached. The kernel may still be freeing its memory
    /// for a few hundred microseconds, at the lowest CPU priority; the fork server reaps it.
    /// A callback that joins its own pool does not wait for itself.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// fn square(x: u64) -> u64 { x * x }
    /// let pool = forkpool::Pool::new(2)?;
    /// let got = Arc::new(Mutex::new(Vec::new()));
    /// for x in 0..10 {
    ///     let got = Arc::clone(&got);
    ///     let opts = forkpool::AsyncOptions::new().callback(move |v: &u64| got.lock().unwrap().push(*v));
    ///     pool.apply_async_with(square, (x,), opts)?;
    /// }
    /// pool.close();
    /// pool.join()?;
    /// assert_eq!(got.lock().unwrap().len(), 10);
    /// # Ok::<(), forkpool::Error>(())
    /// ```
    pub fn join(&self) -> Result<()> {
        self.home.check()?;
        {
            let st = self.inner.lock_state();
            if st.phase == Phase::Running {
                return Err(Error::StillRunning);
            }
            if st.ledger.fed_by(std::thread::current().id()) {
                return Err(Error::ImapNotConsumed);
            }
        }
        let end = self.inner.wait_end();
        self.inner.callbacks.wait_all();
        match end {
            driver::End::Finished => Ok(()),
            driver::End::Panicked => {
                Err(Error::Internal("the pool's driver thread panicked"))
            }
        }
    }
}

impl std::fmt::Debug for Pool {
    /// The pool's size and phase (`Running`, `Closed`, `Terminated`), and in its owner
    /// process the live numbers of [`Pool::stats`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Pool");
        d.field("processes", &self.processes);
        if self.home.is_here() {
            let (phase, stats) = {
                let st = self.inner.lock_state();
                (st.phase, st.stats())
            };
            d.field("phase", &phase).field("stats", &stats);
        } else {
            d.field("owner", &self.home);
        }
        d.finish()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if !self.home.is_here() {
            // A fork's copy: the driver thread does not exist here, and the workers are
            // the owner's. Only this process's copies of descriptors close.
            return;
        }
        let mut out = Deliveries::new(); // as `terminate`, the fork server reaping
        {
            let mut st = self.inner.lock_state();
            st.terminate_for_drop();
            st.pump(&mut out);
        }
        out.deliver();
        self.inner.wake();
        let _ = self.join();
        // As a join of the driver thread would (it waits for another pool instead of
        // ending: `driver_threads`): nothing of the pool outlives its drop.
        self.released.wait();
    }
}
