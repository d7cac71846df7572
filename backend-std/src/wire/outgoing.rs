//! Sending without blocking: a message becomes packets in the connection's send queue, sent
//! as the socket takes them, by whichever thread flushes next. For the connections of a
//! pool, whose driver must never block on a full socket (a worker blocked sending results
//! while the driver blocks sending work would be a deadlock), and whose packets are queued
//! under the pool's lock but sent after it is released.

use super::{HEADER_LEN, RawConn, SMALL_PACKET as PACKET, WID, lock};
use crate::error::Result;
use nix::sys::socket::{ControlMessage, MsgFlags};
use std::collections::VecDeque;
use std::ops::Range;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

/// A piece of a message waiting in a send queue: `bytes`, then (for a large message queued
/// with [`RawConn::enqueue_shared`]) a range of its body, which no packet copies.
pub(crate) struct Packet {
    bytes: Vec<u8>,
    body: Option<(Arc<Vec<u8>>, Range<usize>)>,
    fds: Vec<OwnedFd>,
}

/// A connection's send queue. `flushing` is set while one thread sends from it, without the
/// lock held (a send may yield the CPU to the woken reader): others only append, and that
/// thread sends what they append too.
#[derive(Default)]
pub(crate) struct SendQueue {
    packets: VecDeque<Packet>,
    flushing: bool,
}

impl SendQueue {
    pub(super) fn is_flushing(&self) -> bool {
        self.flushing
    }
}

impl RawConn {
    /// Appends a message to the send queue, as packets, for [`flush`](Self::flush); never
    /// blocks.
    pub(crate) fn enqueue(&self, kind: u8, bytes: &[u8], fds: Vec<OwnedFd>) -> Result<()> {
        let packets = self.packets(kind, bytes, fds)?;
        lock(&self.send_queue).packets.extend(packets);
        Ok(())
    }

    /// Sends a message without ever blocking, or not at all: `Ok(false)` (nothing sent)
    /// when the socket is full or packets of earlier messages still wait. Once its first
    /// packet is in the socket the message is committed: the rest, if it is longer than a
    /// packet, wait in the send queue and go out with the next send or flush on this end.
    pub(crate) fn try_send_message(&self, kind: u8, bytes: &[u8], fds: Vec<OwnedFd>) -> Result<bool> {
        if !self.flush()? {
            return Ok(false);
        }
        let mut packets = self.packets(kind, bytes, fds)?.into_iter();
        let Some(first) = packets.next() else {
            return Ok(true);
        };
        {
            let mut queue = lock(&self.send_queue);
            if queue.flushing || !queue.packets.is_empty() {
                return Ok(false);
            }
            if !self.send_one(&first, MsgFlags::MSG_DONTWAIT)? {
                return Ok(false);
            }
            queue.packets.extend(packets);
        }
        self.flush().map(|_| true)
    }

    /// Appends a message made of `head` and then `body` to the send queue, like
    /// [`enqueue`](Self::enqueue), without copying `body`: its packets send ranges of it
    /// (they keep it alive until sent). For large messages (`head` is a few bytes).
    pub(crate) fn enqueue_shared(
        &self,
        kind: u8,
        head: &[u8],
        body: Arc<Vec<u8>>,
        fds: Vec<OwnedFd>,
    ) -> Result<()> {
        let header = self.header(kind, head.len() + body.len(), fds.len())?;
        let wid = self.writer_id().to_le_bytes();
        let mut first = Vec::with_capacity(WID + HEADER_LEN + head.len());
        first.extend_from_slice(&wid);
        first.extend_from_slice(&header);
        first.extend_from_slice(head);
        let room = PACKET.saturating_sub(first.len()).min(body.len());
        let mut packets = vec![Packet {
            bytes: first,
            body: Some((Arc::clone(&body), 0..room)),
            fds,
        }];
        let mut at = room;
        while at < body.len() {
            let end = body.len().min(at + PACKET - WID);
            packets.push(Packet {
                bytes: wid.to_vec(),
                body: Some((Arc::clone(&body), at..end)),
                fds: Vec::new(),
            });
            at = end;
        }
        lock(&self.send_queue).packets.extend(packets);
        Ok(())
    }

