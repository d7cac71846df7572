//! Per-task deadlines: a task past its limit fails with `Error::TimedOut`, its worker is
//! killed and replaced, and the other tasks carry on.

mod common;

use common::{bounded, no_leaks};
use forkpool::{AsyncOptions, Error, Pool};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn sleepy(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

#[test]
fn a_task_past_its_deadline_fails_alone() {
    let pool = Pool::new(2).unwrap();
    let limit = AsyncOptions::new().timeout(Duration::from_millis(200));
    let stuck = pool.apply_async_with(sleepy, (60_000,), limit).unwrap();
    let fine = pool.apply_async(sleepy, (300,)).unwrap();
    bounded(LIMIT, move || {
        match stuck.get() {
            Err(Error::TimedOut { pid }) => assert!(pid > 0),
            other => panic!("expected TimedOut, got {other:?}"),
        }
        assert_eq!(fine.get().unwrap(), 300);
        assert_eq!(
            pool.apply(sleepy, (1,)).unwrap(),
            1,
            "the pool is still usable"
        );
        // The replacement starts off the pool's lock: it is up shortly after.
        let replaced = common::eventually(Duration::from_secs(10), || pool.pids().len() == 2);
        assert!(replaced, "the killed worker was replaced");
    });
}

/// A caller sends a task with a deadline to an idle worker itself, while the driver thread
/// sleeps with nothing to time: the deadline must still wake it.
#[test]
fn a_deadline_set_while_the_driver_sleeps_still_fires() {
    let pool = Pool::new(1).unwrap();
    assert_eq!(pool.apply(sleepy, (1,)).unwrap(), 1);
    // Long enough for the driver to have delivered that result and gone back to its wait.
    std::thread::sleep(Duration::from_millis(50));
    let limit = AsyncOptions::new().timeout(Duration::from_millis(100));
    let stuck = pool.apply_async_with(sleepy, (60_000,), limit).unwrap();
    bounded(LIMIT, move || {
        assert!(matches!(stuck.get(), Err(Error::TimedOut { .. })));
    });
}

/// The first task with a deadline, sent by a caller to an idle worker long after the
/// driver last looked at the clock, gets its whole time: its deadline counts from when it
/// is sent, not from the driver's last turn.
#[test]
fn a_deadline_counts_from_its_dispatch_after_the_pool_was_idle() {
    let pool = Pool::new(1).unwrap();
    assert_eq!(pool.apply(sleepy, (1,)).unwrap(), 1);
    // Longer than the limit below: a deadline counted from the driver's last turn would
    // have passed before the task starts.
    std::thread::sleep(Duration::from_millis(700));
    let limit = AsyncOptions::new().timeout(Duration::from_millis(500));
    let quick = pool.apply_async_with(sleepy, (20,), limit).unwrap();
    assert_eq!(bounded(LIMIT, move || quick.get()).unwrap(), 20);
}

#[test]
fn tasks_within_their_deadline_succeed() {
    let pool = Pool::new(2).unwrap();
    let opts = AsyncOptions::new()
        .timeout(Duration::from_secs(30))
        .chunksize(2);
    let r = pool.map_async_with(sleepy, [1, 2, 3, 4, 5], opts).unwrap();
    assert_eq!(bounded(LIMIT, move || r.get()).unwrap(), [1, 2, 3, 4, 5]);
}

#[test]
fn map_with_a_deadline_per_chunk() {
    let pool = Pool::new(2).unwrap();
    let opts = AsyncOptions::new()
        .timeout(Duration::from_millis(300))
        .chunksize(1);
    let r = pool.map_async_with(sleepy, [5, 60_000, 5], opts).unwrap();
    assert!(matches!(
        bounded(LIMIT, move || r.get()),
        Err(Error::TimedOut { .. })
    ));
}

/// `imap(...).timeout(...)`: the item past its deadline yields `TimedOut` in its place,
/// in order; the others are untouched, and so is the pool.
#[test]
fn imap_with_a_deadline_per_item() {
    let pool = Pool::new(2).unwrap();
    let items = [5, 60_000, 10, 60_000, 15];
    let got = bounded(LIMIT, move || {
        let ordered: Vec<_> = pool
            .imap(sleepy, items)
            .unwrap()
            .timeout(Duration::from_millis(300))
            .collect();
        let unordered = pool
            .imap_unordered(sleepy, items)
            .unwrap()
            .timeout(Duration::from_millis(300))
            .filter(|r| matches!(r, Err(Error::TimedOut { .. })))
            .count();
        assert_eq!(pool.apply(sleepy, (1,)).unwrap(), 1);
        (ordered, unordered)
    });
    let (ordered, timed_out) = got;
    assert_eq!(timed_out, 2);
    for (r, want) in ordered.iter().zip(items) {
        match r {
            Ok(v) => assert_eq!(*v, want),
            Err(Error::TimedOut { .. }) => assert_eq!(want, 60_000),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
}

/// Workers stopped for deadlines and cancellations are all reaped, their sockets closed.
#[test]
fn deadlines_and_cancellations_leave_nothing_behind() {
    let run = || {
        let pool = Pool::new(2).unwrap();
        let limit = AsyncOptions::new().timeout(Duration::from_millis(100));
        let late = pool.apply_async_with(sleepy, (60_000,), limit).unwrap();
        let cancelled = pool.apply_async(sleepy, (60_000,)).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        cancelled.cancel();
        assert!(matches!(late.get(), Err(Error::TimedOut { .. })));
        assert!(matches!(cancelled.get(), Err(Error::Cancelled)));
        assert_eq!(pool.apply(sleepy, (1,)).unwrap(), 1);
    };
    assert_eq!(no_leaks(run), (true, true));
}
