//! Growable implementations of the core's queue and order traits for the pool's own
//! scheduler. Memory stays bounded where it must be by the callers: `map` holds its inputs
//! and results by definition, and `imap` bounds itself with the core's fixed windows.

use forkpool_core::{InsertError, JobQueue, ResultOrder, SlotTable, WorkerSlot};
use std::collections::VecDeque;

/// A FIFO job queue on `VecDeque`.
pub(crate) struct VecQueue<T>(VecDeque<T>);

impl<T> VecQueue<T> {
    pub(crate) fn new() -> Self {
        Self(VecDeque::new())
    }
}

impl<T> JobQueue<T> for VecQueue<T> {
    fn push(&mut self, job: T) -> Result<(), T> {
        self.0.push_back(job);
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

/// Completion order without a fixed capacity (results are routed away at once).
pub(crate) struct CompletionOrder<T> {
    done: VecDeque<(u64, usize, T)>,
    reserved: usize,
    held: usize,
}

impl<T> CompletionOrder<T> {
    pub(crate) fn new() -> Self {
        Self {
            done: VecDeque::new(),
            reserved: 0,
            held: 0,
        }
    }
}

impl<T> ResultOrder<u64, T> for CompletionOrder<T> {
    fn try_reserve(&mut self, _first: u64, len: usize) -> bool {
        self.reserved += len;
        true
    }
    fn insert_run(&mut self, first: u64, len: usize, value: T) -> Result<(), InsertError<T>> {
        if len == 0 || self.reserved < len {
            return Err(InsertError::NotReserved(value));
        }
        self.reserved -= len;
        self.held += len;
        self.done.push_back((first, len, value));
        Ok(())
    }
    fn pop(&mut self) -> Option<(u64, usize, T)> {
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
        1 << 40
    }
}

/// The scheduler's worker slots on the heap, as many as the pool has (the core's default
/// keeps room for every possible slot inside the scheduler value).
pub(crate) struct HeapSlots<S>(Vec<WorkerSlot<S>>);

impl<S> Default for HeapSlots<S> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<S> std::ops::Deref for HeapSlots<S> {
    type Target = [WorkerSlot<S>];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<S> std::ops::DerefMut for HeapSlots<S> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<S> SlotTable<S> for HeapSlots<S> {
    fn push_slot(&mut self, slot: WorkerSlot<S>) -> Result<(), WorkerSlot<S>> {
        self.0.push(slot);
        Ok(())
    }
}