    /// A message as the packets it travels in.
    fn packets(&self, kind: u8, bytes: &[u8], fds: Vec<OwnedFd>) -> Result<Vec<Packet>> {
        let header = self.header(kind, bytes.len(), fds.len())?;
        let wid = self.writer_id().to_le_bytes();
        let first = bytes.len().min(PACKET - WID - HEADER_LEN);
        let mut head = Vec::with_capacity(WID + HEADER_LEN + first);
        head.extend_from_slice(&wid);
        head.extend_from_slice(&header);
        head.extend_from_slice(&bytes[..first]);
        let mut packets = vec![Packet {
            bytes: head,
            body: None,
            fds,
        }];
        for chunk in bytes[first..].chunks(PACKET - WID) {
            let mut p = Vec::with_capacity(WID + chunk.len());
            p.extend_from_slice(&wid);
            p.extend_from_slice(chunk);
            packets.push(Packet {
                bytes: p,
                body: None,
                fds: Vec::new(),
            });
        }
        Ok(packets)
    }

    /// Sends queued packets until the socket is full or the queue is empty; never blocks.
    /// Returns whether the queue needs no more attention: it is empty, or another thread is
    /// sending from it (and sends what was appended).
    pub(crate) fn flush(&self) -> Result<bool> {
        let mut queue = lock(&self.send_queue);
        if queue.flushing {
            return Ok(true);
        }
        queue.flushing = true;
        loop {
            let Some(p) = queue.packets.pop_front() else {
                queue.flushing = false;
                return Ok(true);
            };
            drop(queue);
            let sent = self.send_one(&p, MsgFlags::MSG_DONTWAIT);
            queue = lock(&self.send_queue);
            match sent {
                Ok(true) => {}
                Ok(false) => {
                    queue.packets.push_front(p);
                    queue.flushing = false;
                    return Ok(false);
                }
                Err(e) => {
                    queue.packets.push_front(p);
                    queue.flushing = false;
                    return Err(e);
                }
            }
        }
    }

    /// Whether packets wait in the send queue, or are being sent.
    pub(crate) fn has_queued(&self) -> bool {
        let queue = lock(&self.send_queue);
        queue.flushing || !queue.packets.is_empty()
    }

    /// Sends every queued packet, blocking while the socket is full (before a blocking
    /// send of a message, which must come after them).
    pub(super) fn send_all_queued(&self, queue: &mut SendQueue) -> Result<()> {
        while let Some(p) = queue.packets.front() {
            self.send_one(p, MsgFlags::empty())?;
            queue.packets.pop_front();
        }
        Ok(())
    }

    /// Sends the first queued packet, if any, blocking while the socket is full.
    #[cfg(test)]
    pub(super) fn send_next_packet(&self) -> Result<()> {
        let mut queue = lock(&self.send_queue);
        if let Some(p) = queue.packets.pop_front() {
            self.send_one(&p, MsgFlags::empty())?;
        }
        Ok(())
    }

    /// Sends one packet; `Ok(false)` when `MSG_DONTWAIT` was asked and the socket is full.
    fn send_one(&self, p: &Packet, extra: MsgFlags) -> Result<bool> {
        let raw_fds: Vec<RawFd> = p.fds.iter().map(AsRawFd::as_raw_fd).collect();
        let rights = [ControlMessage::ScmRights(&raw_fds)];
        let cmsgs: &[ControlMessage] = if raw_fds.is_empty() { &[] } else { &rights };
        let body = p.body.as_ref().map_or(&[][..], |(b, r)| &b[r.clone()]);
        self.send_packet(&[&p.bytes, body], cmsgs, extra)
    }
}
