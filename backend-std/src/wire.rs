//! Whole messages with file descriptors over a `SOCK_SEQPACKET` Unix socket.
//!
//! Several processes may write to one socket at once (every worker of the seed writes its
//! progress lines into one `Pipe`). A message larger than one packet is split, and packets
//! of different writers can interleave, so each packet starts with its writer's id
//! (pid << 32 | per-object number) and carries a piece of that writer's byte stream, framed
//! by the core's codec. The reader keeps one [`FrameDecoder`](forkpool_core::FrameDecoder)
//! per writer (`wire/incoming.rs`), so every message arrives whole and never mixed with
//! another. Descriptors ride in the first packet of their message.

use crate::error::{Error, Result};
use forkpool_core::FrameHeader;
use forkpool_core::frame::HEADER_LEN;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, sendmsg, socketpair,
};
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Largest packet a socket carries (what a receive takes at most). A blocking send uses
/// packets as large as a quarter of the socket's send buffer allows, up to this: a 64 MiB
/// message through a `Pipe` then took 16-28 ms against 21-44 in 64 KiB packets (a quarter
/// fewer system calls and wake-ups on each side).
const PACKET: usize = 256 * 1024;
/// The packets queued sends use (a pool's sockets, see `outgoing.rs`), and those a blocking
/// send falls back to where the kernel cannot allocate a larger one: they fit the default
/// socket buffer with room to spare.
const SMALL_PACKET: usize = 64 * 1024;
/// Send buffer asked for on new sockets (Unix sockets account a message to its sender).
const SOCKET_BUFFER: usize = 1 << 20;
/// Bytes of writer id at the start of each packet.
const WID: usize = 8;
/// Most descriptors one message may carry (the header's `aux` byte).
pub(crate) const MAX_FDS: usize = 250;
/// The default largest message: 1 GiB.
pub(crate) const DEFAULT_MAX_MESSAGE: usize = 1 << 30;

static NEXT_INSTANCE: AtomicU32 = AtomicU32::new(1);

/// This process's pid and a random salt for writer ids, made anew in every process.
static WRITER_SALT: crate::sys::PerProcess<(u32, u32)> = crate::sys::PerProcess::new();

/// One end of a message socket.
pub(crate) struct RawConn {
    fd: OwnedFd,
    instance: u32,
    max_message: AtomicUsize,
    /// Packets queued by [`enqueue`](Self::enqueue); its lock also orders blocking sends.
    send_queue: Mutex<SendQueue>,
    recv: Mutex<RecvState>,
    /// The packets blocking sends use (0 until the first: see [`PACKET`]).
    packet: AtomicUsize,
}

/// Two connected ends (close-on-exec).
pub(crate) fn raw_pair() -> Result<(RawConn, RawConn)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| Error::io("socketpair", e))?;
    for fd in [&a, &b] {
        // Best effort: a larger buffer moves big messages in fewer wake-ups; the kernel caps
        // it at net.core.wmem_max, and the default still works.
        let _ = nix::sys::socket::setsockopt(fd, nix::sys::socket::sockopt::SndBuf, &SOCKET_BUFFER);
    }
    Ok((RawConn::from_fd(a), RawConn::from_fd(b)))
}

