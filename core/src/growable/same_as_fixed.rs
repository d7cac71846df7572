//! The growable windows behave as the fixed ones of the same capacity, whatever the
//! sequence of reservations, answers (single or runs, in any order) and releases, across
//! the wrap-around of `u16` sequence numbers.

use crate::order::{Ordered, ResultOrder, Unordered};
use crate::{GrowableOrdered, GrowableUnordered};
use alloc::vec::Vec;
use proptest::prelude::*;

const CAP: usize = 16;

#[derive(Debug, Clone)]
enum Op {
    /// Reserve this many tasks after the last reserved.
    Reserve(usize),
    /// Answer the reserved, unanswered run at this pick (modulo their number), of at most
    /// this length.
    Answer(usize, usize),
    Pop,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1..5usize).prop_map(Op::Reserve),
        (0..64usize, 1..4usize).prop_map(|(k, n)| Op::Answer(k, n)),
        Just(Op::Pop),
    ]
}

/// Drives `fixed` and `growable` with the same operations; every answer and count must
/// agree. `exact`: the order tells which tasks were answered (an ordered window does; a
/// completion-order buffer counts them only), so a second answer is refused.
fn same<F, G>(start: u16, ops: &[Op], exact: bool, mut fixed: F, mut growable: G)
where
    F: ResultOrder<u16, u32>,
    G: ResultOrder<u16, u32>,
{
    let mut next = start;
    // Reserved and unanswered tasks, by sequence number.
    let mut open: Vec<u16> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match *op {
            Op::Reserve(len) => {
                let a = fixed.try_reserve(next, len);
                assert_eq!(
                    a,
                    growable.try_reserve(next, len),
                    "reserve {len} at op {i}"
                );
                if a {
                    open.extend((0..len).map(|k| next.wrapping_add(k as u16)));
                    next = next.wrapping_add(len as u16);
                }
            }
            Op::Answer(pick, most) => {
                if open.is_empty() {
                    continue;
                }
                let at = pick % open.len();
                // A run of consecutive open tasks from `at`.
                let mut len = 1;
                while len < most
                    && open
                        .get(at + len)
                        .is_some_and(|s| *s == open[at].wrapping_add(len as u16))
                {
                    len += 1;
                }
                let first = open[at];
                let value = u32::from(first);
                let a = fixed.insert_run(first, len, value).is_ok();
                assert_eq!(a, growable.insert_run(first, len, value).is_ok());
                assert!(a, "an open run is always accepted");
                open.drain(at..at + len);
                if exact {
                    // A second answer for the same task is refused by both.
                    assert!(fixed.insert(first, 0).is_err());
                    assert!(growable.insert(first, 0).is_err());
                }
            }
            Op::Pop => assert_eq!(fixed.pop(), growable.pop(), "pop at op {i}"),
        }
        assert_eq!(fixed.held(), growable.held());
        assert_eq!(fixed.reserved(), growable.reserved());
    }
    // Whatever was answered comes out the same.
    loop {
        let (a, b) = (fixed.pop(), growable.pop());
        assert_eq!(a, b);
        if a.is_none() {
            break;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn growable_ordered_is_ordered(
        start in prop_oneof![Just(u16::MAX - 20), any::<u16>()],
        ops in proptest::collection::vec(op(), 0..200),
    ) {
        same(
            start,
            &ops,
            true,
            Ordered::<u16, u32, CAP>::starting_at(start),
            GrowableOrdered::<u16, u32>::starting_at(start, CAP),
        );
    }

    #[test]
    fn bounded_growable_unordered_is_unordered(
        start in prop_oneof![Just(u16::MAX - 20), any::<u16>()],
        ops in proptest::collection::vec(op(), 0..200),
    ) {
        same(
            start,
            &ops,
            false,
            Unordered::<u16, u32, CAP>::new(),
            GrowableUnordered::<u16, u32>::with_capacity(CAP),
        );
    }
}
