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

/// Largest packet on the socket; fits the default socket buffer with room to spare.
const PACKET: usize = 64 * 1024;
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
}

impl Message {
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

/// One end of a message socket.
pub(crate) struct RawConn {
    fd: OwnedFd,
    instance: u32,
    max_message: AtomicUsize,
    /// Packets queued by [`enqueue`](Self::enqueue); its lock also orders blocking sends.
    send_queue: Mutex<SendQueue>,
    recv: Mutex<RecvState>,
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
        }
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
        let header = self.header(kind, bytes.len(), fds.len())?;
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
        let first = bytes.len().min(PACKET - WID - HEADER_LEN);
        let rights = [ControlMessage::ScmRights(&raw_fds)];
        let cmsgs: &[ControlMessage] = if raw_fds.is_empty() { &[] } else { &rights };
        self.send_packet(&[&wid, &header, &bytes[..first]], cmsgs, MsgFlags::empty())?;
        for chunk in bytes[first..].chunks(PACKET - WID) {
            self.send_packet(&[&wid, chunk], &[], MsgFlags::empty())?;
        }
        Ok(())
    }

    /// Sends one packet; `Ok(false)` when `MSG_DONTWAIT` was asked and the socket is full.
    fn send_packet(
        &self,
        parts: &[&[u8]],
        cmsgs: &[ControlMessage],
        extra: MsgFlags,
    ) -> Result<bool> {
        let iov: Vec<IoSlice> = parts.iter().map(|p| IoSlice::new(p)).collect();
        loop {
            let flags = MsgFlags::MSG_NOSIGNAL | extra;
            match sendmsg::<()>(self.fd.as_raw_fd(), &iov, cmsgs, flags, None) {
                Ok(_) => return Ok(true),
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) if extra.contains(MsgFlags::MSG_DONTWAIT) => return Ok(false),
                Err(Errno::EPIPE | Errno::ECONNRESET | Errno::ENOTCONN) => {
                    return Err(Error::Disconnected);
                }
                Err(e) => return Err(Error::io("sendmsg", e)),
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
mod outgoing;
#[cfg(test)]
mod tests;

use incoming::RecvState;
use outgoing::SendQueue;
