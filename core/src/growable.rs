//! Growable implementations of the core's traits for drivers that have an allocator
//! (feature `alloc`): a FIFO [`VecQueue`], a completion-order [`GrowableUnordered`] and the
//! heap-allocated worker table [`HeapSlots`]. Every std driver needs these; keeping them
//! here means no driver copies the fixed-capacity ones onto a `VecDeque` of its own.
//! Memory stays bounded where it must by the callers (`imap` keeps the fixed windows).

use crate::error::InsertError;
use crate::order::{ResultOrder, Slot};
use crate::queue::JobQueue;
use crate::scheduler::{SlotTable, WorkerSlot};
use crate::seq::SeqNum;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// A FIFO job queue without a fixed capacity.
///
/// ```
/// use forkpool_core::{JobQueue, VecQueue};
/// let mut q = VecQueue::new();
/// for job in 0..1000 {
///     assert!(q.push(job).is_ok()); // never full
/// }
/// assert_eq!((q.pop(), q.len()), (Some(0), 999));
/// ```
#[derive(Debug)]
pub struct VecQueue<T>(VecDeque<T>);

impl<T> VecQueue<T> {
    /// An empty queue.
    pub const fn new() -> Self {
        Self(VecDeque::new())
    }
}

impl<T> Default for VecQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> JobQueue<T> for VecQueue<T> {
    fn push(&mut self, job: T) -> Result<(), T> {
        self.0.push_back(job);
        Ok(())
    }
    fn push_front(&mut self, job: T) -> Result<(), T> {
        self.0.push_front(job);
        Ok(())
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn front(&self) -> Option<&T> {
        self.0.front()
    }
    fn for_each_mut(&mut self, f: &mut dyn FnMut(&mut T)) {
        self.0.iter_mut().for_each(f);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn capacity(&self) -> usize {
        usize::MAX
    }
}

/// Releases results in completion order, on the heap: the growable counterpart of
/// [`crate::Unordered`]. Its capacity is set at run time ([`with_capacity`](Self::with_capacity)),
/// or by default the most the sequence numbers `S` can order (half their range), which is
/// what the scheduler accepts; memory grows with what is held, not with the capacity.
///
/// ```
/// use forkpool_core::{GrowableUnordered, ResultOrder};
/// let mut o: GrowableUnordered<u64, &str> = GrowableUnordered::new();
/// assert!(o.try_reserve(0, 3));
/// o.insert(2, "c").unwrap();
/// o.insert_run(0, 2, "a and b").unwrap();
/// assert_eq!(o.pop(), Some((2, 1, "c")));
/// assert_eq!(o.pop(), Some((0, 2, "a and b")));
///
/// let mut bounded: GrowableUnordered<u64, &str> = GrowableUnordered::with_capacity(2);
/// assert!(bounded.try_reserve(0, 2));
/// assert!(!bounded.try_reserve(2, 1)); // full
/// ```
#[derive(Debug)]
pub struct GrowableUnordered<S, T> {
    done: VecDeque<(S, usize, T)>,
    reserved: usize,
    held: usize,
    /// Most tasks reserved plus held; `None`: half of `S`'s range.
    limit: Option<usize>,
}

impl<S, T> GrowableUnordered<S, T> {
    /// An empty order.
    pub const fn new() -> Self {
        Self {
            done: VecDeque::new(),
            reserved: 0,
            held: 0,
            limit: None,
        }
    }

    /// An empty order that holds at most `capacity` tasks reserved plus finished (at most
    /// half of `S`'s range, which bounds it anyway).
    pub const fn with_capacity(capacity: usize) -> Self {
        Self {
            done: VecDeque::new(),
            reserved: 0,
            held: 0,
            limit: Some(capacity),
        }
    }
}

impl<S, T> Default for GrowableUnordered<S, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: SeqNum, T> ResultOrder<S, T> for GrowableUnordered<S, T> {
    fn try_reserve(&mut self, _first: S, len: usize) -> bool {
        let used = self.reserved + self.held;
        if used
            .checked_add(len)
            .is_none_or(|end| end > self.capacity())
        {
            return false;
        }
        self.reserved += len;
        true
    }
    fn insert_run(&mut self, first: S, len: usize, value: T) -> Result<(), InsertError<T>> {
        if len == 0 || self.reserved < len {
            return Err(InsertError::NotReserved(value));
        }
        self.reserved -= len;
        self.held += len;
        self.done.push_back((first, len, value));
        Ok(())
    }
    fn pop(&mut self) -> Option<(S, usize, T)> {
        let (first, len, value) = self.done.pop_front()?;
        self.held -= len;
        Some((first, len, value))
    }
    fn held(&self) -> usize {
        self.held
    }
    fn reserved(&self) -> usize {
        self.reserved
    }
    fn capacity(&self) -> usize {
        self.limit
            .map_or(S::half_range(), |n| n.min(S::half_range()))
    }
}

/// Releases results strictly in submission order, on the heap: the growable counterpart
/// of [`crate::Ordered`], with its capacity set at run time. Its slots are allocated as
/// tasks are reserved (a window with a large capacity that holds little costs little).
///
/// ```
/// use forkpool_core::{GrowableOrdered, ResultOrder};
/// let mut w: GrowableOrdered<u64, &str> = GrowableOrdered::starting_at(0, 4);
/// assert!(w.try_reserve(0, 4));
/// assert!(!w.try_reserve(4, 1)); // full
/// w.insert_run(2, 2, "c and d").unwrap(); // one answer for tasks 2 and 3
/// w.insert(1, "b").unwrap();
/// assert_eq!(w.pop(), None); // 0 is not back yet
/// w.insert(0, "a").unwrap();
/// assert_eq!(
///     [w.pop(), w.pop(), w.pop()],
///     [Some((0, 1, "a")), Some((1, 1, "b")), Some((2, 2, "c and d"))]
/// );
/// ```
pub struct GrowableOrdered<S, T> {
    /// The reserved slots, from `base` on.
    slots: VecDeque<Slot<T>>,
    /// The next sequence number to release.
    base: S,
    /// Filled slots.
    filled: usize,
    capacity: usize,
}

impl<S: SeqNum, T> GrowableOrdered<S, T> {
    /// A window whose first released sequence number is `first`, holding at most
    /// `capacity` tasks reserved plus finished (at most half of `S`'s range, which keeps
    /// wrap-around comparison unambiguous).
    pub fn starting_at(first: S, capacity: usize) -> Self {
        Self {
            slots: VecDeque::new(),
            base: first,
            filled: 0,
            capacity: capacity.min(S::half_range()),
        }
    }
}

impl<S, T> core::fmt::Debug for GrowableOrdered<S, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GrowableOrdered")
            .field("span", &self.slots.len())
            .field("filled", &self.filled)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl<S: SeqNum, T> ResultOrder<S, T> for GrowableOrdered<S, T> {
    fn try_reserve(&mut self, first: S, len: usize) -> bool {
        let span = self.slots.len();
        let contiguous = first.distance_from(self.base) == span;
        if !contiguous || span.checked_add(len).is_none_or(|end| end > self.capacity) {
            return false;
        }
        self.slots.extend((0..len).map(|_| Slot::Empty));
        true
    }

    fn insert_run(&mut self, first: S, len: usize, value: T) -> Result<(), InsertError<T>> {
        let offset = first.distance_from(self.base);
        let span = self.slots.len();
        if len == 0 || offset >= span || len > span - offset {
            return Err(InsertError::NotReserved(value));
        }
        if self
            .slots
            .range(offset..offset + len)
            .any(|s| !matches!(s, Slot::Empty))
        {
            return Err(InsertError::Duplicate(value));
        }
        for k in 1..len {
            self.slots[offset + k] = Slot::Covered;
        }
        self.slots[offset] = Slot::Held(len, value);
        self.filled += len;
        Ok(())
    }

    fn pop(&mut self) -> Option<(S, usize, T)> {
        // The front slot is never `Covered` (a run is released whole).
        if !matches!(self.slots.front(), Some(Slot::Held(..))) {
            return None;
        }
        let Some(Slot::Held(len, value)) = self.slots.pop_front() else {
            return None;
        };
        self.slots.drain(..len - 1);
        let seq = self.base;
        self.base = self.base.advance(len).unwrap_or(self.base);
        self.filled -= len;
        Some((seq, len, value))
    }

    fn held(&self) -> usize {
        self.filled
    }

    fn reserved(&self) -> usize {
        self.slots.len() - self.filled
    }

    fn capacity(&self) -> usize {
        self.capacity
    }
}

/// The scheduler's worker slots on the heap, as many as the driver has (the default table
/// keeps room for every possible slot inside the scheduler value).
pub struct HeapSlots<S, K = ()>(Vec<WorkerSlot<S, K>>);

impl<S, K> core::fmt::Debug for HeapSlots<S, K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HeapSlots")
            .field("slots", &self.0.len())
            .finish()
    }
}

