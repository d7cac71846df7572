//! The cluster's [`Link`] over MPI: whole byte messages between ranks, on a communicator of
//! forkpool's own (a duplicate of the world's, so user traffic on `MPI_COMM_WORLD` never
//! matches ours).
//!
//! A receive polls (`MPI_Improbe`) and backs off to short sleeps while nothing comes: a
//! blocking `MPI_Recv` in OpenMPI spins at full CPU, which on a machine running several
//! ranks per core would take the CPU from the tasks.

use forkpool_std::remote::Link;
use mpi::point_to_point::{Destination, MatchedReceiveVec, Source};
use mpi::topology::{Communicator, SimpleCommunicator};
use std::io;
use std::time::Duration;

/// The MPI tag of forkpool's messages.
const TAG: mpi::Tag = 0x4650;
/// Empty polls that yield the CPU before the link starts sleeping between polls.
const SPINS: u32 = 64;
/// The longest sleep between polls while nothing comes: the most a quiet link adds to a
/// message's latency.
const MAX_NAP: Duration = Duration::from_micros(200);

/// MPI point-to-point messages on a communicator of forkpool's own.
pub(crate) struct MpiLink {
    comm: SimpleCommunicator,
}

// SAFETY: MPI was initialised with `MPI_THREAD_MULTIPLE` (checked in `lib.rs` before a link
// is made), under which any thread may call MPI on a communicator at any time, concurrently
// with others. The communicator handle itself is never changed after it is made, and it is
// freed (on drop) only once every thread using the link has ended: the cluster joins them
// before it lets go of its link.
unsafe impl Send for MpiLink {}
// SAFETY: as above: `&self` methods only pass the handle to thread-safe MPI calls.
unsafe impl Sync for MpiLink {}

impl MpiLink {
    /// A link on a duplicate of `world` (a collective call: every rank makes its link).
    pub(crate) fn new(world: &SimpleCommunicator) -> Self {
        Self {
            comm: world.duplicate(),
        }
    }

    /// This process's rank.
    pub(crate) fn rank(&self) -> usize {
        self.comm.rank() as usize
    }

    /// The number of ranks.
    pub(crate) fn size(&self) -> usize {
        self.comm.size() as usize
    }
}

impl Link for MpiLink {
    fn send(&self, to: usize, message: &[u8]) -> io::Result<()> {
        let rank = i32::try_from(to)
            .ok()
            .filter(|&r| r < self.comm.size())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no such rank"))?;
        // OpenMPI's default error handler aborts the job on a failed send: an `Err` never
        // comes back from MPI itself.
        self.comm.process_at_rank(rank).send_with_tag(message, TAG);
        Ok(())
    }

    fn recv(&self) -> io::Result<(usize, Vec<u8>)> {
        let mut idle = 0u32;
        loop {
            if let Some(probed) = self
                .comm
                .any_process()
                .immediate_matched_probe_with_tag(TAG)
            {
                let (bytes, status) = probed.matched_receive_vec::<u8>();
                return Ok((status.source_rank() as usize, bytes));
            }
            idle = idle.saturating_add(1);
            if idle < SPINS {
                std::thread::yield_now();
            } else {
                let nap = Duration::from_micros(u64::from(idle - SPINS) * 10);
                std::thread::sleep(nap.min(MAX_NAP));
            }
        }
    }
}
