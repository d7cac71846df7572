//! Process-shared, robust pthread mutexes and condition variables, placed in a shared
//! [`Mapping`] that they keep mapped.
//!
//! Robust mutexes are how a holder's death is seen: when a process (or thread) dies holding
//! one, the kernel marks it, and the next locker gets `EOWNERDEAD` instead of a deadlock.

use super::shm::Mapping;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// A robust mutex held by this thread; released when dropped. Through it, the bytes of
/// the mutex's mapping that it guards can be reached.
pub(crate) struct Held<'a> {
    m: &'a RawMutex,
    /// Whether the last holder died holding it (it was made consistent again here).
    pub owner_died: bool,
}

impl Held<'_> {
    /// Bytes `offset..offset + len` of the mutex's mapping: every object that keeps data
    /// next to a mutex in a mapping reaches that data only through the mutex's `Held`.
    pub(crate) fn bytes_mut(&mut self, offset: usize, len: usize) -> &mut [u8] {
        let map = &self.m.map;
        assert!(offset + len <= map.mapped);
        // SAFETY: in bounds (checked above) and mapped while `self` borrows the mutex that
        // keeps the mapping; the mutex is held, and the data next to it is only touched
        // under it, so no other thread or process reads or writes these bytes meanwhile.
        unsafe { std::slice::from_raw_parts_mut(map.ptr().add(offset), len) }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let _ = self.m.unlock();
    }
}

/// A process-shared, robust pthread mutex (recursive if asked) at a place in a mapping,
/// which it keeps mapped.
pub(crate) struct RawMutex {
    map: Arc<Mapping>,
    m: *mut libc::pthread_mutex_t,
}

/// A process-shared condition variable on the monotonic clock, at a place in a mapping,
/// which it keeps mapped.
pub(crate) struct RawCond {
    _map: Arc<Mapping>,
    c: *mut libc::pthread_cond_t,
}

// SAFETY: process-shared pthread mutexes and condition variables are made to be used from
// any thread of any process at once; the pointer stays valid while `_map` keeps the mapping.
unsafe impl Send for RawMutex {}
// SAFETY: as above.
unsafe impl Sync for RawMutex {}
// SAFETY: as above.
unsafe impl Send for RawCond {}
// SAFETY: as above.
unsafe impl Sync for RawCond {}

/// Bytes a mutex takes in a mapping (aligned to 64, one cache line or more).
pub(crate) const MUTEX_BYTES: usize = std::mem::size_of::<libc::pthread_mutex_t>().next_multiple_of(64);
/// Bytes a condition variable takes in a mapping.
pub(crate) const COND_BYTES: usize = std::mem::size_of::<libc::pthread_cond_t>().next_multiple_of(64);

