//! Sending without blocking: a message becomes packets queued on the caller's side and sent
//! as the socket takes them. For a connection with one writer (a pool's driver).

use super::{HEADER_LEN, PACKET, RawConn, WID};
use crate::error::Result;
use nix::sys::socket::{ControlMessage, MsgFlags};
use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// A piece of a message waiting to be sent without blocking.
pub(crate) struct Packet {
    pub(super) bytes: Vec<u8>,
    pub(super) fds: Vec<OwnedFd>,
}

impl RawConn {
    /// Splits a message into packets appended to `out`, for [`try_flush`](Self::try_flush).
    /// For a connection with a single writer (a pool's driver), which must never block.
    pub(crate) fn queue(
        &self,
        out: &mut VecDeque<Packet>,
        kind: u8,
        bytes: &[u8],
        fds: Vec<OwnedFd>,
    ) -> Result<()> {
        let header = self.header(kind, bytes, fds.len())?;
        let wid = self.writer_id().to_le_bytes();
        let first = bytes.len().min(PACKET - WID - HEADER_LEN);
        let mut head = Vec::with_capacity(WID + HEADER_LEN + first);
        head.extend_from_slice(&wid);
        head.extend_from_slice(&header);
        head.extend_from_slice(&bytes[..first]);
        out.push_back(Packet { bytes: head, fds });
        for chunk in bytes[first..].chunks(PACKET - WID) {
            let mut p = Vec::with_capacity(WID + chunk.len());
            p.extend_from_slice(&wid);
            p.extend_from_slice(chunk);
            out.push_back(Packet {
                bytes: p,
                fds: Vec::new(),
            });
        }
        Ok(())
    }

    /// Sends queued packets until the socket is full or the queue is empty; never blocks.
    pub(crate) fn try_flush(&self, out: &mut VecDeque<Packet>) -> Result<()> {
        while let Some(p) = out.front() {
            let raw_fds: Vec<RawFd> = p.fds.iter().map(AsRawFd::as_raw_fd).collect();
            let rights = [ControlMessage::ScmRights(&raw_fds)];
            let cmsgs: &[ControlMessage] = if raw_fds.is_empty() { &[] } else { &rights };
            if !self.send_packet(&[&p.bytes], cmsgs, MsgFlags::MSG_DONTWAIT)? {
                return Ok(());
            }
            out.pop_front();
        }
        Ok(())
    }
}
