//! The job queue: FIFO, fixed capacity, and a full queue hands the job back.

use heapless::Deque;

/// A first-in, first-out queue of jobs.
///
/// The scheduler is generic over this trait: [`FifoQueue`] is the fixed-capacity
/// implementation for `no_std`; a std backend may plug in a growable one.
pub trait JobQueue<T> {
    /// Appends `job` at the back, or hands it back when the queue is full.
    fn push(&mut self, job: T) -> Result<(), T>;
    /// Puts `job` back at the front (a job returned by a lost worker, to run next), or
    /// hands it back when the queue is full.
    fn push_front(&mut self, job: T) -> Result<(), T>;
    /// Removes the job at the front.
    fn pop(&mut self) -> Option<T>;
    /// The job at the front, if any.
    fn front(&self) -> Option<&T>;
    /// Visits every queued job, front to back, with mutable access.
    fn for_each_mut(&mut self, f: &mut dyn FnMut(&mut T));
    /// Number of queued jobs.
    fn len(&self) -> usize;
    /// Most jobs the queue can hold (`usize::MAX` for a growable queue).
    fn capacity(&self) -> usize;
    /// Whether no job is queued.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A fixed-capacity FIFO of up to `N` jobs on [`heapless::Deque`].
///
/// Share it between contexts by wrapping it in a [`crate::Lock`], e.g.
/// `spin::Mutex<FifoQueue<Job, 32>>`.
///
/// ```
/// use forkpool_core::{FifoQueue, JobQueue};
/// let mut q: FifoQueue<u32, 2> = FifoQueue::new();
/// q.push(1).unwrap();
/// q.push(2).unwrap();
/// assert_eq!(q.push(3), Err(3)); // full: the job comes back
/// assert_eq!(q.pop(), Some(1));
/// ```
pub struct FifoQueue<T, const N: usize> {
    items: Deque<T, N>,
}

impl<T, const N: usize> FifoQueue<T, N> {
    /// An empty queue. `N == 0` is rejected at compile time.
    pub const fn new() -> Self {
        const { assert!(N > 0, "a FifoQueue needs a capacity of at least 1") };
        Self {
            items: Deque::new(),
        }
    }
}

impl<T, const N: usize> Default for FifoQueue<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> JobQueue<T> for FifoQueue<T, N> {
    fn push(&mut self, job: T) -> Result<(), T> {
        self.items.push_back(job)
    }

    fn push_front(&mut self, job: T) -> Result<(), T> {
        self.items.push_front(job)
    }

    fn pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    fn front(&self) -> Option<&T> {
        self.items.front()
    }

    fn for_each_mut(&mut self, f: &mut dyn FnMut(&mut T)) {
        self.items.iter_mut().for_each(f);
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn capacity(&self) -> usize {
        N
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_and_full() {
        let mut q: FifoQueue<u8, 3> = FifoQueue::new();
        for i in 0..3 {
            q.push(i).unwrap();
        }
        assert_eq!(q.push(9), Err(9));
        assert_eq!(q.len(), 3);
        q.for_each_mut(&mut |x| *x += 10);
        assert_eq!(q.front(), Some(&10));
        assert_eq!(
            [q.pop(), q.pop(), q.pop(), q.pop()],
            [Some(10), Some(11), Some(12), None]
        );
        assert!(q.is_empty());
    }
}
