//! Result ordering: a reorder window that releases results in submission order, and a
//! completion-order buffer. Both have a fixed capacity, and that capacity is the
//! back-pressure: a slot must be reserved before the task is dispatched, so a result always
//! has somewhere to go and a slow head-of-line task pauses dispatch instead of growing memory.
//!
//! A result may stand for a *run* of consecutive tasks answered together (a worker that
//! answers a whole chunk at once): it is stored and released as one entry, and counts as
//! `len` tasks against the capacity.

use crate::error::InsertError;
use crate::seq::SeqNum;
use heapless::Deque;

/// How finished results are held until they are released.
///
/// The calling order is: [`try_reserve`](Self::try_reserve) the task's slots before
/// dispatching it, [`insert`](Self::insert) each result (or
/// [`insert_run`](Self::insert_run) each run of results) as it arrives, and
/// [`pop`](Self::pop) to release. Counts are in tasks: `held() + reserved() <= capacity()`
/// always holds.
pub trait ResultOrder<S, T> {
    /// Reserves slots for the `len` tasks numbered `first..first + len`, or answers `false`
    /// when their results could not all be held (the caller waits and tries again later).
    fn try_reserve(&mut self, first: S, len: usize) -> bool;
    /// Stores one result standing for the `len` tasks `first..first + len` (`len >= 1`),
    /// whose slots must have been reserved and not yet filled.
    fn insert_run(&mut self, first: S, len: usize, value: T) -> Result<(), InsertError<T>>;
    /// Stores the result for `seq`, whose slot must have been reserved and not yet filled.
    fn insert(&mut self, seq: S, value: T) -> Result<(), InsertError<T>> {
        self.insert_run(seq, 1, value)
    }
    /// Releases the next result, if the ordering allows one now: `(first, len, value)`, the
    /// run of `len` tasks from `first` it stands for.
    fn pop(&mut self) -> Option<(S, usize, T)>;
    /// Results stored and not yet released, in tasks.
    fn held(&self) -> usize;
    /// Slots reserved and not yet filled.
    fn reserved(&self) -> usize;
    /// Most results in flight plus held at once.
    fn capacity(&self) -> usize;
}

/// Releases results strictly in submission order, holding early arrivals in a window of `N`.
///
/// Reservations must be contiguous (each starts where the previous one ended), which is what
/// a FIFO dispatcher produces.
///
/// ```
/// use forkpool_core::{Ordered, ResultOrder};
/// let mut w: Ordered<u16, &str, 4> = Ordered::starting_at(0);
/// assert!(w.try_reserve(0, 4));
/// w.insert_run(2, 2, "c and d").unwrap(); // one answer for tasks 2 and 3
/// w.insert(1, "b").unwrap();
/// assert_eq!(w.pop(), None); // 0 is not back yet
/// w.insert(0, "a").unwrap();
/// assert_eq!(
///     [w.pop(), w.pop(), w.pop()],
///     [Some((0, 1, "a")), Some((1, 1, "b")), Some((2, 2, "c and d"))]
/// );
/// ```
pub struct Ordered<S, T, const N: usize> {
    slots: [Slot<T>; N],
    /// Index in `slots` of the sequence number `base`.
    head: usize,
    /// The next sequence number to release.
    base: S,
    /// Reserved slots, counted from `base`.
    span: usize,
    /// Filled slots inside the span.
    filled: usize,
}

/// One task's place in an [`Ordered`] window (or a `GrowableOrdered` one).
pub(crate) enum Slot<T> {
    Empty,
    /// Filled by the run that starts at an earlier slot.
    Covered,
    /// The start of a run of this many tasks, and its result.
    Held(usize, T),
}

impl<S: SeqNum, T, const N: usize> Ordered<S, T, N> {
    /// A window whose first released sequence number will be `first`.
    ///
    /// `N` must be at least 1 and at most half of `S`'s number space (so wrap-around
    /// comparison stays unambiguous); both are checked at compile time for `N == 0` and at
    /// run time (a debug assertion) for the range.
    pub fn starting_at(first: S) -> Self {
        const { assert!(N > 0, "an Ordered window needs a capacity of at least 1") };
        debug_assert!(
            N <= S::half_range(),
            "window larger than half the sequence space"
        );
        Self {
            slots: core::array::from_fn(|_| Slot::Empty),
            head: 0,
            base: first,
            span: 0,
            filled: 0,
        }
    }

