//! `Queue` and `SimpleQueue`: Python's `multiprocessing.Queue` and `SimpleQueue`, many
//! producers and consumers in any processes.
//!
//! Values travel over one socket pair (producers write one end, consumers read the
//! other), as whole messages; a write lock keeps one producer's message in one piece and a
//! read lock hands each message to one consumer. The bound, the count and the closed flag
//! live in shared memory beside them, with a condition variable for room.

use super::condition::FdOf;
use super::object::{Kind, Object, fd_from_index};
use crate::codec;
use crate::connection::VALUE;
use crate::error::{Error, Result};
use crate::wire::{RawConn, raw_pair};
use serde::de::DeserializeOwned;
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Mutexes: the state's, the consumers', the producers'.
const STATE: usize = 0;
const READ: usize = 1;
const WRITE: usize = 2;
/// Condition variables: room to put, every task done.
pub(super) const NOT_FULL: usize = 0;
pub(super) const ALL_DONE: usize = 1;
/// Words.
const CAPACITY: usize = 0;
const COUNT: usize = 1;
const CLOSED: usize = 2;
pub(super) const UNFINISHED: usize = 3;
/// How often a waiting `get` looks whether the queue was closed.
const CLOSE_CHECK: Duration = Duration::from_millis(100);

/// A bounded FIFO queue between any processes, like Python's `multiprocessing.Queue`:
/// pool workers, `Process` children and the owner may all put and get at once. A full
/// queue makes `put` wait (or [`try_put`](Self::try_put) fail with [`Error::Full`]); the
/// value is never dropped: it is the caller's until it is in the queue. Clones share the
/// queue; it travels inside arguments like a [`Connection`](crate::Connection).
///
/// ```
/// let q = forkpool::Queue::<String>::new(8)?;
/// let producer = q.clone();
/// let child = forkpool::Process::spawn(move || {
///     for i in 0..3 { producer.put(&format!("item {i}")).unwrap(); }
/// })?;
/// let got: Vec<String> = (0..3).map(|_| q.get().unwrap()).collect();
/// assert_eq!(got, ["item 0", "item 1", "item 2"]);
/// child.join()?;
/// # Ok::<(), forkpool::Error>(())
/// ```
pub struct Queue<T> {
    pub(super) obj: Arc<Object>,
    tx: Arc<RawConn>,
    rx: Arc<RawConn>,
    _t: PhantomData<fn(T) -> T>,
}

/// An unbounded queue between processes, like Python's `multiprocessing.SimpleQueue`.
pub struct SimpleQueue<T> {
    inner: Queue<T>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Self {
            obj: Arc::clone(&self.obj),
            tx: Arc::clone(&self.tx),
            rx: Arc::clone(&self.rx),
            _t: PhantomData,
        }
    }
}

impl<T> Clone for SimpleQueue<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

/// When a wait ends: never, now, or at a time.
#[derive(Clone, Copy)]
enum Until {
    Forever,
    Now,
    At(Instant),
}

impl Until {
    fn after(timeout: Duration) -> Self {
        Instant::now().checked_add(timeout).map_or(Self::Forever, Self::At)
    }

    /// Time left (`None`: no limit); zero once it has passed.
    fn left(self) -> Option<Duration> {
        match self {
            Self::Forever => None,
            Self::Now => Some(Duration::ZERO),
            Self::At(t) => Some(t.saturating_duration_since(Instant::now())),
        }
    }

    /// The error a wait that ran out ends with: `now` (a `try_` form), or `Timeout`.
    fn expired(self, now: Error) -> Error {
        match self {
            Self::Now => now,
            _ => Error::Timeout,
        }
    }
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    /// A queue holding at most `capacity` values (at least 1).
    pub fn new(capacity: u32) -> Result<Self> {
        if capacity == 0 {
            return Err(Error::InvalidArgument("a queue holds at least one value"));
        }
        let obj = Object::create(Kind::Queue, 3, 2, false, 0)?;
        obj.word(CAPACITY).store(capacity, Ordering::Relaxed);
        let (tx, rx) = raw_pair()?;
        Ok(Self {
            obj: Arc::new(obj),
            tx: Arc::new(tx),
            rx: receiving::<T>(rx),
            _t: PhantomData,
        })
    }

