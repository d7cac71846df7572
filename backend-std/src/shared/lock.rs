//! `Lock` and `RLock`: Python's `multiprocessing.Lock` and `RLock`, shared between processes,
//! robust: a holder that dies is reported to the next acquirer.

use super::object::{Kind, Object, by_descriptor};
use crate::error::{Error, Result};
use crate::sys::Held;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The holder's pid.
pub(crate) const OWNER: usize = 0;
/// How many times the holder took an `RLock`.
pub(crate) const DEPTH: usize = 1;

/// A lock shared between processes, like Python's `multiprocessing.Lock`.
///
/// Clones share the lock; it travels to pool workers and `Process` children inside
/// arguments (or over a [`Connection`](crate::Connection)) and works there. If a process
/// dies holding it, the next [`lock`](Self::lock) anywhere fails once with
/// [`Error::OwnerDied`] naming that process (and releases it): never a silent deadlock.
/// Taking it twice on one thread is an error, not a deadlock (see [`RLock`](crate::RLock)).
///
/// ```
/// let lock = forkpool::Lock::new()?;
/// fn add_one(lock: forkpool::Lock, total: forkpool::Value<u64>) {
///     let _held = lock.lock().unwrap();
///     total.store(total.load() + 1);
/// }
/// let total = forkpool::Value::new(0u64)?;
/// let pool = forkpool::Pool::new(2)?;
/// pool.starmap(add_one, (0..20).map(|_| (lock.clone(), total.clone())))?;
/// assert_eq!(total.load(), 20);
/// # Ok::<(), forkpool::Error>(())
/// ```
#[derive(Clone)]
pub struct Lock {
    pub(crate) obj: Arc<Object>,
}

/// Holds a [`Lock`]; releases it when dropped.
pub struct LockGuard<'a> {
    pub(crate) held: Held<'a>,
    pub(crate) lock: &'a Lock,
}

pub(crate) fn owner_died(obj: &Object, held: Held<'_>, depth_too: bool) -> Error {
    let pid = obj.word(OWNER).swap(0, Ordering::Relaxed);
    if depth_too {
        obj.word(DEPTH).store(0, Ordering::Relaxed);
    }
    drop(held);
    Error::OwnerDied { pid }
}

impl Lock {
    /// A new lock, free.
    pub fn new() -> Result<Self> {
        Ok(Self {
            obj: Arc::new(Object::create(Kind::Lock, 1, 0, false, 0)?),
        })
    }

    /// Takes the lock, waiting as long as it takes.
    pub fn lock(&self) -> Result<LockGuard<'_>> {
        let held = self.obj.lock(0, None)?.ok_or(Error::Timeout)?;
        self.took(held)
    }

    /// Takes the lock, waiting at most `timeout` ([`Error::Timeout`] after that).
    pub fn lock_timeout(&self, timeout: Duration) -> Result<LockGuard<'_>> {
        let held = self.obj.lock(0, Some(timeout))?.ok_or(Error::Timeout)?;
        self.took(held)
    }

    /// Takes the lock if it is free now; `None` if another holds it.
    pub fn try_lock(&self) -> Result<Option<LockGuard<'_>>> {
        match self.obj.try_lock(0)? {
            Some(held) => self.took(held).map(Some),
            None => Ok(None),
        }
    }

    fn took<'a>(&'a self, held: Held<'a>) -> Result<LockGuard<'a>> {
        if held.owner_died {
            return Err(owner_died(&self.obj, held, false));
        }
        self.obj
            .word(OWNER)
            .store(crate::sys::current_pid(), Ordering::Relaxed);
        Ok(LockGuard { held, lock: self })
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        self.lock.obj.word(OWNER).store(0, Ordering::Relaxed);
    }
}

impl LockGuard<'_> {
    /// Waits on `cond` with the lock released meanwhile (for `Condition`); whether the time
    /// ran out. The lock is held again when this returns.
    pub(crate) fn wait_on(
        &mut self,
        cond: &crate::sys::RawCond,
        timeout: Option<Duration>,
    ) -> Result<bool> {
        let obj = &self.lock.obj;
        obj.word(OWNER).store(0, Ordering::Relaxed);
        let timed_out = cond
            .wait(&mut self.held, timeout)
            .map_err(|source| Error::Io {
                op: "wait on a shared condition",
                source,
            });
        obj.word(OWNER)
            .store(crate::sys::current_pid(), Ordering::Relaxed);
        timed_out
    }

    /// Whether this guard holds `lock`.
    pub(crate) fn is_of(&self, lock: &Lock) -> bool {
        Arc::ptr_eq(&self.lock.obj, &lock.obj)
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let owner = self.obj.word(OWNER).load(Ordering::Relaxed);
        f.debug_struct("Lock")
            .field("held_by", &(owner != 0).then_some(owner))
            .finish()
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}

by_descriptor!(Lock, Kind::Lock);