    /// The sequence number the window releases next.
    pub fn next_seq(&self) -> S {
        self.base
    }

    /// Whether `len` more tasks, numbered right after the reserved ones, would fit.
    pub fn can_reserve(&self, len: usize) -> bool {
        self.span.checked_add(len).is_some_and(|end| end <= N)
    }

    /// Number of released-in-order slots reserved (filled or not).
    pub fn span(&self) -> usize {
        self.span
    }
}

impl<S: SeqNum, T, const N: usize> ResultOrder<S, T> for Ordered<S, T, N> {
    fn try_reserve(&mut self, first: S, len: usize) -> bool {
        let contiguous = first.distance_from(self.base) == self.span;
        if !contiguous || !self.can_reserve(len) {
            return false;
        }
        self.span += len;
        true
    }

    fn insert_run(&mut self, first: S, len: usize, value: T) -> Result<(), InsertError<T>> {
        let offset = first.distance_from(self.base);
        if len == 0 || offset >= self.span || len > self.span - offset {
            return Err(InsertError::NotReserved(value));
        }
        let at = |k: usize| (self.head + offset + k) % N;
        if (0..len).any(|k| !matches!(self.slots[at(k)], Slot::Empty)) {
            return Err(InsertError::Duplicate(value));
        }
        for k in 1..len {
            self.slots[at(k)] = Slot::Covered;
        }
        self.slots[at(0)] = Slot::Held(len, value);
        self.filled += len;
        Ok(())
    }

    fn pop(&mut self) -> Option<(S, usize, T)> {
        // The head slot is never `Covered` (a run is released whole), so taking it out
        // leaves an `Empty` head as it was.
        let Slot::Held(len, value) = core::mem::replace(&mut self.slots[self.head], Slot::Empty)
        else {
            return None;
        };
        for k in 1..len {
            self.slots[(self.head + k) % N] = Slot::Empty;
        }
        let seq = self.base;
        self.head = (self.head + len) % N;
        self.base = self.base.advance(len).unwrap_or(self.base);
        self.span -= len;
        self.filled -= len;
        Some((seq, len, value))
    }

    fn held(&self) -> usize {
        self.filled
    }

    fn reserved(&self) -> usize {
        self.span - self.filled
    }

    fn capacity(&self) -> usize {
        N
    }
}

/// Releases results in completion order; holds at most `N` reserved plus finished results.
///
/// ```
/// use forkpool_core::{ResultOrder, Unordered};
/// let mut u: Unordered<u32, char, 3> = Unordered::new();
/// assert!(u.try_reserve(0, 3));
/// assert!(!u.try_reserve(3, 1)); // full
/// u.insert_run(1, 2, 'b').unwrap();
/// assert_eq!(u.pop(), Some((1, 2, 'b')));
/// ```
pub struct Unordered<S, T, const N: usize> {
    done: Deque<(S, usize, T), N>,
    reserved: usize,
    /// Tasks the held runs stand for.
    held: usize,
}

impl<S, T, const N: usize> Unordered<S, T, N> {
    /// An empty buffer. `N == 0` is rejected at compile time.
    pub const fn new() -> Self {
        const { assert!(N > 0, "an Unordered buffer needs a capacity of at least 1") };
        Self {
            done: Deque::new(),
            reserved: 0,
            held: 0,
        }
    }
}

impl<S, T, const N: usize> Default for Unordered<S, T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: SeqNum, T, const N: usize> ResultOrder<S, T> for Unordered<S, T, N> {
    fn try_reserve(&mut self, _first: S, len: usize) -> bool {
        let used = self.reserved + self.held;
        if used.checked_add(len).is_some_and(|end| end <= N) {
            self.reserved += len;
            true
        } else {
            false
        }
    }