    /// Puts a copy of `value` at the end, waiting while the queue is full.
    pub fn put(&self, value: &T) -> Result<()> {
        self.put_until(value, Until::Forever)
    }

    /// [`put`](Self::put), waiting at most `timeout` ([`Error::Timeout`]).
    pub fn put_timeout(&self, value: &T, timeout: Duration) -> Result<()> {
        self.put_until(value, Until::after(timeout))
    }

    /// Puts `value` if there is room now; [`Error::Full`] if not.
    pub fn try_put(&self, value: &T) -> Result<()> {
        self.put_until(value, Until::Now)
    }

    /// Takes the value at the front, waiting while the queue is empty; [`Error::Closed`]
    /// once it is closed and empty.
    pub fn get(&self) -> Result<T> {
        self.get_until(Until::Forever)
    }

    /// [`get`](Self::get), waiting at most `timeout` ([`Error::Timeout`]).
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        self.get_until(Until::after(timeout))
    }

    /// Takes the value at the front if there is one now; [`Error::Empty`] if not.
    pub fn try_get(&self) -> Result<T> {
        self.get_until(Until::Now)
    }

    fn put_until(&self, value: &T, until: Until) -> Result<()> {
        // Encoded first: a value that cannot be sent takes no room. A byte buffer or string
        // goes from its own memory (`codec/outgoing.rs`).
        let outgoing = codec::Outgoing::of(value)?;
        {
            let mut held = self.obj.guard(STATE)?;
            loop {
                if self.obj.word(CLOSED).load(Ordering::Relaxed) != 0 {
                    return Err(Error::Closed);
                }
                let count = self.obj.word(COUNT).load(Ordering::Relaxed);
                if count < self.obj.word(CAPACITY).load(Ordering::Relaxed) {
                    self.obj.word(COUNT).store(count + 1, Ordering::Relaxed);
                    self.obj.word(UNFINISHED).fetch_add(1, Ordering::Relaxed);
                    break;
                }
                let left = until.left();
                if left.is_some_and(|l| l.is_zero()) {
                    return Err(until.expired(Error::Full));
                }
                self.obj
                    .cond(NOT_FULL)
                    .wait(&mut held, left)
                    .map_err(|source| Error::Io {
                        op: "wait for room in a queue",
                        source,
                    })?;
            }
        }
        let sent = {
            let _writing = self.obj.guard(WRITE)?;
            outgoing.send(&self.tx, VALUE)
        };
        if sent.is_err() {
            let _held = self.obj.guard(STATE)?;
            self.obj.word(COUNT).fetch_sub(1, Ordering::Relaxed);
            self.obj.word(UNFINISHED).fetch_sub(1, Ordering::Relaxed);
        }
        sent
    }

    fn get_until(&self, until: Until) -> Result<T> {
        let reading = match until.left() {
            Some(left) => self.obj.lock(READ, Some(left))?,
            None => Some(self.obj.guard(READ)?),
        };
        let Some(reading) = reading else {
            return Err(until.expired(Error::Empty));
        };
        let m = loop {
            let left = until.left();
            let slice = left.map_or(CLOSE_CHECK, |l| l.min(CLOSE_CHECK));
            match self.rx.recv_shared(Some(slice)) {
                Ok(m) => break m,
                Err(Error::Timeout) => {}
                Err(e) => return Err(e),
            }
            let closed = self.obj.word(CLOSED).load(Ordering::Relaxed) != 0;
            if closed && self.obj.word(COUNT).load(Ordering::Relaxed) == 0 {
                return Err(Error::Closed);
            }
            if left.is_some_and(|l| l <= slice) {
                return Err(until.expired(Error::Empty));
            }
        };
        drop(reading);
        {
            let _held = self.obj.guard(STATE)?;
            self.obj.word(COUNT).fetch_sub(1, Ordering::Relaxed);
            self.obj.cond(NOT_FULL).notify_one();
        }
        m.check_fds()?;
        codec::decode_received(m)
    }

    /// How many values are in the queue (approximately, as in Python: others may be
    /// putting and getting meanwhile).
    pub fn len(&self) -> usize {
        self.obj.word(COUNT).load(Ordering::Relaxed) as usize
    }

    /// Whether the queue is empty (approximately).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most values it holds.
    pub fn capacity(&self) -> usize {
        self.obj.word(CAPACITY).load(Ordering::Relaxed) as usize
    }

    /// Closes the queue for every process: `put` fails with [`Error::Closed`] from now on,
    /// and `get` does once the values already in it are taken.
    pub fn close(&self) {
        if let Ok(_held) = self.obj.guard(STATE) {
            self.obj.word(CLOSED).store(1, Ordering::Relaxed);
            self.obj.cond(NOT_FULL).notify_all();
        }
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.obj.word(CLOSED).load(Ordering::Relaxed) != 0
    }
}

