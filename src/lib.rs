//! Python's `multiprocessing` for Rust: [`Process`], [`pipe`] and [`Pool`] with Python's
//! method names, on `fork()`ed worker processes.
//!
//! ```
//! use forkpool::Process;
//! let p = Process::spawn(|| (1..=10u64).product::<u64>())?;
//! assert_eq!(p.join()?, 3_628_800);
//! # Ok::<(), forkpool::Error>(())
//! ```
//!
//! The `no_std` scheduling core is re-exported as [`core`].

pub use forkpool_core as core;
#[cfg(target_os = "linux")]
pub use forkpool_std::{
    AsCompleted, AsyncOptions, AsyncResult, Completions, Connection, Error, ExitCause, IMAP_WINDOW,
    IMap, IMapOrder, IMapOrdered, IMapUnordered, InOrder, MAX_PROCESSES, OneArg, Pool, PoolBuilder,
    PoolStats, Process, ProcessBuilder, Result, ResultFuture, Signal, TaskError, TaskFn,
    as_completed, fork_server_pid, pipe, pipe_oneway,
};