    fn insert_run(&mut self, first: S, len: usize, value: T) -> Result<(), InsertError<T>> {
        if len == 0 || self.reserved < len {
            return Err(InsertError::NotReserved(value));
        }
        // Cannot overflow: every entry stands for at least one of at most N tasks.
        match self.done.push_back((first, len, value)) {
            Ok(()) => {
                self.reserved -= len;
                self.held += len;
                Ok(())
            }
            Err((_, _, value)) => Err(InsertError::NotReserved(value)),
        }
    }

    fn pop(&mut self) -> Option<(S, usize, T)> {
        let (seq, len, value) = self.done.pop_front()?;
        self.held -= len;
        Some((seq, len, value))
    }

    fn held(&self) -> usize {
        self.held
    }

    fn reserved(&self) -> usize {
        self.reserved
    }

    fn capacity(&self) -> usize {
        N
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_rejects_unreserved_and_duplicates() {
        let mut w: Ordered<u8, u8, 2> = Ordered::starting_at(254);
        assert!(w.try_reserve(254, 2));
        assert!(!w.try_reserve(0, 1));
        assert_eq!(w.insert(0, 9), Err(InsertError::NotReserved(9)));
        w.insert(255, 1).unwrap();
        assert_eq!(w.insert(255, 2), Err(InsertError::Duplicate(2)));
        assert_eq!(w.pop(), None);
        w.insert(254, 0).unwrap();
        assert_eq!(w.pop(), Some((254, 1, 0)));
        assert!(w.try_reserve(0, 1)); // wrapped
        assert_eq!(w.pop(), Some((255, 1, 1)));
        assert_eq!((w.held(), w.reserved()), (0, 1));
    }

    #[test]
    fn ordered_runs_fill_and_release_as_one() {
        let mut w: Ordered<u8, char, 4> = Ordered::starting_at(254);
        assert!(w.try_reserve(254, 4));
        assert_eq!(w.insert_run(0, 3, 'x'), Err(InsertError::NotReserved('x')));
        assert_eq!(
            w.insert_run(255, 0, 'x'),
            Err(InsertError::NotReserved('x'))
        );
        w.insert(0, 'c').unwrap();
        assert_eq!(w.insert_run(255, 2, 'x'), Err(InsertError::Duplicate('x')));
        w.insert_run(1, 1, 'd').unwrap();
        w.insert(254, 'a').unwrap();
        assert_eq!((w.held(), w.reserved()), (3, 1));
        assert_eq!(w.pop(), Some((254, 1, 'a')));
        assert_eq!(w.pop(), None);
        assert_eq!(w.insert(0, 'y'), Err(InsertError::Duplicate('y')));
        w.insert(255, 'b').unwrap();
        assert_eq!(
            [w.pop(), w.pop(), w.pop()],
            [Some((255, 1, 'b')), Some((0, 1, 'c')), Some((1, 1, 'd'))]
        );
        assert!(w.try_reserve(2, 4));
        w.insert_run(2, 4, 'r').unwrap();
        assert_eq!(w.insert(4, 'z'), Err(InsertError::Duplicate('z')));
        assert_eq!(w.pop(), Some((2, 4, 'r')));
        assert_eq!((w.held(), w.reserved(), w.span()), (0, 0, 0));
    }

    #[test]
    fn unordered_counts_runs_in_tasks() {
        let mut u: Unordered<u8, (), 4> = Unordered::new();
        assert!(u.try_reserve(0, 3));
        assert_eq!(u.insert_run(0, 4, ()), Err(InsertError::NotReserved(())));
        u.insert_run(0, 3, ()).unwrap();
        assert!(!u.try_reserve(3, 2));
        assert!(u.try_reserve(3, 1));
        assert_eq!(u.pop(), Some((0, 3, ())));
        assert_eq!((u.held(), u.reserved()), (0, 1));
    }

    #[test]
    fn ordered_rejects_gaps() {
        let mut w: Ordered<u32, (), 8> = Ordered::starting_at(0);
        assert!(!w.try_reserve(1, 1));
        assert!(w.try_reserve(0, 8));
        assert!(!w.try_reserve(8, 1));
    }
}
