//! forkpool's [`Pool`] across the ranks of an MPI job: [`MpiPool`] has every method of
//! `Pool` (`apply`, `apply_async`, `map`, `map_async`, `imap`, `imap_unordered`, `starmap`,
//! `starmap_async`, `close`, `join`, `terminate`...) with the same shapes, driven by the same
//! `forkpool-core` scheduler on rank 0.
//!
//! Every rank runs the same program. [`init`] starts MPI; on rank 0 it returns an [`Mpi`]
//! to start pools on, and on every other rank it serves as a node agent until rank 0 is
//! done, then ends the process: so call it first thing in `main`.
//!
//! ```no_run
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! fn main() -> Result<(), forkpool_mpi::Error> {
//!     let mpi = forkpool_mpi::init()?; // only rank 0 gets past this line
//!     let pool = forkpool_mpi::MpiPool::new(&mpi)?; // one worker per other rank
//!     let squares = pool.map(square, 0..1000)?;
//!     assert_eq!(squares[999], 999 * 999);
//!     Ok(())
//! }
//! ```
//!
//! Run it with `mpirun -n 5 target/release/my-program` (rank 0 plus four workers).
//!
//! # How it works, and what it settles
//!
//! - **Crash isolation.** Each rank but 0 is a node agent (`forkpool_std::remote::serve`)
//!   that runs its workers as forkpool's own forked worker processes (from the fork server
//!   forked before `main`, so before `MPI_Init`: no MPI state is ever forked). A task that
//!   panics fails alone with [`Error::Panicked`](forkpool_std::Error::Panicked); one that
//!   aborts or is killed kills only its forked worker: that task fails with
//!   [`WorkerDied`](forkpool_std::Error::WorkerDied), the agent reports the loss (with the
//!   worker's result log, so its finished results are kept and the tasks queued behind it
//!   run once elsewhere) and starts a replacement. The rank, and the job, carry on.
//! - **A lost rank.** OpenMPI 4.1 does not survive the loss of a rank: its default error
//!   handler (`MPI_ERRORS_ARE_FATAL`) and `mpirun` end the whole job when any rank dies, and
//!   fault-tolerant MPI (ULFM) is not part of 4.1's default build. So a node loss ends the
//!   job with `mpirun`'s report naming the rank; what forkpool adds is that nothing a task
//!   does can cause one. Should a link error ever come back instead, every worker on the
//!   cluster is lost: their tasks fail with `WorkerDied` and new starts fail with
//!   [`Error::Node`](forkpool_std::Error::Node) saying why.
//! - **Task functions across ranks.** Ranks are separate executions of the same binary, at
//!   different addresses under ASLR. A task function travels as its offset from an anchor
//!   static in the executable (the same in every process running it), tagged with a keyed
//!   hash that the worker checks before calling it. Every worker start carries rank 0's
//!   fingerprint of its executable (a hash of the file); an agent running another binary
//!   refuses the start, and the pool's error says so ([`Error::Node`](forkpool_std::Error::Node)).
//! - **Throughput.** The pool is forkpool's own: tasks are chunked and pipelined as in a
//!   local `Pool`, and results stream back as each batch is sent. Messages travel on a
//!   communicator of forkpool's own; receiving polls and then naps (at most 200 µs), rather
//!   than spinning a core as a blocking `MPI_Recv` does in OpenMPI.
//! - **What cannot cross ranks:** descriptors. A `Connection` or a shared object inside a
//!   task's arguments or result cannot reach another machine: that value fails to decode on
//!   the other side, an error for that task alone.

mod link;

use forkpool_std::remote::Cluster;
use forkpool_std::{Pool, PoolBuilder};
use link::MpiLink;
use mpi::Threading;
use std::fmt;
use std::sync::Arc;

pub use forkpool_std::remote::Link;

/// What can go wrong starting forkpool on MPI.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// MPI was initialised before [`init`] (by this crate or another): forkpool needs to
    /// initialise it itself, with thread support.
    AlreadyInitialized,
    /// The MPI library cannot be called from several threads (`MPI_THREAD_MULTIPLE`), which
    /// the pool's forwarding threads need.
    NoThreadSupport {
        /// The level it provides.
        provided: String,
    },
    /// The job has one rank: there is no node agent to run workers on.
    NoAgents,
    /// From the pool (starting it, or a task).
    Pool(forkpool_std::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyInitialized => {
                f.write_str("MPI was already initialised: call forkpool_mpi::init() instead")
            }
            Self::NoThreadSupport { provided } => write!(
                f,
                "this MPI library provides thread support {provided}, not MPI_THREAD_MULTIPLE \
                 (build OpenMPI with thread support)"
            ),
            Self::NoAgents => f.write_str(
                "the MPI job has one rank, so no rank runs workers: start it with \
                 `mpirun -n 2` or more (rank 0 plus one rank per worker)",
            ),
            Self::Pool(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Pool(e) => Some(e),
            _ => None,
        }
    }
}

