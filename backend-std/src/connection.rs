//! `Connection<T>` and `pipe()`: Python's `multiprocessing.Pipe`, typed.

use crate::codec;
use crate::error::{Error, Result};
use crate::wire::{RawConn, raw_pair};
use nix::sys::socket::Shutdown;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

pub(crate) const VALUE: u8 = 1;
const BYTES: u8 = 2;

/// One end of a [`pipe`]: sends and receives whole messages of type `T`.
///
/// Clones share the same socket and may be used from several threads and, after a fork or
/// being sent to another process, from several processes at once: each message arrives
/// whole, never interleaved with another. Only one process should receive from an end at a
/// time. The socket closes when the last clone in a process is dropped.
///
/// A `Connection` can itself be sent: inside a task's arguments, or over another
/// `Connection` (its descriptor travels with `SCM_RIGHTS`, as in Python).
///
/// ```
/// let (a, b) = forkpool::pipe::<String>()?;
/// a.send(&"hello".to_string())?;
/// assert!(b.poll(std::time::Duration::ZERO)?);
/// assert_eq!(b.recv()?, "hello");
/// # Ok::<(), forkpool::Error>(())
/// ```
pub struct Connection<T> {
    raw: Arc<RawConn>,
    _t: PhantomData<fn(T) -> T>,
}

/// Two connected duplex ends, like Python's `Pipe(duplex=True)`.
pub fn pipe<T>() -> Result<(Connection<T>, Connection<T>)> {
    let (a, b) = raw_pair()?;
    Ok((Connection::from_raw(a), Connection::from_raw(b)))
}

/// A one-way pipe, like Python's `Pipe(duplex=False)`: returns `(receiver, sender)`. Sending
/// on the receiver, or receiving on the sender, fails.
pub fn pipe_oneway<T>() -> Result<(Connection<T>, Connection<T>)> {
    let (r, w) = raw_pair()?;
    r.shutdown(Shutdown::Write)?;
    w.shutdown(Shutdown::Read)?;
    Ok((Connection::from_raw(r), Connection::from_raw(w)))
}

impl<T> Connection<T> {
    /// The socket end underneath.
    pub(crate) fn raw(&self) -> &RawConn {
        &self.raw
    }

    fn from_raw(raw: RawConn) -> Self {
        // A byte vector or string value arrives with its length apart, and takes its buffer.
        if crate::sys::same_type::is_owned_bytes::<T>() {
            raw.cut_byte_strings();
        }
        Self {
            raw: Arc::new(raw),
            _t: PhantomData,
        }
    }

    fn from_fd(fd: OwnedFd) -> Self {
        Self::from_raw(RawConn::from_fd(fd))
    }

    /// Sends raw bytes as one message (Python's `send_bytes`).
    pub fn send_bytes(&self, bytes: &[u8]) -> Result<()> {
        self.raw.send(BYTES, bytes, &[])
    }

    /// Receives one message sent with [`send_bytes`](Self::send_bytes) (Python's
    /// `recv_bytes`).
    pub fn recv_bytes(&self) -> Result<Vec<u8>> {
        let m = self.raw.recv_shared(None)?;
        m.check_fds()?;
        match m.kind {
            BYTES => Ok(m.into_whole()),
            _ => Err(Error::Decode(
                "expected a send_bytes message, got a value".into(),
            )),
        }
    }

    /// Receives one message sent with [`send_bytes`](Self::send_bytes) into `buf` and
    /// returns its length (Python's `recv_bytes_into`). A message longer than `buf` fails
    /// with [`Error::BufferTooShort`], which carries the whole message: nothing is lost.
    ///
    /// ```
    /// let (a, b) = forkpool::pipe::<()>()?;
    /// a.send_bytes(b"abc")?;
    /// let mut buf = [0u8; 8];
    /// assert_eq!(b.recv_bytes_into(&mut buf)?, 3);
    /// assert_eq!(&buf[..3], b"abc");
    /// a.send_bytes(b"too long for it")?;
    /// match b.recv_bytes_into(&mut buf[..4]) {
    ///     Err(forkpool::Error::BufferTooShort { message }) => assert_eq!(message, b"too long for it"),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), forkpool::Error>(())
    /// ```
    pub fn recv_bytes_into(&self, buf: &mut [u8]) -> Result<usize> {
        let message = self.recv_bytes()?;
        match buf.get_mut(..message.len()) {
            Some(into) => {
                into.copy_from_slice(&message);
                Ok(message.len())
            }
            None => Err(Error::BufferTooShort { message }),
        }
    }

    /// Whether a message is waiting (or the peer is gone), after waiting at most `timeout`.
    /// `Duration::ZERO` only looks.
    pub fn poll(&self, timeout: Duration) -> Result<bool> {
        self.raw.poll(timeout)
    }

    /// Largest message this end sends or accepts, in bytes (default 1 GiB).
    pub fn max_message(&self) -> usize {
        self.raw.max_message()
    }

    /// Sets the largest message this end sends or accepts. A larger incoming message fails
    /// with [`Error::Protocol`] before anything is allocated for it.
    pub fn set_max_message(&self, max: usize) {
        self.raw.set_max_message(max);
    }
}

impl<T: Serialize + DeserializeOwned> Connection<T> {
    /// Sends `value` as one message; blocks while the socket is full.
    /// [`Error::Disconnected`] when the other end is gone.
    pub fn send(&self, value: &T) -> Result<()> {
        // A byte buffer or string goes from its own memory (`codec/outgoing.rs`).
        codec::Outgoing::of(value)?.send(&self.raw, VALUE)
    }

    /// Receives one message, waiting as long as it takes. [`Error::Disconnected`] once the
    /// other end is gone and every message has been read.
    pub fn recv(&self) -> Result<T> {
        Self::decode(self.raw.recv_shared(None)?)
    }

    /// Receives one message, waiting at most `timeout` ([`Error::Timeout`] after that).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T> {
        Self::decode(self.raw.recv_shared(Some(timeout))?)
    }

    fn decode(m: crate::wire::Message) -> Result<T> {
        m.check_fds()?;
        match m.kind {
            VALUE => codec::decode_received(m),
            _ => Err(Error::Decode(
                "expected a value, got a send_bytes message".into(),
            )),
        }
    }
}

impl<T> Clone for Connection<T> {
    fn clone(&self) -> Self {
        Self {
            raw: Arc::clone(&self.raw),
            _t: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Connection<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("fd", &self.raw.as_fd().as_raw_fd())
            .finish()
    }
}

impl<T> Serialize for Connection<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let index = codec::stash_outgoing(self.raw.as_fd()).map_err(serde::ser::Error::custom)?;
        s.serialize_u32(index)
    }
}

impl<'de, T> Deserialize<'de> for Connection<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let index = u32::deserialize(d)?;
        let fd = codec::take_incoming(index).map_err(serde::de::Error::custom)?;
        Ok(Self::from_fd(fd))
    }
}
