//! Sequence numbers that survive wrap-around.
//!
//! Tasks are numbered in submission order. A long-running pool (or a `u16` counter on a
//! microcontroller) wraps around, so numbers are compared with serial-number arithmetic
//! (RFC 1982, as smoltcp does for TCP): `a` comes after `b` when `a - b`, computed with
//! wrap-around, is less than half the number space. This is correct as long as no two live
//! numbers are half the space or more apart, which the scheduler guarantees by bounding
//! its windows (see [`crate::Scheduler::new`]).

use core::cmp::Ordering;
use num_traits::{AsPrimitive, NumCast, PrimInt, Unsigned, WrappingAdd, WrappingSub};

/// An unsigned integer usable as a task sequence number (`u8`, `u16`, `u32`, `u64`, `usize`).
pub trait SeqNum:
    PrimInt + Unsigned + WrappingAdd + WrappingSub + AsPrimitive<usize> + NumCast + 'static
{
    /// Half the number space: the largest distance two live sequence numbers may have.
    fn half_range() -> usize {
        let half: Self = (Self::max_value() >> 1) + Self::one();
        half.as_()
    }

    /// `self + n` with wrap-around, or `None` when `n` does not fit in `Self`.
    fn advance(self, n: usize) -> Option<Self> {
        <Self as NumCast>::from(n).map(|n| self.wrapping_add(&n))
    }

    /// The wrapped distance from `earlier` to `self`, as a `usize`.
    fn distance_from(self, earlier: Self) -> usize {
        self.wrapping_sub(&earlier).as_()
    }
}

impl<T> SeqNum for T where
    T: PrimInt + Unsigned + WrappingAdd + WrappingSub + AsPrimitive<usize> + NumCast + 'static
{
}

/// Compares two sequence numbers with serial-number arithmetic.
///
/// ```
/// use core::cmp::Ordering;
/// use forkpool_core::serial_cmp;
/// assert_eq!(serial_cmp(1u16, 65535u16), Ordering::Greater); // 1 comes after 65535
/// assert_eq!(serial_cmp(5u16, 7u16), Ordering::Less);
/// ```
pub fn serial_cmp<S: SeqNum>(a: S, b: S) -> Ordering {
    let d = a.wrapping_sub(&b);
    if d.is_zero() {
        Ordering::Equal
    } else if d.as_() < S::half_range() {
        Ordering::Greater
    } else {
        Ordering::Less
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_around() {
        assert_eq!(serial_cmp(0u8, 255u8), Ordering::Greater);
        assert_eq!(serial_cmp(255u8, 0u8), Ordering::Less);
        assert_eq!(serial_cmp(100u8, 100u8), Ordering::Equal);
        assert_eq!(serial_cmp(10u64, 3u64), Ordering::Greater);
        assert_eq!(u16::half_range(), 32768);
        assert_eq!(65535u16.advance(2), Some(1));
        assert_eq!(0u8.advance(300), None);
        assert_eq!(1u16.distance_from(65535), 2);
    }
}
