//! `ThreadPool`: Python's `multiprocessing.pool.ThreadPool`, the same engine and scheduler
//! as [`Pool`] with threads for workers (`pool/threads.rs`). Tasks and results stay in this
//! process: they travel to the worker threads as tickets (`tickets.rs`), so closures may
//! capture and values need no serde.

mod builder;
mod imap;
mod task_fn;
mod tickets;

pub use builder::ThreadPoolBuilder;
pub use imap::{ThreadIMap, ThreadIMapOrdered, ThreadIMapUnordered};
pub use task_fn::ThreadTaskFn;

use crate::error::Result;
use crate::pool::{AsyncOptions, AsyncResult, Pool, PoolStats};
use crate::task::erase;
use forkpool_core::default_chunksize;
use std::sync::Arc;
use tickets::{Carried, Job, Scope, Ticket, run_job, unwrap_all, unwrap_one};

/// A pool of worker threads, like Python's `multiprocessing.pool.ThreadPool`: the methods
/// of [`Pool`], with the same names and shapes, on threads of this process. Switching is a
/// one-word change (`Pool::new(4)` to `ThreadPool::new(4)`), so it is where pool code is
/// debugged, and where I/O-bound work runs.
///
/// What differs from `Pool`, because the workers share this process:
/// - Task functions may capture (`Send + Sync + 'static`), and arguments and results need
///   only be `Send + 'static` (no serde; nothing is copied).
/// - A panicking task fails alone with [`Error::Panicked`](crate::Error::Panicked); a task
///   that aborts or crashes takes the whole process, as any thread would.
/// - A thread cannot be killed: a task that is cancelled, runs past its deadline or is
///   running at [`terminate`](Self::terminate) fails at once as it would in a `Pool`,
///   and its thread is let go (a new one takes its place) to end when the task returns.
///   The chunks queued behind it on that thread (it pipelines as a `Pool` does) run once on
///   another: the thread starts none of them once let go.
///
/// ```
/// let pool = forkpool::ThreadPool::new(4)?;
/// let offset = 10;
/// assert_eq!(pool.map(move |x: u64| x + offset, 1..=3)?, [11, 12, 13]);
/// fn square(x: u64) -> u64 { x * x }
/// assert_eq!(pool.imap(square, 1..=3)?.collect::<Result<Vec<_>, _>>()?, [1, 4, 9]);
/// # Ok::<(), forkpool::Error>(())
/// ```
pub struct ThreadPool {
    pool: Pool,
    /// Where this pool's tasks and results wait (the initializer stays there too).
    scope: Arc<Scope>,
}

/// The erased address of the function every task runs in its worker thread.
fn job_call() -> usize {
    erase::<_, (Ticket,), Ticket>(run_job)
}

impl ThreadPool {
    /// A pool of `threads` worker threads; [`Error::InvalidArgument`](crate::Error::InvalidArgument) for 0.
    pub fn new(threads: usize) -> Result<Self> {
        Self::builder().processes(threads).build()
    }

    /// Configure a pool: threads, initializer, maxtasksperchild.
    pub fn builder() -> ThreadPoolBuilder {
        ThreadPoolBuilder::default()
    }

    /// Number of worker threads.
    pub fn processes(&self) -> usize {
        self.pool.processes()
    }

    /// What the pool is doing and has done (see [`Pool::stats`]).
    pub fn stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// Runs `f(args...)` in a worker thread and waits for its result.
    pub fn apply<F, A, R>(&self, f: F, args: A) -> Result<R>
    where
        F: ThreadTaskFn<A, R>,
        A: Send + 'static,
        R: Send + 'static,
    {
        self.apply_async(f, args)?.get()
    }

    /// Runs `f(args...)` in a worker thread; returns at once.
    pub fn apply_async<F, A, R>(&self, f: F, args: A) -> Result<AsyncResult<R>>
    where
        F: ThreadTaskFn<A, R>,
        A: Send + 'static,
        R: Send + 'static,
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
        F: ThreadTaskFn<A, R>,
        A: Send + 'static,
        R: Send + 'static,
    {
        self.pool.check_home()?;
        let job: Job = Box::new(move || Box::new(f.call_with(args)));
        let tickets = vec![self.scope.put_job(job)];
        self.submit(tickets, 1, unwrap_one::<R>, opts)
    }

    /// Applies `f` to every item, in parallel; results in input order.
    pub fn map<F, T, R>(&self, f: F, items: impl IntoIterator<Item = T>) -> Result<Vec<R>>
    where
        F: ThreadTaskFn<(T,), R>,
        T: Send + 'static,
        R: Send + 'static,
    {
        self.map_async(f, items)?.get()
    }