fn check(rc: libc::c_int) -> io::Result<()> {
    match rc {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

/// The absolute `CLOCK_REALTIME` time `left` from now (`pthread_mutex_timedlock`'s clock).
fn realtime_in(left: Duration) -> libc::timespec {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_REALTIME)
        .map(Duration::from)
        .unwrap_or_default();
    let at = now.saturating_add(left);
    libc::timespec {
        tv_sec: at.as_secs() as libc::time_t,
        tv_nsec: at.subsec_nanos() as libc::c_long,
    }
}

/// The absolute `CLOCK_MONOTONIC` time `left` from now (the condition variables' clock).
fn monotonic_in(left: Duration) -> libc::timespec {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(Duration::from)
        .unwrap_or_default();
    let at = now.saturating_add(left);
    libc::timespec {
        tv_sec: at.as_secs() as libc::time_t,
        tv_nsec: at.subsec_nanos() as libc::c_long,
    }
}

impl RawMutex {
    /// The mutex at byte `offset` of `map`, initialised now (`init`) or by whoever made the
    /// mapping.
    pub(crate) fn at(map: &Arc<Mapping>, offset: usize, init: Option<bool>) -> io::Result<Self> {
        assert!(offset + MUTEX_BYTES <= map.mapped && offset.is_multiple_of(8));
        // SAFETY: in bounds (checked above) and aligned for a pthread_mutex_t (8).
        let m = unsafe { map.ptr().add(offset) }.cast::<libc::pthread_mutex_t>();
        if let Some(recursive) = init {
            // SAFETY: the attribute object lives on this stack frame and is destroyed after
            // use; the mutex memory is ours to initialise (a fresh mapping nobody uses yet).
            unsafe {
                let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
                check(libc::pthread_mutexattr_init(attr.as_mut_ptr()))?;
                let a = attr.as_mut_ptr();
                let kind = if recursive {
                    libc::PTHREAD_MUTEX_RECURSIVE
                } else {
                    libc::PTHREAD_MUTEX_ERRORCHECK
                };
                let set = check(libc::pthread_mutexattr_setpshared(a, libc::PTHREAD_PROCESS_SHARED))
                    .and_then(|()| check(libc::pthread_mutexattr_setrobust(a, libc::PTHREAD_MUTEX_ROBUST)))
                    .and_then(|()| check(libc::pthread_mutexattr_settype(a, kind)))
                    .and_then(|()| check(libc::pthread_mutex_init(m, a)));
                libc::pthread_mutexattr_destroy(a);
                set?;
            }
        }
        Ok(Self {
            map: Arc::clone(map),
            m,
        })
    }

    /// Takes the mutex, waiting at most `timeout` (`None`: as long as it takes); `None`
    /// when the time ran out.
    pub(crate) fn lock(&self, timeout: Option<Duration>) -> io::Result<Option<Held<'_>>> {
        // SAFETY: `self.m` points at an initialised process-shared mutex inside the mapping
        // `self.map` keeps.
        let rc = unsafe {
            match timeout {
                None => libc::pthread_mutex_lock(self.m),
                Some(t) => libc::pthread_mutex_timedlock(self.m, &realtime_in(t)),
            }
        };
        self.taken(rc)
    }

    /// Takes the mutex if nobody holds it (`None` if somebody does).
    pub(crate) fn try_lock(&self) -> io::Result<Option<Held<'_>>> {
        // SAFETY: as in `lock`.
        let rc = unsafe { libc::pthread_mutex_trylock(self.m) };
        match rc {
            libc::EBUSY => Ok(None),
            rc => self.taken(rc),
        }
    }

    fn taken(&self, rc: libc::c_int) -> io::Result<Option<Held<'_>>> {
        match self.status(rc)? {
            None => Ok(None),
            Some(owner_died) => Ok(Some(Held { m: self, owner_died })),
        }
    }

    /// `Some(owner died)` when the mutex was taken, `None` when the time ran out.
    fn status(&self, rc: libc::c_int) -> io::Result<Option<bool>> {
        match rc {
            0 => Ok(Some(false)),
            libc::ETIMEDOUT => Ok(None),
            libc::EOWNERDEAD => {
                // SAFETY: we hold the mutex (EOWNERDEAD hands it over); marking it
                // consistent is what a new holder must do to keep it usable.
                check(unsafe { libc::pthread_mutex_consistent(self.m) })?;
                Ok(Some(true))
            }
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }

    /// Releases the mutex (held by this thread).
    fn unlock(&self) -> io::Result<()> {
        // SAFETY: as in `lock`; an unlock by a thread that does not hold it is refused
        // (error-checking or recursive mutexes), never undefined.
        check(unsafe { libc::pthread_mutex_unlock(self.m) })
    }
}

impl RawCond {
    /// The condition variable at byte `offset` of `map`, initialised now if `init`.
    pub(crate) fn at(map: &Arc<Mapping>, offset: usize, init: bool) -> io::Result<Self> {
        assert!(offset + COND_BYTES <= map.mapped && offset.is_multiple_of(8));
        // SAFETY: in bounds (checked above) and aligned for a pthread_cond_t (8).
        let c = unsafe { map.ptr().add(offset) }.cast::<libc::pthread_cond_t>();
        if init {
            // SAFETY: as for the mutex: a local attribute object, memory ours to initialise.
            unsafe {
                let mut attr = std::mem::MaybeUninit::<libc::pthread_condattr_t>::uninit();
                check(libc::pthread_condattr_init(attr.as_mut_ptr()))?;
                let a = attr.as_mut_ptr();
                let set = check(libc::pthread_condattr_setpshared(a, libc::PTHREAD_PROCESS_SHARED))
                    .and_then(|()| check(libc::pthread_condattr_setclock(a, libc::CLOCK_MONOTONIC)))
                    .and_then(|()| check(libc::pthread_cond_init(c, a)));
                libc::pthread_condattr_destroy(a);
                set?;
            }
        }
        Ok(Self {
            _map: Arc::clone(map),
            c,
        })
    }

    /// Waits on the condition with `held` (released while waiting, held again after), at
    /// most `timeout`; whether the time ran out.
    pub(crate) fn wait(&self, held: &mut Held<'_>, timeout: Option<Duration>) -> io::Result<bool> {
        // SAFETY: both point at initialised process-shared objects in live mappings, and
        // `held` is the proof this thread holds the mutex.
        let rc = unsafe {
            match timeout {
                None => libc::pthread_cond_wait(self.c, held.m.m),
                Some(t) => libc::pthread_cond_timedwait(self.c, held.m.m, &monotonic_in(t)),
            }
        };
        match rc {
            libc::ETIMEDOUT => Ok(true),
            rc => {
                // The mutex is held again either way.
                held.owner_died |= held.m.status(rc)?.unwrap_or(false);
                Ok(false)
            }
        }
    }

    /// Wakes one waiter.
    pub(crate) fn notify_one(&self) {
        // SAFETY: an initialised process-shared condition variable in a live mapping.
        unsafe { libc::pthread_cond_signal(self.c) };
    }

    /// Wakes every waiter.
    pub(crate) fn notify_all(&self) {
        // SAFETY: as in `notify_one`.
        unsafe { libc::pthread_cond_broadcast(self.c) };
    }
}