/// The error a failed send gives: `Disconnected` once the peer is gone.
fn send_error(e: Errno) -> Error {
    match e {
        Errno::EPIPE | Errno::ECONNRESET | Errno::ENOTCONN => Error::Disconnected,
        e => Error::io("sendmsg", e),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RawConn {
    /// Wraps a connected `SOCK_SEQPACKET` socket.
    pub(crate) fn from_fd(fd: OwnedFd) -> Self {
        Self {
            fd,
            instance: NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
            max_message: AtomicUsize::new(DEFAULT_MAX_MESSAGE),
            send_queue: Mutex::new(SendQueue::default()),
            recv: Mutex::new(RecvState::default()),
            packet: AtomicUsize::new(0),
        }
    }

    /// From now on, a large message that is one byte string (its length, then that many
    /// bytes to its end: how a `Vec<u8>`, `ByteBuf` or `String` value is encoded) arrives
    /// with its length held apart ([`Message::cut`]), so that the value can take the
    /// buffer its bytes start, instead of moving them there (64 MiB: about 2 ms).
    pub(crate) fn cut_byte_strings(&self) {
        lock(&self.recv).cuts = true;
    }

    /// The packets blocking sends use: a quarter of the send buffer, between
    /// [`SMALL_PACKET`] and [`PACKET`] (whole pages).
    fn packet_len(&self) -> usize {
        let known = self.packet.load(Ordering::Relaxed);
        if known != 0 {
            return known;
        }
        let buffer = nix::sys::socket::getsockopt(&self.fd, nix::sys::socket::sockopt::SndBuf);
        let len = (buffer.unwrap_or(0) / 4 / 4096 * 4096).clamp(SMALL_PACKET, PACKET);
        self.packet.store(len, Ordering::Relaxed);
        len
    }

    pub(crate) fn into_fd(self) -> OwnedFd {
        self.fd
    }

    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub(crate) fn max_message(&self) -> usize {
        self.max_message.load(Ordering::Relaxed)
    }

    pub(crate) fn set_max_message(&self, max: usize) {
        self.max_message
            .store(max.min(u32::MAX as usize), Ordering::Relaxed);
    }

    /// This writer's id: its process, and this end's number salted per process, so a
    /// process that reuses the pid of one that died mid-message is not taken for it.
    fn writer_id(&self) -> u64 {
        let (pid, salt) = *WRITER_SALT.get(|| {
            use std::hash::{BuildHasher, RandomState};
            let pid = std::process::id();
            (pid, RandomState::new().hash_one(pid) as u32)
        });
        (u64::from(pid) << 32) | u64::from(self.instance ^ salt)
    }

    /// Checks a message against the limits and returns its frame header.
    fn header(&self, kind: u8, len: usize, nfds: usize) -> Result<[u8; HEADER_LEN]> {
        let max = self.max_message();
        if len > max {
            return Err(Error::MessageTooLarge { len, max });
        }
        if nfds > MAX_FDS {
            return Err(Error::InvalidArgument(
                "more than 250 connections in one message",
            ));
        }
        Ok(FrameHeader {
            kind,
            aux: nfds as u8,
            len: len as u32,
        }
        .encode())
    }

    /// Sends one message; blocks while the socket is full. `Disconnected` when the peer is
    /// gone (never a `SIGPIPE`).
    pub(crate) fn send(&self, kind: u8, bytes: &[u8], fds: &[OwnedFd]) -> Result<()> {
        self.send_parts(kind, [bytes, &[]], fds)
    }

    /// [`send`](Self::send)s the message whose bytes are `parts` one after the other,
    /// without joining them.
    pub(crate) fn send_parts(&self, kind: u8, parts: [&[u8]; 2], fds: &[OwnedFd]) -> Result<()> {
        let len = parts[0].len() + parts[1].len();
        let header = self.header(kind, len, fds.len())?;
        let raw_fds: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        let wid = self.writer_id().to_le_bytes();
        let mut queue = lock(&self.send_queue);
        while queue.is_flushing() {
            // A non-blocking flush in another thread is sending a packet; it finishes soon.
            drop(queue);
            std::thread::yield_now();
            queue = lock(&self.send_queue);
        }
        // Whatever was queued goes first.
        self.send_all_queued(&mut queue)?;
        let rights = [ControlMessage::ScmRights(&raw_fds)];
        let mut cmsgs: &[ControlMessage] = if raw_fds.is_empty() { &[] } else { &rights };
        // The first packet carries the header and the descriptors; each after it, its piece.
        let mut head: &[u8] = &header;
        let mut at = 0;
        // Large packets only after the first of a message the receiver takes straight into
        // its buffer: a receive buffer (kept per connection) is then never filled past
        // `SMALL_PACKET`.
        let large = len >= incoming::DIRECT_FROM;
        loop {
            let packet = if large && at > 0 { self.packet_len() } else { SMALL_PACKET };
            let end = len.min(at + packet - WID - head.len());
            // Bytes `at..end` of the message: of the first part, then of the second.
            let first = &parts[0][at.min(parts[0].len())..end.min(parts[0].len())];
            let second = &parts[1][at.saturating_sub(parts[0].len())..end.saturating_sub(parts[0].len())];
            match self.sendmsg(&[&wid, head, first, second], cmsgs, MsgFlags::empty()) {
                Ok(_) => {}
                // The kernel could not allocate so large a packet (its memory is
                // fragmented), or the buffer shrank: small ones from now on.
                Err(Errno::ENOBUFS | Errno::ENOMEM | Errno::EMSGSIZE) if packet > SMALL_PACKET => {
                    self.packet.store(SMALL_PACKET, Ordering::Relaxed);
                    continue;
                }
                Err(e) => return Err(send_error(e)),
            }
            (head, cmsgs, at) = (&[], &[], end);
            if at == len {
                return Ok(());
            }
        }
    }

    /// Sends one packet; `Ok(false)` when `MSG_DONTWAIT` was asked and the socket is full.
    fn send_packet(
        &self,
        parts: &[&[u8]],
        cmsgs: &[ControlMessage],
        extra: MsgFlags,
    ) -> Result<bool> {
        self.sendmsg(parts, cmsgs, extra).map_err(send_error)
    }

    /// `sendmsg(2)` of one packet, again after a signal; `Ok(false)` when `MSG_DONTWAIT`
    /// was asked and the socket is full.
    fn sendmsg(&self, parts: &[&[u8]], cmsgs: &[ControlMessage], extra: MsgFlags) -> nix::Result<bool> {
        let iov: Vec<IoSlice> = parts.iter().map(|p| IoSlice::new(p)).collect();
        loop {
            let flags = MsgFlags::MSG_NOSIGNAL | extra;
            match sendmsg::<()>(self.fd.as_raw_fd(), &iov, cmsgs, flags, None) {
                Ok(_) => return Ok(true),
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) if extra.contains(MsgFlags::MSG_DONTWAIT) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }

    /// Receives one message, waiting at most `timeout` (forever for `None`).
    pub(crate) fn recv(&self, timeout: Option<Duration>) -> Result<Message> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut st = lock(&self.recv);
        loop {
            if let Some(m) = st.ready.pop_front() {
                return Ok(m);
            }
            if st.eof {
                return Err(Error::Disconnected);
            }
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if !self.readable(left)? {
                    return Err(Error::Timeout);
                }
            }
            st.recv_packet(
                self.fd.as_fd(),
                self.max_message() as u32,
                MsgFlags::empty(),
            )?;
        }
    }

    /// Receives one message like [`recv`](Self::recv), for an end that several threads or
    /// processes may read (a `Connection`): the lock on the receive state is only held for
    /// non-blocking reads, never while waiting, so a `poll` or `recv` on a clone does not
    /// wait behind this one, and a process forked meanwhile does not inherit it held for
    /// long.
    pub(crate) fn recv_shared(&self, timeout: Option<Duration>) -> Result<Message> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if let Some(m) = self.try_recv()? {
                return Ok(m);
            }
            let left = match deadline {
                None => Duration::from_secs(3600),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Error::Timeout);
                    }
                    left
                }
            };
            self.readable(left)?;
        }
    }

    /// Receives one message if a whole one can be had without blocking.
    pub(crate) fn try_recv(&self) -> Result<Option<Message>> {
        let mut st = lock(&self.recv);
        loop {
            if let Some(m) = st.ready.pop_front() {
                return Ok(Some(m));
            }
            if st.eof {
                return Err(Error::Disconnected);
            }
            if !st.recv_packet(
                self.fd.as_fd(),
                self.max_message() as u32,
                MsgFlags::MSG_DONTWAIT,
            )? {
                return Ok(None);
            }
        }
    }

    /// Whether a message (or the end of the stream) is waiting, after at most `timeout`.
    pub(crate) fn poll(&self, timeout: Duration) -> Result<bool> {
        {
            let st = lock(&self.recv);
            if !st.ready.is_empty() || st.eof {
                return Ok(true);
            }
        }
        self.readable(timeout)
    }

    /// Whether a whole message or the end of the stream was already read into this end (so
    /// `poll(2)` on the socket would not show it).
    pub(crate) fn buffered(&self) -> bool {
        let st = lock(&self.recv);
        !st.ready.is_empty() || st.eof
    }

    fn readable(&self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
                .unwrap_or(PollTimeout::MAX);
            let ms = if left > Duration::ZERO && ms == PollTimeout::ZERO {
                PollTimeout::from(1u8)
            } else {
                ms
            };
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, ms) {
                Ok(n) => return Ok(n > 0),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::io("poll", e)),
            }
        }
    }

    /// Shuts down one direction of the socket (for one-way pipes).
    pub(crate) fn shutdown(&self, how: nix::sys::socket::Shutdown) -> Result<()> {
        nix::sys::socket::shutdown(self.fd.as_raw_fd(), how).map_err(|e| Error::io("shutdown", e))
    }
}

mod incoming;
mod message;
mod outgoing;
#[cfg(test)]
mod tests;

use incoming::RecvState;
pub(crate) use message::Message;
use outgoing::SendQueue;
