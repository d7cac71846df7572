//! `Semaphore` and `BoundedSemaphore`: Python's `multiprocessing.Semaphore` and
//! `BoundedSemaphore`, shared between processes.

use super::object::{Kind, Object, by_descriptor};
use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const VALUE: usize = 0;
/// The most the value may reach (`u32::MAX`: no bound).
const BOUND: usize = 1;

/// A counter processes take from and give back to, like Python's
/// `multiprocessing.Semaphore`: [`acquire`](Self::acquire) waits while it is 0. Clones share
/// it; it travels to pool workers and `Process` children inside arguments.
///
/// ```
/// let s = forkpool::Semaphore::new(2)?;
/// s.acquire()?;
/// assert!(s.try_acquire()?);
/// assert!(!s.try_acquire()?);
/// s.release()?;
/// assert_eq!(s.value(), 1);
/// # Ok::<(), forkpool::Error>(())
/// ```
#[derive(Clone)]
pub struct Semaphore {
    obj: Arc<Object>,
}

/// A [`Semaphore`] that may not be released above its initial value, like Python's
/// `BoundedSemaphore`: one release too many is [`Error::InvalidArgument`].
#[derive(Clone)]
pub struct BoundedSemaphore {
    inner: Semaphore,
}

impl Semaphore {
    /// A semaphore with value `n`.
    pub fn new(n: u32) -> Result<Self> {
        Self::with_bound(n, u32::MAX)
    }

    fn with_bound(n: u32, bound: u32) -> Result<Self> {
        let obj = Object::create(Kind::Semaphore, 1, 1, false, 0)?;
        obj.word(VALUE).store(n, Ordering::Relaxed);
        obj.word(BOUND).store(bound, Ordering::Relaxed);
        Ok(Self { obj: Arc::new(obj) })
    }

    /// Takes one, waiting while there is none.
    pub fn acquire(&self) -> Result<()> {
        while !self.acquire_timeout(Duration::from_secs(3600))? {}
        Ok(())
    }

    /// Takes one, waiting at most `timeout`; whether one was taken.
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        let mut held = self.obj.guard(0)?;
        loop {
            let v = self.obj.word(VALUE).load(Ordering::Relaxed);
            if v > 0 {
                self.obj.word(VALUE).store(v - 1, Ordering::Relaxed);
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            self.obj
                .cond(0)
                .wait(&mut held, Some(left))
                .map_err(|source| Error::Io {
                    op: "wait on a shared semaphore",
                    source,
                })?;
        }
    }

    /// Takes one if there is one now; whether one was taken.
    pub fn try_acquire(&self) -> Result<bool> {
        self.acquire_timeout(Duration::ZERO)
    }

    /// Gives one back and wakes a waiter.
    pub fn release(&self) -> Result<()> {
        let _held = self.obj.guard(0)?;
        let v = self.obj.word(VALUE).load(Ordering::Relaxed);
        if v >= self.obj.word(BOUND).load(Ordering::Relaxed) {
            return Err(Error::InvalidArgument(
                "semaphore released more times than it was acquired",
            ));
        }
        self.obj.word(VALUE).store(v + 1, Ordering::Relaxed);
        self.obj.cond(0).notify_one();
        Ok(())
    }

    /// The value now (Python's `get_value`).
    pub fn value(&self) -> u32 {
        self.obj.word(VALUE).load(Ordering::Relaxed)
    }
}

impl BoundedSemaphore {
    /// A semaphore with value `n`, never released above `n`.
    pub fn new(n: u32) -> Result<Self> {
        Ok(Self {
            inner: Semaphore::with_bound(n, n)?,
        })
    }

    /// See [`Semaphore::acquire`].
    pub fn acquire(&self) -> Result<()> {
        self.inner.acquire()
    }

    /// See [`Semaphore::acquire_timeout`].
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool> {
        self.inner.acquire_timeout(timeout)
    }

    /// See [`Semaphore::try_acquire`].
    pub fn try_acquire(&self) -> Result<bool> {
        self.inner.try_acquire()
    }

    /// Gives one back; [`Error::InvalidArgument`] if that would pass the initial value.
    pub fn release(&self) -> Result<()> {
        self.inner.release()
    }

    /// The value now.
    pub fn value(&self) -> u32 {
        self.inner.value()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("value", &self.value())
            .finish()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("value", &self.value())
            .field("bound", &self.inner.obj.word(BOUND).load(Ordering::Relaxed))
            .finish()
    }
}

by_descriptor!(Semaphore, Kind::Semaphore);

impl Serialize for BoundedSemaphore {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.inner.serialize(s)
    }
}

impl<'de> Deserialize<'de> for BoundedSemaphore {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(Self {
            inner: Semaphore::deserialize(d)?,
        })
    }
}
