//! `apply_async` in tight loops, from several threads, while the driver is busy with the
//! results: calls that find the pool's lock held by the driver are left for it (see
//! `backend-std/src/pool/deferred.rs`). Every call still gets its own result once, in the
//! order of each thread's calls relative to its `close` and `cancel`, and nothing waits
//! forever.

mod common;

use common::bounded;
use forkpool::{AsyncResult, Error, Pool};
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

fn inc(x: u64) -> u64 {
    x + 1
}

/// Four threads of 20k calls each on two workers: every result is its own call's.
#[test]
fn every_call_of_a_storm_gets_its_own_result() {
    bounded(LIMIT, || {
        let pool = Arc::new(Pool::new(2).unwrap());
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let pool = Arc::clone(&pool);
                std::thread::spawn(move || {
                    let calls: Vec<(u64, AsyncResult<u64>)> = (0..20_000u64)
                        .map(|i| {
                            let x = t * 1_000_000 + i;
                            (x, pool.apply_async(inc, (x,)).unwrap())
                        })
                        .collect();
                    for (x, r) in calls {
                        assert_eq!(r.get_timeout(LIMIT).unwrap(), x + 1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(pool.stats().completed, 80_000);
    });
}

/// `close` right after a loop of calls keeps every call made before it: none is refused
/// as made after the pool closed.
#[test]
fn close_after_a_storm_keeps_every_call_made_before_it() {
    bounded(LIMIT, || {
        let pool = Pool::new(4).unwrap();
        let calls: Vec<_> = (0..50_000u64)
            .map(|x| pool.apply_async(inc, (x,)).unwrap())
            .collect();
        pool.close();
        assert!(matches!(
            pool.apply_async(inc, (0,)),
            Err(Error::PoolNotRunning)
        ));
        for (x, r) in calls.into_iter().enumerate() {
            assert_eq!(r.get_timeout(LIMIT).unwrap(), x as u64 + 1);
        }
        pool.join().unwrap();
    });
}

/// Calls racing another thread's `close`: each gets its value, or fails with
/// `PoolNotRunning` at the call or at `get`; none is lost.
#[test]
fn calls_racing_close_get_a_value_or_pool_not_running() {
    bounded(LIMIT, || {
        let pool = Arc::new(Pool::new(2).unwrap());
        let caller = {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                let mut calls = Vec::new();
                for x in 0u64.. {
                    match pool.apply_async(inc, (x,)) {
                        Ok(r) => calls.push((x, r)),
                        Err(Error::PoolNotRunning) => break,
                        Err(e) => panic!("unexpected error: {e}"),
                    }
                }
                calls
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        pool.close();
        let calls = caller.join().unwrap();
        assert!(!calls.is_empty());
        for (x, r) in calls {
            match r.get_timeout(LIMIT) {
                Ok(v) => assert_eq!(v, x + 1),
                Err(Error::PoolNotRunning) => {}
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        pool.join().unwrap();
    });
}

/// Cancelling calls in the middle of a storm: each cancelled call is cancelled or had
/// finished; every other one gets its value.
#[test]
fn cancels_in_a_storm_cancel_or_find_the_result() {
    bounded(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let calls: Vec<_> = (0..30_000u64)
            .map(|x| {
                let r = pool.apply_async(inc, (x,)).unwrap();
                let cancelled = x % 7 == 0 && r.cancel();
                (x, r, cancelled)
            })
            .collect();
        for (x, r, cancelled) in calls {
            match r.get_timeout(LIMIT) {
                Ok(v) => assert_eq!(v, x + 1),
                Err(Error::Cancelled) if cancelled => {}
                Err(e) => panic!("call {x} (cancelled: {cancelled}): {e}"),
            }
        }
        assert_eq!(
            pool.apply(inc, (1,)).unwrap(),
            2,
            "the pool is still usable"
        );
    });
}
