//! Workers on other machines: a [`Pool`](crate::Pool) whose workers run on node agents
//! reached through a message [`Link`] (MPI ranks in `forkpool-mpi`, or anything that moves
//! whole byte messages between numbered peers).
//!
//! The pool engine is the same as for local workers: the core's scheduler, chunking,
//! pipelining, exact losses, `imap`, deadlines. Only how a worker is reached differs
//! ([`Cluster`], a transport): each remote worker is a socket pair on the root whose far end
//! a bridge thread forwards, message by message, over the link to the agent holding that
//! worker; the agent ([`serve`]) runs it as one of its own forked worker processes and
//! forwards its answers back. So a task that crashes kills a forked worker on its node, never
//! the agent: that task fails alone with how its worker ended, the agent reports the loss
//! (with the worker's result log, so nothing it computed is lost) and the pool starts a
//! replacement there.
//!
//! Task functions travel as they do to local workers, as offsets from an anchor in the
//! executable (`sys/fnptr.rs`), which every process running the same executable resolves to
//! the same function whatever its load address. Every start carries the root's fingerprint of
//! its executable; an agent running another one refuses the start, and the pool's error
//! says so.
//!
//! What cannot cross: descriptors. A task whose arguments carry a `Connection` or shared
//! object fails alone with [`Error::Decode`](crate::Error::Decode) saying so; one in a
//! result, or in the initializer's arguments, fails to decode on the other side.
//!
//! ```text
//! root: Pool engine ─ socket ─ bridge thread ═ Link ═ agent ─ socket ─ forked worker
//! ```

mod agent;
mod bridge;
mod cluster;
mod frame;

pub use agent::serve;
pub use cluster::Cluster;

use std::io;

/// Whole byte messages between numbered peers: what the remote pool needs of a network.
///
/// Messages from one peer to another arrive in the order they were sent, whole, each once
/// (MPI's guarantee for one communicator and tag). `send` may be called from several
/// threads at once, while one thread waits in `recv`.
pub trait Link: Send + Sync + 'static {
    /// Sends `message` to peer `to`.
    fn send(&self, to: usize, message: &[u8]) -> io::Result<()>;

    /// Waits for the next message from any peer and returns who sent it.
    fn recv(&self) -> io::Result<(usize, Vec<u8>)>;
}

/// A fingerprint of this process's executable: a hash of its bytes, computed once. Two
/// processes with the same fingerprint run the same code, so an anchor offset means the same
/// function in both.
pub(crate) fn fingerprint() -> u64 {
    static PRINT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *PRINT.get_or_init(|| {
        use std::hash::Hasher;
        let mut h = std::hash::DefaultHasher::new();
        match std::fs::read("/proc/self/exe") {
            Ok(bytes) => h.write(&bytes),
            // No readable executable: the fingerprint is of its path, which an agent reading
            // its own file will not match.
            Err(_) => h.write(format!("{:?}", std::env::current_exe().ok()).as_bytes()),
        }
        h.finish()
    })
}

#[cfg(test)]
mod tests;
