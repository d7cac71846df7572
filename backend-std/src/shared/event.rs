//! `Event`: Python's `multiprocessing.Event`, a flag processes wait for.

use super::object::{Kind, Object, by_descriptor};
use crate::error::Result;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const FLAG: usize = 0;

/// A flag shared between processes, like Python's `multiprocessing.Event`: [`set`](Self::set)
/// wakes every process [`wait`](Self::wait)ing for it. Clones share it; it travels to pool
/// workers and `Process` children inside arguments.
///
/// ```
/// let ready = forkpool::Event::new()?;
/// let theirs = ready.clone();
/// let child = forkpool::Process::spawn(move || theirs.wait_timeout(std::time::Duration::from_secs(30)))?;
/// ready.set()?;
/// assert!(child.join()?);
/// # Ok::<(), forkpool::Error>(())
/// ```
#[derive(Clone)]
pub struct Event {
    obj: Arc<Object>,
}

impl Event {
    /// A new event, not set.
    pub fn new() -> Result<Self> {
        Ok(Self {
            obj: Arc::new(Object::create(Kind::Event, 1, 1, false, 0)?),
        })
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) -> Result<()> {
        let _held = self.obj.guard(0)?;
        self.obj.word(FLAG).store(1, Ordering::Release);
        self.obj.cond(0).notify_all();
        Ok(())
    }

    /// Clears the flag.
    pub fn clear(&self) -> Result<()> {
        let _held = self.obj.guard(0)?;
        self.obj.word(FLAG).store(0, Ordering::Release);
        Ok(())
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.obj.word(FLAG).load(Ordering::Acquire) == 1
    }

    /// Waits until the flag is set.
    pub fn wait(&self) {
        while !self.wait_timeout(Duration::from_secs(3600)) {}
    }

    /// Waits until the flag is set, at most `timeout`; whether it is set.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let Ok(mut held) = self.obj.guard(0) else {
            return self.is_set();
        };
        while !self.is_set() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.obj.cond(0).wait(&mut held, Some(left)).is_err() {
                break;
            }
        }
        self.is_set()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event").field("set", &self.is_set()).finish()
    }
}

by_descriptor!(Event, Kind::Event);
