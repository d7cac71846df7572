//! Where result callbacks run: off the driver thread, on threads that are kept and reused,
//! yet side by side when they block.
//!
//! Each test runs inside a `Process` child of its own, so that the callback threads of
//! other tests do not count.

mod common;

use common::in_child;
use forkpool::{AsyncOptions, Error, Pool};
use std::collections::HashSet;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn sq(x: u64) -> u64 {
    x * x
}

fn fail(_: u64) -> u64 {
    panic!("no")
}

/// The name of the thread running this code, and its id as text.
fn this_thread() -> (String, String) {
    let t = std::thread::current();
    (t.name().unwrap_or("").to_owned(), format!("{:?}", t.id()))
}

/// Calls made one after another, each waited for, run their callbacks (and error
/// callbacks) on one callback thread: not on the driver's, and not on a new thread each.
#[test]
fn callbacks_of_calls_made_one_after_another_share_one_thread() {
    let (names, threads, values) = in_child(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut values = Vec::new();
        for i in 0..200u64 {
            let s = Arc::clone(&seen);
            let opts = if i % 50 == 49 {
                AsyncOptions::new().error_callback(move |e: &Error| {
                    assert!(matches!(e, Error::Panicked { .. }));
                    s.lock().unwrap().push(this_thread());
                })
            } else {
                AsyncOptions::new().callback(move |_: &u64| s.lock().unwrap().push(this_thread()))
            };
            let call = if i % 50 == 49 {
                pool.apply_async_with(fail, (i,), opts)
            } else {
                pool.apply_async_with(sq, (i,), opts)
            };
            values.push(call.unwrap().get().ok());
        }
        let seen = std::mem::take(&mut *seen.lock().unwrap());
        let names: HashSet<String> = seen.iter().map(|(n, _)| n.clone()).collect();
        let threads: HashSet<String> = seen.into_iter().map(|(_, id)| id).collect();
        (names, threads.len(), values)
    });
    assert_eq!(names, HashSet::from(["forkpool-callback".to_owned()]));
    assert_eq!(threads, 1, "one thread for calls made one after another");
    let expected: Vec<Option<u64>> = (0..200u64)
        .map(|i| (i % 50 != 49).then_some(i * i))
        .collect();
    assert_eq!(values, expected);
}

/// Callbacks that block run side by side, as many as are blocked: four callbacks that
/// each wait for all four (a barrier) all finish, and each `get` returns after its own
/// callback ran.
#[test]
fn callbacks_that_block_run_side_by_side() {
    let ran = in_child(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let barrier = Arc::new(Barrier::new(4));
        let done = Arc::new(Mutex::new(0));
        let calls: Vec<_> = (0..4u64)
            .map(|i| {
                let (b, d) = (Arc::clone(&barrier), Arc::clone(&done));
                let opts = AsyncOptions::new().callback(move |_: &u64| {
                    b.wait();
                    *d.lock().unwrap() += 1;
                });
                pool.apply_async_with(sq, (i,), opts).unwrap()
            })
            .collect();
        let mut after = Vec::new();
        for c in calls {
            c.get().unwrap();
            after.push(*done.lock().unwrap());
        }
        after
    });
    // Each `get` saw at least its own callback done; the last saw all four.
    assert!(ran.iter().all(|&n| n >= 1), "{ran:?}");
    assert_eq!(ran.last(), Some(&4));
}

/// Many calls at once, with callbacks that return at once: every callback runs exactly
/// once, on far fewer threads than calls.
#[test]
fn many_quick_callbacks_run_once_each_on_few_threads() {
    let (sum, count, threads) = in_child(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let seen = Arc::new(Mutex::new((0u64, 0usize, HashSet::new())));
        let calls: Vec<_> = (0..5_000u64)
            .map(|i| {
                let s = Arc::clone(&seen);
                let opts = AsyncOptions::new().callback(move |v: &u64| {
                    let mut s = s.lock().unwrap();
                    s.0 += v;
                    s.1 += 1;
                    s.2.insert(format!("{:?}", std::thread::current().id()));
                });
                pool.apply_async_with(sq, (i,), opts).unwrap()
            })
            .collect();
        for c in calls {
            c.get().unwrap();
        }
        let s = seen.lock().unwrap();
        (s.0, s.1, s.2.len())
    });
    assert_eq!(count, 5_000);
    assert_eq!(sum, (0..5_000u64).map(|i| i * i).sum::<u64>());
    // Threads are reused; the bound is loose (a burst of results may each find every
    // thread busy), the point is that it is not one thread per call.
    assert!(threads < 1_000, "{threads} callback threads for 5000 calls");
}

/// `join` returns once the callbacks of the calls made before it have run, as Python's
/// does: what callbacks gather is complete, even when one of them is slow.
#[test]
fn join_waits_for_the_callbacks_of_earlier_calls() {
    let (each, whole) = in_child(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        for x in 0..100u64 {
            let g = Arc::clone(&got);
            let opts = AsyncOptions::new().callback(move |v: &u64| {
                if *v == 0 {
                    std::thread::sleep(Duration::from_millis(50));
                }
                g.lock().unwrap().push(*v);
            });
            pool.apply_async_with(sq, (x,), opts).unwrap();
        }
        let g = Arc::clone(&got);
        let opts = AsyncOptions::new().callback(move |v: &Vec<u64>| {
            std::thread::sleep(Duration::from_millis(50));
            g.lock().unwrap().extend(v);
        });
        pool.map_async_with(sq, 0..10u64, opts).unwrap();
        pool.close();
        pool.join().unwrap();
        let got = got.lock().unwrap();
        (got.len(), got.iter().sum::<u64>())
    });
    assert_eq!(each, 110);
    let squares = |n: u64| (0..n).map(|x| x * x).sum::<u64>();
    assert_eq!(whole, squares(100) + squares(10));
}

/// A callback may close and join its own pool: it does not wait for itself.
#[test]
fn a_callback_may_join_its_own_pool() {
    let joined = in_child(LIMIT, || {
        let pool = Arc::new(Pool::new(2).unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let p = Arc::clone(&pool);
        let opts = AsyncOptions::new().callback(move |_: &u64| {
            p.close();
            let _ = tx.send(p.join().is_ok());
        });
        pool.apply_async_with(sq, (3,), opts).unwrap();
        rx.recv_timeout(LIMIT).unwrap()
    });
    assert!(joined);
}

/// A callback may wait on another call's result, even one with a callback of its own: that
/// callback runs on another callback thread.
#[test]
fn a_callback_may_wait_on_a_result_with_a_callback() {
    let got = in_child(LIMIT, || {
        let pool = Arc::new(Pool::new(2).unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let p = Arc::clone(&pool);
        let opts = AsyncOptions::new().callback(move |v: &u64| {
            let inner = AsyncOptions::new().callback(|_: &u64| ());
            let r = p.apply_async_with(sq, (*v,), inner).and_then(|r| r.get());
            let _ = tx.send(r.ok());
        });
        pool.apply_async_with(sq, (3,), opts).unwrap();
        rx.recv_timeout(LIMIT).unwrap()
    });
    assert_eq!(got, Some(81));
}
