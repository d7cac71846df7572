//! A message as it is received: its kind, payload and descriptors.

use crate::error::{Error, Result};
use std::os::fd::OwnedFd;

/// A complete message.
pub(crate) struct Message {
    /// The protocol's kind byte.
    pub kind: u8,
    /// The payload.
    pub bytes: Vec<u8>,
    /// Descriptors that came with it.
    pub fds: Vec<OwnedFd>,
    /// Whether the kernel dropped some of its descriptors because this process had no room
    /// for them (`MSG_CTRUNC`): `fds` is then short, see [`Message::check_fds`].
    pub fds_lost: bool,
    /// The payload's first bytes, held apart from `bytes`: the length of the byte string
    /// the rest is (on a connection that cuts them, see [`RawConn::cut_byte_strings`](super::RawConn::cut_byte_strings)).
    pub cut: Option<Vec<u8>>,
}

impl Message {
    /// The whole payload: `bytes`, after the bytes cut from its start if any (a copy then).
    pub(crate) fn into_whole(self) -> Vec<u8> {
        match self.cut {
            Some(mut cut) => {
                cut.extend_from_slice(&self.bytes);
                cut
            }
            None => self.bytes,
        }
    }

    /// `Err` naming the OS error when descriptors of this message were dropped: the
    /// message fails alone, the connection carries on.
    pub(crate) fn check_fds(&self) -> Result<()> {
        match self.fds_lost {
            false => Ok(()),
            true => Err(Error::Io {
                op: "receive descriptors (the process is out of descriptors; they were dropped)",
                source: std::io::Error::from_raw_os_error(libc::EMFILE),
            }),
        }
    }
}
