//! One worker slot as the scheduler sees it.

use super::MAX_DEPTH;
use heapless::Deque;

/// Where a slot's process is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Life {
    /// No process, and none wanted.
    Vacant,
    /// A process was asked for (or will be); it is not ready yet.
    Starting,
    /// Ready for work.
    Running,
}

/// A job a worker holds: tasks `first + done .. first + len` are still unanswered.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InFlight<S> {
    pub first: S,
    pub len: usize,
    pub done: usize,
    pub timeout: Option<u64>,
    /// Set when the job becomes the worker's front job (starts running).
    pub deadline: Option<u64>,
}

pub(crate) struct Worker<S> {
    pub life: Life,
    pub jobs: Deque<InFlight<S>, MAX_DEPTH>,
    /// Jobs this process may still take; `None` for unlimited.
    pub budget: Option<u32>,
    pub want_spawn: bool,
    pub want_stop: bool,
    /// When a wanted start may happen (after a failed one: the back-off).
    pub spawn_at: u64,
}

impl<S> Worker<S> {
    pub const fn starting() -> Self {
        Self {
            life: Life::Starting,
            jobs: Deque::new(),
            budget: None,
            want_spawn: true,
            want_stop: false,
            spawn_at: 0,
        }
    }

    /// Whether the worker can take another job at pipeline depth `depth`.
    pub fn has_room(&self, depth: usize) -> bool {
        self.life == Life::Running && self.jobs.len() < depth && self.budget != Some(0)
    }

    /// Whether the worker holds no job.
    pub fn is_idle(&self) -> bool {
        self.jobs.is_empty()
    }
}
