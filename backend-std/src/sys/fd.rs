//! Taking ownership of descriptors received over a Unix socket.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Wraps descriptors that `recvmsg` just received in `SCM_RIGHTS`.
///
/// The caller passes only the raw values from one `ControlMessageOwned::ScmRights`, each
/// exactly once.
pub(crate) fn owned_from_received(fds: Vec<RawFd>) -> Vec<OwnedFd> {
    fds.into_iter()
        // SAFETY: the kernel installed each of these descriptors in this process for this
        // recvmsg call; nothing else refers to them, so each gets exactly one owner here.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect()
}
