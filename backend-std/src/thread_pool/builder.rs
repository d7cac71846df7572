//! `ThreadPool::builder()`: threads, initializer, maxtasksperchild, pipeline depth.

use super::ThreadPool;
use super::task_fn::ThreadTaskFn;
use super::tickets::{InitFn, Scope, Ticket, run_init};
use crate::error::Result;
use crate::pool::{Init, PoolBuilder, Threads};
use crate::task::erase;
use std::sync::Arc;

/// Configures and builds a [`ThreadPool`]; the knobs of [`PoolBuilder`] that mean
/// something for threads.
///
/// ```
/// use std::cell::Cell;
/// thread_local! { static BASE: Cell<u64> = const { Cell::new(0) }; }
///
/// let pool = forkpool::ThreadPool::builder()
///     .processes(2)
///     .initializer(|base: u64| BASE.set(base), (100,))
///     .build()?;
/// assert_eq!(pool.apply(|x: u64| BASE.get() + x, (1,))?, 101);
/// # Ok::<(), forkpool::Error>(())
/// ```
#[derive(Default)]
pub struct ThreadPoolBuilder {
    pool: PoolBuilder,
    init: Option<InitFn>,
}

impl ThreadPoolBuilder {
    /// Worker threads (default: the number of CPUs). The name is Python's.
    pub fn processes(mut self, n: usize) -> Self {
        self.pool = self.pool.processes(n);
        self
    }

    /// Runs `f(args...)` on every worker thread when it starts (and on each replacement),
    /// with a clone of `args` each time: where thread-local state is set up. If it panics,
    /// `build` fails with [`Error::InitializerFailed`](crate::Error::InitializerFailed).
    pub fn initializer<F, A>(mut self, f: F, args: A) -> Self
    where
        F: ThreadTaskFn<A, ()>,
        A: Clone + Send + Sync + 'static,
    {
        self.init = Some(Arc::new(move || f.call_with(args.clone())));
        self
    }

    /// Tasks (chunks) a worker thread runs before a fresh thread replaces it.
    pub fn maxtasksperchild(mut self, n: u32) -> Self {
        self.pool = self.pool.maxtasksperchild(n);
        self
    }

    /// Most chunks a worker thread may hold at once: 1 to 64, the default (see
    /// [`PoolBuilder::pipeline_depth`]). A thread stopped on purpose (a deadline passed, its
    /// task cancelled) cannot be killed: it is let go once its grace runs out, marked
    /// stopped in the result log it shares with the pool, so it starts none of the chunks it
    /// held; those run once on another thread, and only the one it was stopped for fails.
    pub fn pipeline_depth(mut self, depth: usize) -> Self {
        self.pool = self.pool.pipeline_depth(depth);
        self
    }

    /// Starts the threads and waits until each has run the initializer.
    pub fn build(self) -> Result<ThreadPool> {
        let scope = Arc::new(Scope::new());
        let mut builder = self.pool;
        if let Some(init) = self.init {
            let ticket = scope.put(Box::new(init));
            let (args, fds) = crate::codec::encode(&(ticket,))?;
            builder = builder.encoded_initializer(Init {
                call: erase::<_, (Ticket,), ()>(run_init),
                args,
                fds,
            });
        }
        let pool = builder.build_on(Box::new(Threads::new()))?;
        Ok(ThreadPool { pool, scope })
    }
}

impl std::fmt::Debug for ThreadPoolBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPoolBuilder")
            .field("pool", &self.pool)
            .field("initializer", &self.init.is_some())
            .finish()
    }
}
