//! `RLock`: Python's `multiprocessing.RLock`, a lock its holder may take again.

use super::lock::{DEPTH, OWNER, owner_died};
use super::object::{Kind, Object, by_descriptor};
use crate::error::{Error, Result};
use crate::sys::Held;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A reentrant lock shared between processes, like Python's `multiprocessing.RLock`: the
/// thread that holds it may take it again, and it is free once every guard is dropped. A
/// holder that dies is reported to the next acquirer ([`Error::OwnerDied`]), as with
/// [`Lock`](crate::Lock).
///
/// ```
/// let r = forkpool::RLock::new()?;
/// let outer = r.lock()?;
/// let inner = r.lock()?; // the same thread: fine
/// assert_eq!(r.depth(), 2);
/// drop((inner, outer));
/// assert_eq!(r.depth(), 0);
/// # Ok::<(), forkpool::Error>(())
/// ```
#[derive(Clone)]
pub struct RLock {
    obj: Arc<Object>,
}

/// Holds an [`RLock`] once; the lock is free when its last guard is dropped.
pub struct RLockGuard<'a> {
    _held: Held<'a>,
    lock: &'a RLock,
}

impl RLock {
    /// A new reentrant lock, free.
    pub fn new() -> Result<Self> {
        Ok(Self {
            obj: Arc::new(Object::create(Kind::RLock, 1, 0, true, 0)?),
        })
    }

    /// Takes the lock (again, if this thread holds it), waiting as long as it takes.
    pub fn lock(&self) -> Result<RLockGuard<'_>> {
        let held = self.obj.lock(0, None)?.ok_or(Error::Timeout)?;
        self.took(held)
    }

    /// Takes the lock, waiting at most `timeout` ([`Error::Timeout`] after that).
    pub fn lock_timeout(&self, timeout: Duration) -> Result<RLockGuard<'_>> {
        let held = self.obj.lock(0, Some(timeout))?.ok_or(Error::Timeout)?;
        self.took(held)
    }

    /// Takes the lock if this thread holds it or nobody does; `None` otherwise.
    pub fn try_lock(&self) -> Result<Option<RLockGuard<'_>>> {
        match self.obj.try_lock(0)? {
            Some(held) => self.took(held).map(Some),
            None => Ok(None),
        }
    }

    /// How many guards the holder has (0: free, or held by nobody in this process's view).
    pub fn depth(&self) -> u32 {
        self.obj.word(DEPTH).load(Ordering::Relaxed)
    }

    fn took<'a>(&'a self, held: Held<'a>) -> Result<RLockGuard<'a>> {
        if held.owner_died {
            return Err(owner_died(&self.obj, held, true));
        }
        self.obj
            .word(OWNER)
            .store(crate::sys::current_pid(), Ordering::Relaxed);
        self.obj.word(DEPTH).fetch_add(1, Ordering::Relaxed);
        Ok(RLockGuard { _held: held, lock: self })
    }
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        let obj = &self.lock.obj;
        if obj.word(DEPTH).fetch_sub(1, Ordering::Relaxed) == 1 {
            obj.word(OWNER).store(0, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let owner = self.obj.word(OWNER).load(Ordering::Relaxed);
        f.debug_struct("RLock")
            .field("held_by", &(owner != 0).then_some(owner))
            .field("depth", &self.depth())
            .finish()
    }
}

impl fmt::Debug for RLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockGuard").finish_non_exhaustive()
    }
}

by_descriptor!(RLock, Kind::RLock);
