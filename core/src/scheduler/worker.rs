//! One worker slot as the scheduler sees it.

use super::MAX_DEPTH;
use crate::seq::SeqNum;
use core::ops::DerefMut;
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

/// A job a worker holds: tasks `first + done .. first + len` are still unanswered. Kept
/// small: every slot has room for [`MAX_DEPTH`] of them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InFlight<S, K> {
    pub first: S,
    len: u32,
    done: u32,
    /// Longest it may run once started; `NO_LIMIT` for none.
    timeout: u64,
    pub tag: K,
    /// Whether it was cancelled while held: its tasks were released, and answers for
    /// them are taken and dropped.
    pub cancelled: bool,
}

const NO_LIMIT: u64 = u64::MAX;

impl<S: SeqNum, K> InFlight<S, K> {
    /// A job of `len` tasks (at most `u32::MAX`, checked at submission).
    pub fn new(first: S, len: usize, timeout: Option<u64>, tag: K) -> Self {
        Self {
            first,
            len: len as u32,
            done: 0,
            timeout: timeout.unwrap_or(NO_LIMIT),
            tag,
            cancelled: false,
        }
    }

    /// Its time limit once started.
    pub fn timeout(&self) -> Option<u64> {
        (self.timeout != NO_LIMIT).then_some(self.timeout)
    }

    /// Its number of tasks.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Tasks answered so far: where the unanswered ones start in the job.
    pub fn done(&self) -> usize {
        self.done as usize
    }

    /// The first unanswered task.
    pub fn next(&self) -> Option<S> {
        self.first.advance(self.done as usize)
    }

    /// Tasks not answered yet.
    pub fn left(&self) -> usize {
        (self.len - self.done) as usize
    }

    /// Records `n` more tasks answered (at most [`left`](Self::left)).
    pub fn answer(&mut self, n: usize) {
        self.done += n as u32;
    }

    /// The deadline of the job if it starts running at `now`.
    pub fn deadline_from(&self, now: u64) -> Option<u64> {
        (self.timeout != NO_LIMIT).then(|| now.saturating_add(self.timeout))
    }
}

/// One worker slot's state inside the [`super::Scheduler`] (opaque): its process's life
/// and the jobs it holds, with room for [`MAX_DEPTH`] of them.
pub struct WorkerSlot<S, K = ()> {
    pub(crate) life: Life,
    pub(crate) jobs: Deque<InFlight<S, K>, MAX_DEPTH>,
    /// When the front job (the one running) must be done by; `None` without jobs.
    pub(crate) deadline: Option<u64>,
    /// Jobs this process may still take; `None` for unlimited.
    pub(crate) budget: Option<u32>,
    pub(crate) want_spawn: bool,
    pub(crate) want_stop: bool,
    /// Whether its running job was cancelled: it is to be killed (`want_kill` until the
    /// command is polled) and gets no more work until it is reported lost.
    pub(crate) want_kill: bool,
    pub(crate) doomed: bool,
    /// Jobs at the back of `jobs` that its lost process never started, waiting to be
    /// requeued ([`super::Scheduler::poll_requeue`]); the slot takes no work meanwhile.
    pub(crate) returned: u8,
    /// When a wanted start may happen (after a failed one: the back-off).
    pub(crate) spawn_at: u64,
}

impl<S, K> WorkerSlot<S, K> {
    pub(crate) const fn starting() -> Self {
        Self {
            life: Life::Starting,
            jobs: Deque::new(),
            deadline: None,
            budget: None,
            want_spawn: true,
            want_stop: false,
            want_kill: false,
            doomed: false,
            returned: 0,
            spawn_at: 0,
        }
    }

    /// Whether the worker can take another job at pipeline depth `depth`.
    pub(crate) fn has_room(&self, depth: usize) -> bool {
        self.life == Life::Running
            && !self.doomed
            && self.returned == 0
            && self.jobs.len() < depth
            && self.budget != Some(0)
    }

    /// Whether the worker holds no job.
    pub(crate) fn is_idle(&self) -> bool {
        self.jobs.is_empty()
    }
}

/// Where a [`super::Scheduler`] keeps its worker slots: a fixed-capacity `heapless::Vec`
/// (the default, no allocator), or any growable list the driver has (a `Vec` behind a
/// newtype, say), so a scheduler for many slots need not be one large value.
pub trait SlotTable<S, K = ()>: DerefMut<Target = [WorkerSlot<S, K>]> + Default {
    /// Adds a slot at the end; gives it back when the table is full.
    fn push_slot(&mut self, slot: WorkerSlot<S, K>) -> Result<(), WorkerSlot<S, K>>;
}

impl<S, K, const N: usize> SlotTable<S, K> for heapless::Vec<WorkerSlot<S, K>, N> {
    fn push_slot(&mut self, slot: WorkerSlot<S, K>) -> Result<(), WorkerSlot<S, K>> {
        self.push(slot)
    }
}
