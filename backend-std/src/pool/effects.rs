//! What the pool does once its lock is released: the I/O a decision under the lock asks
//! for, kept here until the lock holder lets go. Packets to send (jobs, `EXIT`), workers to
//! start, workers to hand to the transport for collecting, and whether the driver must
//! look at the sockets. The lock is only ever held to decide.

use crate::wire::RawConn;
use forkpool_core::WorkerId;
use nix::unistd::Pid;
use std::sync::Arc;

/// The effects of decisions taken under the pool's lock, to carry out without it.
#[derive(Default)]
pub(crate) struct Effects {
    /// Sockets with packets queued, to be sent.
    unflushed: Vec<Arc<RawConn>>,
    /// Slots the scheduler wants a worker started for.
    starts: Vec<WorkerId>,
    /// Workers to collect, each `(id, kill_first)`.
    releases: Vec<(Pid, bool)>,
    /// Whether the driver must look at the sockets (a caller found one hung up).
    look: bool,
}

impl Effects {
    /// `conn` has packets queued to send.
    pub(crate) fn send(&mut self, conn: &Arc<RawConn>) {
        if !self.unflushed.iter().any(|c| Arc::ptr_eq(c, conn)) {
            self.unflushed.push(Arc::clone(conn));
        }
    }

    pub(crate) fn take_sends(&mut self) -> Vec<Arc<RawConn>> {
        std::mem::take(&mut self.unflushed)
    }

    /// Slot `w` wants a worker.
    pub(crate) fn start(&mut self, w: WorkerId) {
        self.starts.push(w);
    }

    pub(crate) fn take_starts(&mut self) -> Vec<WorkerId> {
        std::mem::take(&mut self.starts)
    }

    /// No start is wanted any more (the pool was terminated).
    pub(crate) fn cancel_starts(&mut self) {
        self.starts.clear();
    }

    /// Workers to collect.
    pub(crate) fn release(&mut self, gone: impl IntoIterator<Item = (Pid, bool)>) {
        self.releases.extend(gone);
    }

    pub(crate) fn take_releases(&mut self) -> Vec<(Pid, bool)> {
        std::mem::take(&mut self.releases)
    }

    /// The driver must look at the sockets.
    pub(crate) fn look(&mut self) {
        self.look = true;
    }

    /// Whether the driver must be woken for these effects: a look asked for, or starts
    /// (only the driver starts workers).
    pub(crate) fn need_driver(&mut self) -> bool {
        std::mem::take(&mut self.look) || !self.starts.is_empty()
    }
}
