//! `Condition`: Python's `multiprocessing.Condition`, a condition variable shared between
//! processes, on a [`Lock`].

use super::lock::{Lock, LockGuard};
use super::object::{Kind, Object, fd_from_index, serialize_fd};
use crate::error::{Error, Result};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A condition variable shared between processes, like Python's
/// `multiprocessing.Condition`: waiters release its [`Lock`] while they wait and hold it
/// again when woken. Clones share it; it travels to pool workers and `Process` children
/// inside arguments (with its lock).
///
/// ```
/// use std::time::Duration;
/// let ready = forkpool::Value::new(0u32)?;
/// let cond = forkpool::Condition::new(forkpool::Lock::new()?)?;
/// let (c, r) = (cond.clone(), ready.clone());
/// let child = forkpool::Process::spawn(move || {
///     let (_g, ok) = c.wait_for(c.lock().unwrap(), || r.load() == 1, Some(Duration::from_secs(30))).unwrap();
///     ok
/// })?;
/// { let _g = cond.lock()?; ready.store(1); cond.notify_all(); }
/// assert!(child.join()?);
/// # Ok::<(), forkpool::Error>(())
/// ```
#[derive(Clone)]
pub struct Condition {
    lock: Lock,
    obj: Arc<Object>,
}

impl Condition {
    /// A condition on `lock` (a clone of it: the caller may keep using its own).
    pub fn new(lock: Lock) -> Result<Self> {
        Ok(Self {
            lock,
            obj: Arc::new(Object::create(Kind::Condition, 0, 1, false, 0)?),
        })
    }

    /// The condition's lock.
    pub fn get_lock(&self) -> &Lock {
        &self.lock
    }

    /// Takes the condition's lock (Python's `with cond:`).
    pub fn lock(&self) -> Result<LockGuard<'_>> {
        self.lock.lock()
    }

    /// Releases the lock held by `guard`, waits until notified, and takes the lock again.
    pub fn wait<'a>(&self, guard: LockGuard<'a>) -> Result<LockGuard<'a>> {
        self.wait_timeout(guard, Duration::MAX).map(|(g, _)| g)
    }

    /// [`wait`](Self::wait) at most `timeout`; with whether the time ran out.
    pub fn wait_timeout<'a>(
        &self,
        mut guard: LockGuard<'a>,
        timeout: Duration,
    ) -> Result<(LockGuard<'a>, bool)> {
        if !guard.is_of(&self.lock) {
            return Err(Error::InvalidArgument(
                "the guard is not of this condition's lock",
            ));
        }
        let limit = (timeout != Duration::MAX).then_some(timeout);
        let timed_out = guard.wait_on(self.obj.cond(0), limit)?;
        Ok((guard, timed_out))
    }

    /// Waits until `ready()` holds (checked with the lock held), at most `timeout` (`None`:
    /// as long as it takes); with whether it holds (Python's `wait_for`).
    pub fn wait_for<'a>(
        &self,
        mut guard: LockGuard<'a>,
        mut ready: impl FnMut() -> bool,
        timeout: Option<Duration>,
    ) -> Result<(LockGuard<'a>, bool)> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if ready() {
                return Ok((guard, true));
            }
            let left = match deadline {
                None => Duration::MAX,
                Some(d) => d.saturating_duration_since(Instant::now()),
            };
            if left.is_zero() {
                return Ok((guard, false));
            }
            guard = self.wait_timeout(guard, left)?.0;
        }
    }

    /// Wakes one waiter.
    pub fn notify_one(&self) {
        self.obj.cond(0).notify_one();
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        self.obj.cond(0).notify_all();
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition").field("lock", &self.lock).finish()
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.lock)?;
        t.serialize_element(&FdOf(&self.obj))?;
        t.end()
    }
}

/// An object's descriptor, as a value to serialize.
pub(crate) struct FdOf<'a>(pub &'a Object);

impl Serialize for FdOf<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        serialize_fd(self.0.fd(), s)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let (lock, index): (Lock, u32) = Deserialize::deserialize(d)?;
        let obj = Object::open(fd_from_index(index)?, Kind::Condition)
            .map_err(serde::de::Error::custom)?;
        Ok(Self {
            lock,
            obj: Arc::new(obj),
        })
    }
}