    /// [`map`](Self::map) with an explicit chunk size.
    pub fn map_chunked<F, T, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = T>,
        chunksize: usize,
    ) -> Result<Vec<R>>
    where
        F: ThreadTaskFn<(T,), R>,
        T: Send + 'static,
        R: Send + 'static,
    {
        self.map_async_with(f, items, AsyncOptions::new().chunksize(chunksize))?
            .get()
    }

    /// Like [`map`](Self::map) but returns at once.
    pub fn map_async<F, T, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = T>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        F: ThreadTaskFn<(T,), R>,
        T: Send + 'static,
        R: Send + 'static,
    {
        self.map_async_with(f, items, AsyncOptions::new())
    }

    /// [`map_async`](Self::map_async) with chunk size and callbacks.
    pub fn map_async_with<F, T, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = T>,
        opts: AsyncOptions<Vec<R>>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        F: ThreadTaskFn<(T,), R>,
        T: Send + 'static,
        R: Send + 'static,
    {
        self.starmap_async_with(f, items.into_iter().map(|x| (x,)), opts)
    }

    /// Like [`map`](Self::map), but each item is a tuple unpacked into `f`'s arguments.
    pub fn starmap<F, A, R>(&self, f: F, items: impl IntoIterator<Item = A>) -> Result<Vec<R>>
    where
        F: ThreadTaskFn<A, R>,
        A: Send + 'static,
        R: Send + 'static,
    {
        self.starmap_async(f, items)?.get()
    }

    /// [`starmap`](Self::starmap) with an explicit chunk size.
    pub fn starmap_chunked<F, A, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<Vec<R>>
    where
        F: ThreadTaskFn<A, R>,
        A: Send + 'static,
        R: Send + 'static,
    {
        self.starmap_async_with(f, items, AsyncOptions::new().chunksize(chunksize))?
            .get()
    }

    /// Like [`starmap`](Self::starmap) but returns at once.
    pub fn starmap_async<F, A, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = A>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        F: ThreadTaskFn<A, R>,
        A: Send + 'static,
        R: Send + 'static,
    {
        self.starmap_async_with(f, items, AsyncOptions::new())
    }

    /// [`starmap_async`](Self::starmap_async) with chunk size and callbacks.
    pub fn starmap_async_with<F, A, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = A>,
        opts: AsyncOptions<Vec<R>>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        F: ThreadTaskFn<A, R>,
        A: Send + 'static,
        R: Send + 'static,
    {
        self.pool.check_home()?;
        let f = Arc::new(f);
        // Withdrawn if the caller's iterator panics part-way: none is left in the table.
        let mut taken = self.scope.taking();
        for args in items {
            let f = Arc::clone(&f);
            taken.push(Box::new(move || Box::new(f.call_with(args))));
        }
        let tickets = taken.keep();
        let chunk = opts
            .chunksize
            .unwrap_or(default_chunksize(tickets.len(), self.processes()));
        self.submit(tickets, chunk, unwrap_all::<R>, opts)
    }

    /// Hands tasks already in the table to the engine; withdraws them if it refuses.
    fn submit<R, T>(
        &self,
        tickets: Vec<Ticket>,
        chunksize: usize,
        finish: fn(Vec<Carried<R>>) -> Result<T>,
        opts: AsyncOptions<T>,
    ) -> Result<AsyncResult<T>>
    where
        R: Send + 'static,
        T: Send + 'static,
    {
        let items: Vec<(Ticket,)> = tickets.iter().map(|&t| (t,)).collect();
        self.pool
            .submit_all(job_call(), items, chunksize, finish, opts)
            .inspect_err(|_| self.scope.withdraw(tickets))
    }

    /// Takes no more work; threads exit once everything submitted is done.
    pub fn close(&self) {
        self.pool.close()
    }

    /// Stops at once: every pending result and iterator resolves to
    /// [`Error::Terminated`](crate::Error::Terminated); threads that were running a task are
    /// let go to end when it returns (see the type's docs).
    pub fn terminate(&self) {
        self.pool.terminate()
    }

    /// Waits for the workers to leave, after [`close`](Self::close) or
    /// [`terminate`](Self::terminate) ([`Error::StillRunning`](crate::Error::StillRunning) before).
    pub fn join(&self) -> Result<()> {
        self.pool.join()
    }
}

impl std::fmt::Debug for ThreadPool {
    /// The pool's size, phase and the live numbers of [`ThreadPool::stats`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPool")
            .field("threads", &self.processes())
            .field("phase", &self.pool.phase_name())
            .field("stats", &self.stats())
            .finish()
    }
}