impl<S, K> Default for HeapSlots<S, K> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<S, K> core::ops::Deref for HeapSlots<S, K> {
    type Target = [WorkerSlot<S, K>];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<S, K> core::ops::DerefMut for HeapSlots<S, K> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<S, K> SlotTable<S, K> for HeapSlots<S, K> {
    fn push_slot(&mut self, slot: WorkerSlot<S, K>) -> Result<(), WorkerSlot<S, K>> {
        self.0.push(slot);
        Ok(())
    }
}

#[cfg(test)]
mod same_as_fixed;

#[cfg(test)]
mod tests {
    use super::{GrowableUnordered, VecQueue};
    use crate::{JobQueue, ResultOrder, Unordered};
    use alloc::vec::Vec;
    use proptest::prelude::*;

    proptest! {
        /// The growable order releases exactly what the fixed one does, in the same order,
        /// for any interleaving of reservations and completions (within the fixed one's
        /// capacity).
        #[test]
        fn the_growable_order_matches_the_fixed_one(
            runs in proptest::collection::vec(1usize..4, 1..12),
            order in proptest::collection::vec(any::<u8>(), 12),
        ) {
            let mut fixed: Unordered<u16, usize, 64> = Unordered::new();
            let mut grow: GrowableUnordered<u16, usize> = GrowableUnordered::new();
            let mut starts = Vec::new();
            let mut next = 0u16;
            for &len in &runs {
                prop_assert!(fixed.try_reserve(next, len) && grow.try_reserve(next, len));
                starts.push((next, len));
                next = next.wrapping_add(len as u16);
            }
            // Complete the runs in a shuffled order.
            let mut pending: Vec<usize> = (0..starts.len()).collect();
            let mut k = 0;
            while !pending.is_empty() {
                let i = pending.remove(usize::from(order[k % order.len()]) % pending.len());
                k += 1;
                let (first, len) = starts[i];
                fixed.insert_run(first, len, i).unwrap();
                grow.insert_run(first, len, i).unwrap();
                prop_assert_eq!(fixed.pop(), grow.pop());
                prop_assert_eq!((fixed.held(), fixed.reserved()), (grow.held(), grow.reserved()));
            }
            prop_assert_eq!(grow.pop(), None);
        }
    }

    #[test]
    fn the_queue_is_fifo_and_never_full() {
        let mut q = VecQueue::new();
        for i in 0..10_000 {
            q.push(i).unwrap();
        }
        q.for_each_mut(&mut |x| *x *= 2);
        assert_eq!(q.front(), Some(&0));
        assert_eq!((q.pop(), q.pop(), q.len()), (Some(0), Some(2), 9_998));
    }
}
