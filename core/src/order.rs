//! Result ordering: a reorder window that releases results in submission order, and a
//! completion-order buffer. Both have a fixed capacity, and that capacity is the
//! back-pressure: a slot must be reserved before the task is dispatched, so a result always
//! has somewhere to go and a slow head-of-line task pauses dispatch instead of growing memory.

use crate::error::InsertError;
use crate::seq::SeqNum;
use heapless::Deque;

/// How finished results are held until they are released.
///
/// The calling order is: [`try_reserve`](Self::try_reserve) the task's slots before
/// dispatching it, [`insert`](Self::insert) each result as it arrives, and
/// [`pop`](Self::pop) to release. `held() + reserved() <= capacity()` always holds.
pub trait ResultOrder<S, T> {
    /// Reserves slots for the `len` tasks numbered `first..first + len`, or answers `false`
    /// when their results could not all be held (the caller waits and tries again later).
    fn try_reserve(&mut self, first: S, len: usize) -> bool;
    /// Stores the result for `seq`, whose slot must have been reserved and not yet filled.
    fn insert(&mut self, seq: S, value: T) -> Result<(), InsertError<T>>;
    /// Releases the next result, if the ordering allows one now.
    fn pop(&mut self) -> Option<(S, T)>;
    /// Results stored and not yet released.
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
/// assert!(w.try_reserve(0, 3));
/// w.insert(2, "c").unwrap();
/// w.insert(1, "b").unwrap();
/// assert_eq!(w.pop(), None); // 0 is not back yet
/// w.insert(0, "a").unwrap();
/// assert_eq!([w.pop(), w.pop(), w.pop()], [Some((0, "a")), Some((1, "b")), Some((2, "c"))]);
/// ```
pub struct Ordered<S, T, const N: usize> {
    slots: [Option<T>; N],
    /// Index in `slots` of the sequence number `base`.
    head: usize,
    /// The next sequence number to release.
    base: S,
    /// Reserved slots, counted from `base`.
    span: usize,
    /// Filled slots inside the span.
    filled: usize,
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
            slots: core::array::from_fn(|_| None),
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

    fn insert(&mut self, seq: S, value: T) -> Result<(), InsertError<T>> {
        let offset = seq.distance_from(self.base);
        if offset >= self.span {
            return Err(InsertError::NotReserved(value));
        }
        let slot = &mut self.slots[(self.head + offset) % N];
        if slot.is_some() {
            return Err(InsertError::Duplicate(value));
        }
        *slot = Some(value);
        self.filled += 1;
        Ok(())
    }

    fn pop(&mut self) -> Option<(S, T)> {
        let value = self.slots[self.head].take()?;
        let seq = self.base;
        self.head = (self.head + 1) % N;
        self.base = self.base.wrapping_add(&S::one());
        self.span -= 1;
        self.filled -= 1;
        Some((seq, value))
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
/// let mut u: Unordered<u32, char, 2> = Unordered::new();
/// assert!(u.try_reserve(0, 2));
/// assert!(!u.try_reserve(2, 1)); // full
/// u.insert(1, 'b').unwrap();
/// assert_eq!(u.pop(), Some((1, 'b')));
/// ```
pub struct Unordered<S, T, const N: usize> {
    done: Deque<(S, T), N>,
    reserved: usize,
}

impl<S, T, const N: usize> Unordered<S, T, N> {
    /// An empty buffer. `N == 0` is rejected at compile time.
    pub const fn new() -> Self {
        const { assert!(N > 0, "an Unordered buffer needs a capacity of at least 1") };
        Self {
            done: Deque::new(),
            reserved: 0,
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
        let used = self.reserved + self.done.len();
        if used.checked_add(len).is_some_and(|end| end <= N) {
            self.reserved += len;
            true
        } else {
            false
        }
    }

    fn insert(&mut self, seq: S, value: T) -> Result<(), InsertError<T>> {
        if self.reserved == 0 {
            return Err(InsertError::NotReserved(value));
        }
        match self.done.push_back((seq, value)) {
            Ok(()) => {
                self.reserved -= 1;
                Ok(())
            }
            Err((_, value)) => Err(InsertError::NotReserved(value)),
        }
    }

    fn pop(&mut self) -> Option<(S, T)> {
        self.done.pop_front()
    }

    fn held(&self) -> usize {
        self.done.len()
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
        assert_eq!(w.pop(), Some((254, 0)));
        assert!(w.try_reserve(0, 1)); // wrapped
        assert_eq!(w.pop(), Some((255, 1)));
        assert_eq!((w.held(), w.reserved()), (0, 1));
    }

    #[test]
    fn ordered_rejects_gaps() {
        let mut w: Ordered<u32, (), 8> = Ordered::starting_at(0);
        assert!(!w.try_reserve(1, 1));
        assert!(w.try_reserve(0, 8));
        assert!(!w.try_reserve(8, 1));
    }
}
