//! `Barrier`: Python's `multiprocessing.Barrier`, shared between processes; broken, not
//! hung, when a party dies.

use super::object::{Kind, Object, WORDS, deserialize_fd, serialize_fd};
use crate::error::{Error, Result};
use crate::sys::Held;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const PARTIES: usize = 0;
const COUNT: usize = 1;
const GENERATION: usize = 2;
const BROKEN: usize = 3;
const BROKEN_PID: usize = 4;
/// The generation a `reset` ended (its waiters fail).
const RESET_OF: usize = 5;
/// Where the table of parties starts: (pid, handles) pairs.
const PARTY_TABLE: usize = 8;
/// How often a waiter looks for parties that died.
const CHECK_EVERY: Duration = Duration::from_millis(20);

/// One process's registration as a party, dropped with its last handle there.
struct Party {
    obj: Object,
    /// The process registered by this handle (0: none): a fork's copy does not count.
    pid: AtomicU32,
}

/// A barrier for `n` parties in any processes, like Python's `multiprocessing.Barrier`:
/// each [`wait`](Self::wait) blocks until `n` have arrived, then all go on.
///
/// A party that dies before the barrier trips breaks it: the waiters get
/// [`Error::BrokenBarrier`] naming it, instead of waiting forever. A party is a process that
/// received the barrier (inside a task's arguments or over a `Connection`), made it, or
/// waited on it; one that let go of every handle (its task returned) is no longer one. A
/// wait that runs out of time breaks the barrier too, as in Python.
///
/// ```
/// let b = forkpool::Barrier::new(3)?;
/// fn meet(b: forkpool::Barrier) -> bool { b.wait().is_ok() }
/// let pool = forkpool::Pool::new(3)?;
/// assert_eq!(pool.map(meet, (0..3).map(|_| b.clone()))?, [true, true, true]);
/// # Ok::<(), forkpool::Error>(())
/// ```
#[derive(Clone)]
pub struct Barrier {
    party: Arc<Party>,
}

fn me() -> u32 {
    crate::sys::current_pid()
}

/// Whether process `pid` has exited (or does not exist).
fn gone(pid: u32) -> bool {
    match crate::sys::pidfd_open(nix::unistd::Pid::from_raw(pid as i32)) {
        None => true,
        Some(fd) => crate::sys::wait_readable(&fd, Duration::ZERO),
    }
}

impl Party {
    fn word(&self, i: usize) -> &AtomicU32 {
        self.obj.word(i)
    }

    /// Counts this process as a party (once per handle), under the lock.
    fn register(&self, _held: &Held<'_>) {
        let pid = me();
        if self.pid.load(Ordering::Relaxed) == pid {
            return;
        }
        let slots = (PARTY_TABLE..WORDS).step_by(2);
        let found = slots.clone().find(|&i| self.word(i).load(Ordering::Relaxed) == pid);
        let free = || slots.clone().find(|&i| self.word(i).load(Ordering::Relaxed) == 0);
        if let Some(i) = found.or_else(free) {
            self.word(i).store(pid, Ordering::Relaxed);
            self.word(i + 1).fetch_add(1, Ordering::Relaxed);
            self.pid.store(pid, Ordering::Relaxed);
        }
    }

    /// A registered party (not this process) that died, if any.
    fn dead_party(&self) -> Option<u32> {
        (PARTY_TABLE..WORDS)
            .step_by(2)
            .map(|i| self.word(i).load(Ordering::Relaxed))
            .find(|&pid| pid != 0 && pid != me() && gone(pid))
    }

    fn break_it(&self, pid: u32) {
        self.word(BROKEN).store(1, Ordering::Relaxed);
        self.word(BROKEN_PID).store(pid, Ordering::Relaxed);
        self.obj.cond(0).notify_all();
    }

    fn broken_error(&self) -> Error {
        let pid = self.word(BROKEN_PID).load(Ordering::Relaxed);
        Error::BrokenBarrier {
            pid: (pid != 0).then_some(pid),
        }
    }
}

impl Drop for Party {
    fn drop(&mut self) {
        let pid = self.pid.load(Ordering::Relaxed);
        if pid == 0 || pid != me() {
            return;
        }
        if let Ok(_held) = self.obj.guard(0) {
            for i in (PARTY_TABLE..WORDS).step_by(2) {
                if self.word(i).load(Ordering::Relaxed) == pid {
                    if self.word(i + 1).fetch_sub(1, Ordering::Relaxed) <= 1 {
                        self.word(i + 1).store(0, Ordering::Relaxed);
                        self.word(i).store(0, Ordering::Relaxed);
                    }
                    break;
                }
            }
        }
    }
}

