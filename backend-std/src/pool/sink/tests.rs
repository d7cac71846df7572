//! A map's results collected in place: runs that come out of order, failures, and results
//! that come twice.

use super::super::lock::lock;
use super::{Collect, Sink};
use crate::error::{Error, Result};
use crate::protocol::{Raw, run_of};
use std::sync::Arc;

type Values = Collect<u64, Vec<u64>>;

/// A collector of `n` results, all submitted; and a way to read its outcome once complete.
fn collector(n: usize) -> (Arc<Values>, impl Fn() -> Option<Result<Vec<u64>>>) {
    let (sink, shared) = Collect::new(Ok, None, None, None);
    sink.expect(n);
    sink.seal();
    let outcome = move || lock(&shared.value).value.take();
    (sink, outcome)
}

/// The run of encoded values `from..to`.
fn run(from: u64, to: u64) -> Raw {
    let encoded: Vec<Vec<u8>> = (from..to).map(|v| postcard::to_allocvec(&v).unwrap()).collect();
    let slices: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
    run_of(&slices)
}

#[test]
fn runs_that_come_out_of_order_are_collected_in_task_order() {
    let (sink, outcome) = collector(10);
    sink.deliver(6, Ok(run(6, 10)));
    sink.deliver(2, Ok(run(2, 4)));
    assert!(outcome().is_none());
    sink.deliver(0, Ok(run(0, 2)));
    sink.deliver(4, Ok(run(4, 6)));
    assert_eq!(outcome().unwrap().unwrap(), (0..10).collect::<Vec<_>>());
}

#[test]
fn the_failure_of_the_lowest_index_is_the_outcome_whatever_the_order() {
    let (sink, outcome) = collector(8);
    sink.deliver(0, Ok(run(0, 2)));
    sink.deliver(6, Err(Error::Internal("six")));
    sink.deliver(3, Err(Error::Internal("three")));
    sink.deliver(7, Ok(run(7, 8)));
    sink.deliver(4, Err(Error::Internal("four")));
    sink.deliver(5, Ok(run(5, 6)));
    sink.deliver(2, Ok(run(2, 3)));
    assert!(matches!(outcome().unwrap(), Err(Error::Internal("three"))));
}

#[test]
fn a_value_that_fails_to_decode_fails_the_call_at_its_index() {
    let (sink, outcome) = collector(4);
    sink.deliver(2, Ok(run(2, 4)));
    // A run whose second value is a varint cut short.
    let first = postcard::to_allocvec(&0u64).unwrap();
    sink.deliver(0, Ok(run_of(&[&first, &[0x80]])));
    match outcome().unwrap() {
        Err(Error::Decode(_)) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_result_that_comes_twice_or_out_of_range_counts_once() {
    let (sink, outcome) = collector(4);
    sink.deliver(0, Ok(run(0, 2)));
    sink.deliver(0, Ok(run(100, 102)));
    sink.deliver(3, Ok(run(3, 4)));
    sink.deliver(3, Ok(run(103, 104)));
    sink.deliver(4, Ok(run(4, 5)));
    assert!(outcome().is_none());
    sink.deliver(2, Ok(run(2, 3)));
    assert_eq!(outcome().unwrap().unwrap(), vec![0, 1, 2, 3]);
}

#[test]
fn room_made_ahead_for_more_results_than_come_changes_nothing() {
    let (sink, shared) = Collect::<u64, Vec<u64>>::new(Ok, None, None, None);
    sink.reserve(1000);
    sink.expect(3);
    sink.deliver(1, Ok(run(1, 3)));
    sink.deliver(0, Ok(run(0, 1)));
    sink.seal();
    let v = lock(&shared.value).value.take().unwrap().unwrap();
    assert_eq!(v, vec![0, 1, 2]);
}

#[test]
fn single_results_in_any_order_are_collected_in_task_order() {
    let n = 97u64;
    let (sink, outcome) = collector(n as usize);
    // Every index once, in a scrambled order (37 is coprime with 97).
    for k in 0..n {
        let i = (k * 37 + 11) % n;
        assert!(outcome().is_none());
        sink.deliver(i as usize, Ok(run(i, i + 1)));
    }
    assert_eq!(outcome().unwrap().unwrap(), (0..n).collect::<Vec<_>>());
}
