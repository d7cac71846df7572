//! `JoinableQueue`: Python's `multiprocessing.JoinableQueue`, a [`Queue`] that counts
//! unfinished values.

use super::queue::{ALL_DONE, Queue, UNFINISHED};
use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A [`Queue`] whose consumers say when they are done with each value
/// ([`task_done`](Self::task_done)), so a producer can wait for all of them
/// ([`join`](Self::join)), like Python's `multiprocessing.JoinableQueue`. Every `Queue`
/// method is here too.
///
/// ```
/// let q = forkpool::JoinableQueue::<u32>::new(4)?;
/// let worker = q.clone();
/// let child = forkpool::Process::spawn(move || {
///     for _ in 0..3 { worker.get().unwrap(); worker.task_done().unwrap(); }
/// })?;
/// for i in 0..3 { q.put(&i)?; }
/// q.join()?; // returns once the child marked all three done
/// child.join()?;
/// # Ok::<(), forkpool::Error>(())
/// ```
pub struct JoinableQueue<T> {
    queue: Queue<T>,
}

impl<T> Clone for JoinableQueue<T> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<T: Serialize + DeserializeOwned> JoinableQueue<T> {
    /// A queue holding at most `capacity` values.
    pub fn new(capacity: u32) -> Result<Self> {
        Ok(Self {
            queue: Queue::new(capacity)?,
        })
    }

    /// Marks one value taken with `get` as done; [`Error::InvalidArgument`] if more are
    /// marked than were put.
    pub fn task_done(&self) -> Result<()> {
        let obj = &self.queue.obj;
        let _held = obj.guard(0)?;
        let left = obj.word(UNFINISHED).load(Ordering::Relaxed);
        if left == 0 {
            return Err(Error::InvalidArgument(
                "task_done() called more times than values were put",
            ));
        }
        obj.word(UNFINISHED).store(left - 1, Ordering::Relaxed);
        if left == 1 {
            obj.cond(ALL_DONE).notify_all();
        }
        Ok(())
    }

    /// Waits until every value put has been marked done.
    pub fn join(&self) -> Result<()> {
        while !self.join_timeout(Duration::from_secs(3600))? {}
        Ok(())
    }

    /// [`join`](Self::join) at most `timeout`; whether every value is done.
    pub fn join_timeout(&self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        let obj = &self.queue.obj;
        let mut held = obj.guard(0)?;
        while obj.word(UNFINISHED).load(Ordering::Relaxed) > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            obj.cond(ALL_DONE)
                .wait(&mut held, Some(left))
                .map_err(|source| Error::Io {
                    op: "wait for a queue's tasks",
                    source,
                })?;
        }
        Ok(true)
    }

    /// Values put and not yet marked done.
    pub fn unfinished(&self) -> usize {
        self.queue.obj.word(UNFINISHED).load(Ordering::Relaxed) as usize
    }
}

impl<T> Deref for JoinableQueue<T> {
    type Target = Queue<T>;
    fn deref(&self) -> &Queue<T> {
        &self.queue
    }
}

impl<T> fmt::Debug for JoinableQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinableQueue")
            .field("queue", &self.queue)
            .field(
                "unfinished",
                &self.queue.obj.word(UNFINISHED).load(Ordering::Relaxed),
            )
            .finish()
    }
}

impl<T> Serialize for JoinableQueue<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.queue.serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for JoinableQueue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(Self {
            queue: Queue::deserialize(d)?,
        })
    }
}
