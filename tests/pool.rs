//! `Pool` behaviour, mirroring CPython's `Lib/test/_test_multiprocessing.py` pool tests
//! (named in each test's doc line) where they make sense in Rust.

mod common;

use common::bounded;
use forkpool::{AsyncOptions, Error, Pool};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn sqr(x: i64) -> i64 {
    x * x
}

fn sqr_slow(x: i64, ms: u64) -> i64 {
    std::thread::sleep(Duration::from_millis(ms));
    x * x
}

fn mul(a: i64, b: i64) -> i64 {
    a * b
}

fn pid(_: u32) -> u32 {
    std::process::id()
}

/// Mirrors `_TestPool.test_apply`.
#[test]
fn apply() {
    let pool = Pool::new(2).unwrap();
    assert_eq!(pool.apply(sqr, (5,)).unwrap(), 25);
    assert_eq!(pool.apply(mul, (6, 7)).unwrap(), 42);
    assert_eq!(pool.apply(|| 7u8, ()).unwrap(), 7);
}

/// Mirrors `_TestPool.test_map` and `test_map_chunksize`.
#[test]
fn map_in_input_order_with_any_chunk_size() {
    let pool = Pool::new(3).unwrap();
    let want: Vec<i64> = (0..100).map(|x| x * x).collect();
    assert_eq!(pool.map(sqr, 0..100).unwrap(), want);
    for chunk in [1, 7, 100, 1000] {
        assert_eq!(
            pool.map_chunked(sqr, 0..100, chunk).unwrap(),
            want,
            "chunksize {chunk}"
        );
    }
}

/// Mirrors `_TestPool.test_starmap` and `test_starmap_async`.
#[test]
fn starmap_unpacks_tuples() {
    let pool = Pool::new(2).unwrap();
    let pairs: Vec<(i64, i64)> = (0..10).map(|i| (i, i + 1)).collect();
    let want: Vec<i64> = pairs.iter().map(|(a, b)| a * b).collect();
    assert_eq!(pool.starmap(mul, pairs.clone()).unwrap(), want);
    assert_eq!(pool.starmap_chunked(mul, pairs.clone(), 3).unwrap(), want);
    assert_eq!(pool.starmap_async(mul, pairs).unwrap().get().unwrap(), want);
}

/// Mirrors `_TestPool.test_empty_iterable`.
#[test]
fn empty_inputs() {
    let pool = Pool::new(2).unwrap();
    assert!(pool.map(sqr, Vec::new()).unwrap().is_empty());
    assert!(pool.starmap(mul, Vec::new()).unwrap().is_empty());
    assert_eq!(pool.imap(sqr, Vec::new()).unwrap().count(), 0);
    assert_eq!(pool.imap_unordered(sqr, Vec::new()).unwrap().count(), 0);
    assert!(
        pool.map_async(sqr, Vec::new())
            .unwrap()
            .get()
            .unwrap()
            .is_empty()
    );
}

/// Mirrors `_TestPool.test_async_timeout`: a get with a time limit can wait again.
#[test]
fn get_with_timeout_then_wait_again() {
    let pool = Pool::new(1).unwrap();
    let r = pool.apply_async(sqr_slow, (3, 300)).unwrap();
    assert!(matches!(
        r.get_timeout(Duration::from_millis(10)),
        Err(Error::Timeout)
    ));
    assert!(!r.ready());
    assert_eq!(r.successful(), None);
    assert!(r.wait_timeout(LIMIT));
    assert_eq!(r.successful(), Some(true));
    assert_eq!(r.get_timeout(LIMIT).unwrap(), 9);
}