impl Barrier {
    /// A barrier for `parties` parties (at least 1).
    pub fn new(parties: u32) -> Result<Self> {
        if parties == 0 {
            return Err(Error::InvalidArgument("a barrier needs at least one party"));
        }
        let obj = Object::create(Kind::Barrier, 1, 1, false, 0)?;
        obj.word(PARTIES).store(parties, Ordering::Relaxed);
        Self::adopt(obj)
    }

    fn adopt(obj: Object) -> Result<Self> {
        let party = Arc::new(Party {
            obj,
            pid: AtomicU32::new(0),
        });
        party.register(&party.obj.guard(0)?);
        Ok(Self { party })
    }

    /// Waits until every party has arrived; this one's arrival index (`0..parties`).
    pub fn wait(&self) -> Result<u32> {
        self.wait_until(None)
    }

    /// [`wait`](Self::wait) at most `timeout`; running out breaks the barrier.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u32> {
        self.wait_until(Some(Instant::now() + timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<u32> {
        let p = &self.party;
        let mut held = p.obj.guard(0)?;
        p.register(&held);
        if p.word(BROKEN).load(Ordering::Relaxed) != 0 {
            return Err(p.broken_error());
        }
        let generation = p.word(GENERATION).load(Ordering::Relaxed);
        let index = p.word(COUNT).fetch_add(1, Ordering::Relaxed);
        if index + 1 >= p.word(PARTIES).load(Ordering::Relaxed) {
            p.word(COUNT).store(0, Ordering::Relaxed);
            p.word(GENERATION).fetch_add(1, Ordering::Relaxed);
            p.obj.cond(0).notify_all();
            return Ok(index);
        }
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let slice = left.map_or(CHECK_EVERY, |l| l.min(CHECK_EVERY));
            p.obj
                .cond(0)
                .wait(&mut held, Some(slice))
                .map_err(|source| Error::Io {
                    op: "wait on a shared barrier",
                    source,
                })?;
            if p.word(GENERATION).load(Ordering::Relaxed) != generation {
                if p.word(RESET_OF).load(Ordering::Relaxed) == generation.wrapping_add(1) {
                    return Err(Error::BrokenBarrier { pid: None });
                }
                return Ok(index);
            }
            if p.word(BROKEN).load(Ordering::Relaxed) != 0 {
                return Err(p.broken_error());
            }
            if let Some(dead) = p.dead_party() {
                p.break_it(dead);
                return Err(p.broken_error());
            }
            if left.is_some_and(|l| l <= slice) {
                p.break_it(0);
                return Err(p.broken_error());
            }
        }
    }

    /// Breaks the barrier: every waiter (now and later) gets [`Error::BrokenBarrier`].
    pub fn abort(&self) -> Result<()> {
        let _held = self.party.obj.guard(0)?;
        self.party.break_it(0);
        Ok(())
    }

    /// Back to empty and unbroken; parties waiting now get [`Error::BrokenBarrier`].
    pub fn reset(&self) -> Result<()> {
        let p = &self.party;
        let _held = p.obj.guard(0)?;
        if p.word(COUNT).load(Ordering::Relaxed) > 0 {
            let ended = p.word(GENERATION).fetch_add(1, Ordering::Relaxed);
            p.word(RESET_OF).store(ended.wrapping_add(1), Ordering::Relaxed);
        }
        for w in [COUNT, BROKEN, BROKEN_PID] {
            p.word(w).store(0, Ordering::Relaxed);
        }
        p.obj.cond(0).notify_all();
        Ok(())
    }

    /// The parties it waits for.
    pub fn parties(&self) -> u32 {
        self.party.word(PARTIES).load(Ordering::Relaxed)
    }

    /// How many are waiting now.
    pub fn n_waiting(&self) -> u32 {
        self.party.word(COUNT).load(Ordering::Relaxed)
    }

    /// Whether it is broken.
    pub fn broken(&self) -> bool {
        self.party.word(BROKEN).load(Ordering::Relaxed) != 0
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties())
            .field("waiting", &self.n_waiting())
            .field("broken", &self.broken())
            .finish()
    }
}

impl Serialize for Barrier {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        serialize_fd(self.party.obj.fd(), s)
    }
}

impl<'de> Deserialize<'de> for Barrier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let obj =
            Object::open(deserialize_fd(d)?, Kind::Barrier).map_err(serde::de::Error::custom)?;
        Self::adopt(obj).map_err(serde::de::Error::custom)
    }
}