impl From<forkpool_std::Error> for Error {
    fn from(e: forkpool_std::Error) -> Self {
        Self::Pool(e)
    }
}

/// MPI, started by [`init`], on rank 0: what pools start on. Dropping it stops every
/// rank's agent and finalises MPI.
pub struct Mpi {
    // Dropped in this order: the cluster (agents told to leave, its threads joined), then
    // MPI itself.
    cluster: Cluster,
    size: usize,
    _universe: mpi::environment::Universe,
}

impl Mpi {
    /// The number of ranks in the job (rank 0 and the agents).
    pub fn size(&self) -> usize {
        self.size
    }

    /// The number of node agents (every rank but 0).
    pub fn agents(&self) -> usize {
        self.cluster.nodes()
    }
}

impl fmt::Debug for Mpi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mpi").field("size", &self.size).finish()
    }
}

/// Starts MPI with thread support. On rank 0, returns the [`Mpi`] to start pools on; on
/// every other rank, serves as a node agent until rank 0 drops its `Mpi`, then finalises
/// MPI and ends the process (exit code 0, or 1 after printing why the agent failed):
/// everything after this call runs on rank 0 only.
///
/// Every rank must run the same executable: a rank running another one refuses to start
/// workers ([`forkpool_std::Error::Node`]).
pub fn init() -> Result<Mpi, Error> {
    let (universe, provided) =
        mpi::initialize_with_threading(Threading::Multiple).ok_or(Error::AlreadyInitialized)?;
    if provided != Threading::Multiple {
        return Err(Error::NoThreadSupport {
            provided: format!("{provided:?}"),
        });
    }
    let link = Arc::new(MpiLink::new(&universe.world()));
    let (rank, size) = (link.rank(), link.size());
    if rank != 0 {
        let served = forkpool_std::remote::serve(link, 0);
        drop(universe);
        match served {
            Ok(()) => std::process::exit(0),
            Err(e) => {
                eprintln!("forkpool-mpi: the agent on rank {rank} failed: {e}");
                std::process::exit(1);
            }
        }
    }
    if size < 2 {
        return Err(Error::NoAgents);
    }
    let cluster = Cluster::new(link, (1..size).collect())?;
    Ok(Mpi {
        cluster,
        size,
        _universe: universe,
    })
}

/// A [`Pool`] whose workers run on the other ranks of the MPI job: every `Pool` method,
/// through `Deref`. It borrows the [`Mpi`] it runs on, so it ends before MPI does.
///
/// Its workers are processes on other nodes: [`Pool::pids`] and the `pid` in
/// [`WorkerDied`](forkpool_std::Error::WorkerDied) are their numbers in the cluster (unique
/// across ranks), not the operating system's pids there.
pub struct MpiPool<'m> {
    pool: Pool,
    _mpi: &'m Mpi,
}

impl<'m> MpiPool<'m> {
    /// A pool of one worker per agent rank (Python's `MPIPoolExecutor()` has one per
    /// rank too).
    pub fn new(mpi: &'m Mpi) -> Result<Self, Error> {
        Self::with(mpi, Pool::builder())
    }

    /// A pool set up by `builder`, as for a local pool: `processes(n)` spreads `n` workers
    /// over the agent ranks (evenly; several per rank when `n` is larger), and the
    /// initializer, `maxtasksperchild`, `pipeline_depth` and restart limits work the same.
    pub fn with(mpi: &'m Mpi, builder: PoolBuilder) -> Result<Self, Error> {
        Ok(Self {
            pool: mpi.cluster.pool(builder)?,
            _mpi: mpi,
        })
    }

    /// The local-pool handle, for code written against [`Pool`].
    pub fn as_pool(&self) -> &Pool {
        &self.pool
    }
}

impl std::ops::Deref for MpiPool<'_> {
    type Target = Pool;

    fn deref(&self) -> &Pool {
        &self.pool
    }
}

impl fmt::Debug for MpiPool<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpiPool").field("pool", &self.pool).finish()
    }
}