/// Mirrors `_TestPool.test_async` callbacks: each fires exactly once.
#[test]
fn callbacks_fire_exactly_once() {
    fn fail(_: i64) -> i64 {
        panic!("nope")
    }
    let pool = Pool::new(2).unwrap();
    let ok = Arc::new(AtomicUsize::new(0));
    let err = Arc::new(AtomicUsize::new(0));
    let (o, e) = (Arc::clone(&ok), Arc::clone(&err));
    let r = pool
        .map_async_with(
            sqr,
            0..20,
            AsyncOptions::new()
                .chunksize(3)
                .callback(move |v: &Vec<i64>| {
                    assert_eq!(v.len(), 20);
                    o.fetch_add(1, Ordering::SeqCst);
                }),
        )
        .unwrap();
    assert_eq!(r.get().unwrap().len(), 20);
    let r = pool
        .apply_async_with(
            fail,
            (1,),
            AsyncOptions::new().error_callback(move |e| {
                assert!(matches!(e, Error::Panicked { .. }));
                e.to_string();
                err.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
    assert!(matches!(r.get(), Err(Error::Panicked { .. })));
    assert_eq!(
        (ok.load(Ordering::SeqCst), e.load(Ordering::SeqCst)),
        (1, 1)
    );
}

/// A callback may submit work to the same pool without deadlocking.
#[test]
fn callback_can_use_the_pool() {
    let pool = Arc::new(Pool::new(2).unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let p = Arc::clone(&pool);
    let _r = pool
        .apply_async_with(
            sqr,
            (3,),
            AsyncOptions::new().callback(move |v: &i64| {
                let _ = tx.send(p.apply_async(sqr, (*v,)).and_then(|r| r.get()));
            }),
        )
        .unwrap();
    assert_eq!(rx.recv_timeout(LIMIT).unwrap().unwrap(), 81);
}

/// Mirrors `_TestPool.test_context` / errors after close: new work is refused.
#[test]
fn methods_after_close_or_terminate_fail() {
    let pool = Pool::new(2).unwrap();
    let pending = pool.map_async(sqr, 0..10).unwrap();
    pool.close();
    assert!(matches!(pool.apply(sqr, (1,)), Err(Error::PoolNotRunning)));
    assert!(matches!(pool.map(sqr, 0..3), Err(Error::PoolNotRunning)));
    assert!(pool.imap(sqr, 0..3).is_err());
    bounded(LIMIT, move || {
        pool.join().unwrap();
        assert_eq!(
            pending.get().unwrap().len(),
            10,
            "close + join finishes submitted work"
        );
        pool.terminate();
        assert!(matches!(pool.apply(sqr, (1,)), Err(Error::PoolNotRunning)));
    });
}

/// `join` before `close` is an error, as in Python.
#[test]
fn join_needs_close() {
    let pool = Pool::new(1).unwrap();
    assert!(matches!(pool.join(), Err(Error::StillRunning)));
}

/// Mirrors `_TestPool.test_terminate`: pending results resolve to an error, not a hang.
#[test]
fn terminate_resolves_everything_pending() {
    let pool = Pool::new(2).unwrap();
    let slow = pool.map_async(sqr_slow_one, 0..8).unwrap();
    let r = pool.apply_async(sqr_slow, (1, 10_000)).unwrap();
    let mut it = pool.imap(sqr_slow_one, 0..).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    bounded(LIMIT, move || {
        pool.terminate();
        assert!(matches!(r.get(), Err(Error::Terminated)));
        assert!(slow.get().is_err());
        assert!(it.next().unwrap().is_err());
        pool.join().unwrap();
    });
}

fn sqr_slow_one(x: i64) -> i64 {
    sqr_slow(x, 5_000)
}

/// Mirrors `_TestPoolWorkerLifetime.test_pool_worker_lifetime`.
#[test]
fn maxtasksperchild_replaces_workers() {
    let pool = Pool::builder()
        .processes(2)
        .maxtasksperchild(2)
        .build()
        .unwrap();
    let pids = pool.map_chunked(pid, 0..20, 1).unwrap();
    let distinct: std::collections::BTreeSet<_> = pids.iter().collect();
    assert!(
        distinct.len() >= 10,
        "each worker ran at most 2 tasks: {} distinct",
        distinct.len()
    );
}

static INIT_BASE: AtomicUsize = AtomicUsize::new(0);

fn init(base: usize) {
    INIT_BASE.store(base, Ordering::SeqCst);
}

fn read_base(_: u8) -> usize {
    INIT_BASE.load(Ordering::SeqCst)
}

/// Mirrors `_TestInitializers.test_pool_initializer`: it runs in every worker.
#[test]
fn initializer_runs_in_every_worker() {
    let pool = Pool::builder()
        .processes(3)
        .initializer(init, (42,))
        .maxtasksperchild(1)
        .build()
        .unwrap();
    assert!(
        pool.map_chunked(read_base, 0..9, 1)
            .unwrap()
            .iter()
            .all(|&b| b == 42)
    );
}

fn bad_init() {
    panic!("no config file")
}

/// A failing initializer makes `build` fail with its message; no respawn loop.
#[test]
fn failing_initializer_fails_build() {
    let err = bounded(LIMIT, || {
        Pool::builder()
            .processes(2)
            .initializer(bad_init, ())
            .build()
            .err()
    });
    match err {
        Some(Error::InitializerFailed { message }) => {
            assert!(message.contains("no config file"), "{message}")
        }
        other => panic!("expected InitializerFailed, got {other:?}"),
    }
}

#[test]
fn zero_processes_is_an_error() {
    assert!(matches!(Pool::new(0), Err(Error::InvalidArgument(_))));
}

/// The pool is `Send + Sync` and works from many threads at once.
#[test]
fn used_from_many_threads() {
    let pool = Arc::new(Pool::new(2).unwrap());
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                for i in 0..20 {
                    assert_eq!(pool.apply(mul, (t, i)).unwrap(), t * i);
                }
                pool.map(sqr, 0..30).unwrap().len()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 30);
    }
}

fn echo(v: Vec<u8>) -> Vec<u8> {
    v
}

/// Deep pipelines of big arguments and results complete: the driver never blocks on a full
/// worker socket (a driver blocked sending work to a worker blocked sending results would
/// deadlock).
#[test]
fn deep_pipeline_with_big_messages_does_not_deadlock() {
    let pool = Pool::builder()
        .processes(2)
        .pipeline_depth(8)
        .build()
        .unwrap();
    let items: Vec<Vec<u8>> = (0..400).map(|i| vec![i as u8; 64 * 1024]).collect();
    let got = bounded(LIMIT, move || pool.map_chunked(echo, items, 4).unwrap());
    assert_eq!(got.len(), 400);
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, v)| v.len() == 64 * 1024 && v[0] == i as u8)
    );
}
