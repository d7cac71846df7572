//! `Pool::stats`: a snapshot of what the pool is doing and has done.


/// A snapshot of a pool ([`Pool::stats`](crate::Pool::stats)). Counts are tasks, not
/// chunks: a `map` of 1000 items in chunks of 100 is 1000 tasks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Tasks submitted and not yet sent to a worker.
    pub queued: usize,
    /// Tasks sent to a worker and not yet answered.
    pub running: usize,
    /// Tasks that returned a value, since the pool started.
    pub completed: u64,
    /// Tasks that ended in an error (a panic, a worker's death, a deadline, a cancel, the
    /// pool's end), since the pool started.
    pub failed: u64,
    /// Worker processes running now.
    pub workers: usize,
    /// Worker processes started to replace others (after a death, a deadline,
    /// `maxtasksperchild`...), since the pool started.
    pub restarts: u64,
}

/// The pool's running counts, kept in its state.
#[derive(Default)]
pub(crate) struct Counts {
    /// Tasks submitted.
    pub submitted: u64,
    /// Tasks released with a value.
    pub completed: u64,
    /// Tasks released with an error.
    pub failed: u64,
    /// Worker processes started.
    pub started: u64,
}

impl Counts {
    /// The snapshot [`PoolStats`] describes, given the tasks workers hold now (`running`),
    /// the workers running now, and the pool's size.
    pub(crate) fn snapshot(&self, running: usize, workers: usize, size: usize) -> PoolStats {
        let outstanding = self.submitted.saturating_sub(self.completed + self.failed) as usize;
        PoolStats {
            queued: outstanding.saturating_sub(running),
            running,
            completed: self.completed,
            failed: self.failed,
            workers,
            restarts: self.started.saturating_sub(size as u64),
        }
    }
}