impl<T: Serialize + DeserializeOwned> SimpleQueue<T> {
    /// An unbounded queue.
    pub fn new() -> Result<Self> {
        Ok(Self {
            inner: Queue::new(u32::MAX)?,
        })
    }

    /// Puts a copy of `value` at the end.
    pub fn put(&self, value: &T) -> Result<()> {
        self.inner.put(value)
    }

    /// Takes the value at the front, waiting while there is none.
    pub fn get(&self) -> Result<T> {
        self.inner.get()
    }

    /// [`get`](Self::get), waiting at most `timeout`.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        self.inner.get_timeout(timeout)
    }

    /// Whether the queue is empty (approximately).
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Closes it (see [`Queue::close`]).
    pub fn close(&self) {
        self.inner.close()
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("len", &self.obj.word(COUNT).load(Ordering::Relaxed))
            .field("capacity", &self.obj.word(CAPACITY).load(Ordering::Relaxed))
            .field("closed", &(self.obj.word(CLOSED).load(Ordering::Relaxed) != 0))
            .finish()
    }
}

impl<T> fmt::Debug for SimpleQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimpleQueue")
            .field("len", &self.inner.obj.word(COUNT).load(Ordering::Relaxed))
            .finish()
    }
}

/// A socket end, as a value to serialize.
struct ConnFd<'a>(&'a RawConn);

impl Serialize for ConnFd<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        super::object::serialize_fd(self.0.as_fd(), s)
    }
}

impl<T> Serialize for Queue<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(3)?;
        t.serialize_element(&FdOf(&self.obj))?;
        t.serialize_element(&ConnFd(&self.tx))?;
        t.serialize_element(&ConnFd(&self.rx))?;
        t.end()
    }
}

/// The receiving end of a queue of `T`: a byte vector or string value arrives with its
/// length apart, and takes its buffer (`RawConn::cut_byte_strings`).
fn receiving<T>(rx: RawConn) -> Arc<RawConn> {
    if crate::sys::same_type::is_owned_bytes::<T>() {
        rx.cut_byte_strings();
    }
    Arc::new(rx)
}

impl<'de, T> Deserialize<'de> for Queue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let (obj, tx, rx): (u32, u32, u32) = Deserialize::deserialize(d)?;
        let obj =
            Object::open(fd_from_index(obj)?, Kind::Queue).map_err(serde::de::Error::custom)?;
        Ok(Self {
            obj: Arc::new(obj),
            tx: Arc::new(RawConn::from_fd(fd_from_index(tx)?)),
            rx: receiving::<T>(RawConn::from_fd(fd_from_index(rx)?)),
            _t: PhantomData,
        })
    }
}

impl<T> Serialize for SimpleQueue<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.inner.serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for SimpleQueue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(Self {
            inner: Queue::deserialize(d)?,
        })
    }
}
