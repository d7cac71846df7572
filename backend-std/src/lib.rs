//! forkpool's std backend: `Process`, `Pipe` and `Pool` on `fork()`ed worker processes, and
//! `ThreadPool` on threads.
//!
//! Everything here is re-exported by the `forkpool` facade crate; see its documentation.

//!
//! Linux only: it needs `pidfd_open`, `signalfd`, `eventfd`, `prctl(PR_SET_PDEATHSIG)`,
//! `close_range`, `SOCK_SEQPACKET` Unix sockets with `SCM_RIGHTS`, and `/proc`. On any other
//! system it stops the build with one error saying so; the `no_std` core
//! (`forkpool-core`) builds everywhere.

#[cfg(not(target_os = "linux"))]
compile_error!(
    "forkpool-std runs on Linux only: it needs pidfd_open, signalfd, eventfd, \
     prctl(PR_SET_PDEATHSIG), close_range, SOCK_SEQPACKET Unix sockets with SCM_RIGHTS and \
     /proc. forkpool-core (the no_std scheduling core) builds for any target."
);

/// Applies `#[cfg(target_os = "linux")]` to every item: elsewhere the crate is empty but
/// for the one `compile_error!` above.
macro_rules! linux_only {
    ($($item:item)*) => { $( #[cfg(target_os = "linux")] $item )* };
}

linux_only! {
    mod codec;
    mod connection;
    mod connection_traits;
    mod error;
    #[cfg(any(test, feature = "fuzzing"))]
    #[doc(hidden)]
    pub mod fuzzing;
    mod owner;
    mod panics;
    mod pool;
    mod process;
    mod process_answer;
    mod wait;
    mod protocol;
    pub mod remote;
    mod shared;
    mod sys;
    mod task;
    mod task_error;
    mod thread_pool;
    mod utilities;
    mod wire;
    mod worker;
    mod zygote;

    pub use connection::{Connection, pipe, pipe_oneway};
    pub use error::{Error, ExitCause, Result};
    pub use nix::sys::signal::Signal;
    pub use pool::{
        AsCompleted, AsyncOptions, AsyncResult, Completions, IMAP_WINDOW, IMap, IMapOrder, IMapOrdered,
        IMapUnordered, InOrder, MAX_PROCESSES, OneArg, Pool, PoolBuilder, PoolStats, ResultFuture,
        as_completed,
    };
    pub use process::{Process, ProcessBuilder};
    pub use shared::{
        Barrier, Condition, JoinableQueue, Queue, SharedBytes, SimpleQueue,
        Array, BoundedSemaphore, Event, Lock, LockGuard, RLock, RLockGuard, Semaphore, SharedMemory,
        Value,
    };
    pub use bytemuck::Pod;
    pub use wait::{Waitable, wait};
    pub use task::TaskFn;
    pub use task_error::TaskError;
    pub use thread_pool::{
        ThreadIMap, ThreadIMapOrdered, ThreadIMapUnordered, ThreadPool, ThreadPoolBuilder,
        ThreadTaskFn,
    };
    pub use utilities::{ProcessInfo, active_children, cpu_count, current_process, parent_process};
    pub use zygote::fork_server_pid;
}
