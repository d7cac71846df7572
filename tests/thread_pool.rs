//! `ThreadPool` (issue 17, deliverable 3): `Pool`'s methods and shapes on threads, driven
//! by the same engine and scheduler; capturing closures and values without serde; a
//! panicking task fails alone.

mod common;

use common::{bounded, eventually, no_leaks};
use forkpool::{AsyncOptions, Error, Pool, ThreadPool};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn square(x: u64) -> u64 {
    x * x
}

fn add(a: u64, b: u64) -> u64 {
    a + b
}

/// The same body for both pools: switching is one word.
macro_rules! every_method {
    ($pool:expr) => {{
        let pool = $pool;
        assert_eq!(pool.apply(add, (2, 3)).unwrap(), 5);
        assert_eq!(pool.apply_async(square, (7,)).unwrap().get().unwrap(), 49);
        assert_eq!(pool.map(square, 1..=4).unwrap(), [1, 4, 9, 16]);
        assert_eq!(
            pool.map_chunked(square, 1..=5, 2).unwrap(),
            [1, 4, 9, 16, 25]
        );
        assert_eq!(
            pool.map_async(square, 0..3).unwrap().get().unwrap(),
            [0, 1, 4]
        );
        assert_eq!(pool.starmap(add, [(1, 2), (3, 4)]).unwrap(), [3, 7]);
        assert_eq!(pool.starmap_chunked(add, [(1, 1)], 4).unwrap(), [2]);
        assert_eq!(
            pool.starmap_async(add, [(5, 5)]).unwrap().get().unwrap(),
            [10]
        );
        let ordered: Vec<u64> = pool
            .imap(square, 0..100)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(ordered, (0..100).map(square).collect::<Vec<_>>());
        let chunked: Vec<u64> = pool
            .imap_chunked(square, 0..10, 3)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(chunked, (0..10).map(square).collect::<Vec<_>>());
        let mut unordered: Vec<u64> = pool
            .imap_unordered(square, 0..50)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        unordered.sort();
        assert_eq!(unordered, (0..50).map(square).collect::<Vec<_>>());
        let seen = Arc::new(Mutex::new(None));
        let saw = Arc::clone(&seen);
        let r = pool
            .map_async_with(
                square,
                [3u64],
                AsyncOptions::new().callback(move |v: &Vec<u64>| *saw.lock().unwrap() = Some(v[0])),
            )
            .unwrap();
        assert_eq!(r.get().unwrap(), [9]);
        assert_eq!(*seen.lock().unwrap(), Some(9));
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.running, stats.failed), (0, 0, 0));
        pool.close();
        assert!(matches!(pool.map(square, [1]), Err(Error::PoolNotRunning)));
        pool.join().unwrap();
    }};
}

#[test]
fn every_method_of_pool_works_on_threads_with_the_same_code() {
    bounded(LIMIT, || {
        every_method!(Pool::new(2).unwrap());
        every_method!(ThreadPool::new(2).unwrap());
    });
}

#[test]
fn new_refuses_zero_threads() {
    assert!(matches!(ThreadPool::new(0), Err(Error::InvalidArgument(_))));
}

/// Closures capture, and values need no serde: a `Mutex` and an `Arc` reach the task and
/// come back.
#[test]
fn capturing_closures_and_values_without_serde() {
    bounded(LIMIT, || {
        struct Plain(Vec<u8>); // no serde
        let pool = ThreadPool::new(3).unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&hits);
        let out = pool
            .map(
                move |p: Plain| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    Plain(p.0.iter().map(|b| b + 1).collect())
                },
                (0..20u8).map(|i| Plain(vec![i])),
            )
            .unwrap();
        assert_eq!(
            out.iter().map(|p| p.0[0]).collect::<Vec<_>>(),
            (1..21).collect::<Vec<u8>>()
        );
        assert_eq!(hits.load(Ordering::SeqCst), 20);
        let shared = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&shared);
        pool.apply(move |x: u32| s.lock().unwrap().push(x), (5,))
            .unwrap();
        assert_eq!(*shared.lock().unwrap(), [5]);
        let r: Arc<str> = pool
            .apply(|s: String| Arc::from(s), ("x".to_string(),))
            .unwrap();
        assert_eq!(&*r, "x");
    });
}

/// A panicking task fails alone, with its message and where it panicked; the pool carries
/// on with the same number of threads.
#[test]
fn a_panicking_task_fails_alone() {
    bounded(LIMIT, || {
        let pool = ThreadPool::new(2).unwrap();
        let got: Vec<_> = pool
            .imap(
                |x: u32| {
                    if x == 3 {
                        panic!("three is right out");
                    }
                    x
                },
                0..6,
            )
            .unwrap()
            .collect();
        for (i, r) in got.iter().enumerate() {
            match r {
                Ok(v) => assert_eq!(*v as usize, i),
                Err(Error::Panicked {
                    message, location, ..
                }) => {
                    assert_eq!(i, 3);
                    assert_eq!(message, "three is right out");
                    assert!(location.as_deref().unwrap_or("").contains("thread_pool.rs"));
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert!(got[3].is_err());
        assert_eq!(pool.apply(add, (1, 1)).unwrap(), 2);
        assert_eq!(pool.stats().failed, 1);
        assert!(eventually(Duration::from_secs(10), || pool.stats().workers == 2));
    });
}

#[test]
fn the_initializer_runs_on_every_thread() {
    bounded(LIMIT, || {
        use std::cell::Cell;
        thread_local! { static BASE: Cell<u64> = const { Cell::new(0) }; }
        let starts = Arc::new(AtomicUsize::new(0));
        let s = Arc::clone(&starts);
        let pool = ThreadPool::builder()
            .processes(3)
            .initializer(
                move |b: u64| {
                    s.fetch_add(1, Ordering::SeqCst);
                    BASE.set(b)
                },
                (100,),
            )
            .build()
            .unwrap();
        assert_eq!(starts.load(Ordering::SeqCst), 3);
        let got = pool.map(|x: u64| BASE.get() + x, 0..30).unwrap();
        assert_eq!(got, (100..130).collect::<Vec<_>>());

        let failed = ThreadPool::builder()
            .processes(1)
            .initializer(|| panic!("no setup today"), ())
            .build();
        match failed {
            Err(Error::InitializerFailed { message }) => {
                assert!(message.contains("no setup today"), "{message}")
            }
            other => panic!("unexpected {other:?}"),
        }
    });
}

/// `maxtasksperchild`: a worker thread is replaced by a fresh one (a new thread id).
#[test]
fn maxtasksperchild_replaces_threads() {
    bounded(LIMIT, || {
        let pool = ThreadPool::builder()
            .processes(1)
            .maxtasksperchild(2)
            .build()
            .unwrap();
        let ids: Vec<_> = (0..6)
            .map(|_| {
                pool.apply(|| format!("{:?}", std::thread::current().id()), ())
                    .unwrap()
            })
            .collect();
        let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), 3, "{ids:?}");
        // The sixth task's worker is replaced after it, too.
        assert!(eventually(Duration::from_secs(10), || pool
            .stats()
            .restarts
            == 3));
    });
}

/// A task past its deadline fails with `TimedOut` at once; its thread is let go and
/// replaced, and the other tasks carry on.
#[test]
fn a_task_past_its_deadline_times_out_and_the_pool_carries_on() {
    bounded(LIMIT, || {
        let pool = ThreadPool::new(2).unwrap();
        let release = Arc::new(Mutex::new(()));
        let held = release.lock().unwrap();
        let gate = Arc::clone(&release);
        let stuck = pool
            .apply_async_with(
                move || drop(gate.lock().unwrap()),
                (),
                AsyncOptions::new().timeout(Duration::from_millis(50)),
            )
            .unwrap();
        assert!(matches!(stuck.get(), Err(Error::TimedOut { .. })));
        assert_eq!(pool.map(square, 0..10).unwrap().len(), 10);
        drop(held); // the thread that was let go ends now
        assert!(eventually(Duration::from_secs(10), || pool.stats().workers == 2));
    });
}

/// `terminate` fails what is pending at once, even with a task still running (which a
/// thread cannot be stopped in): `join` returns and the running task's values go.
#[test]
fn terminate_does_not_wait_for_a_running_task() {
    bounded(LIMIT, || {
        let pool = ThreadPool::new(1).unwrap();
        let release = Arc::new(Mutex::new(()));
        let held = release.lock().unwrap();
        let gate = Arc::clone(&release);
        let running = pool
            .apply_async(move || drop(gate.lock().unwrap()), ())
            .unwrap();
        let queued = pool.apply_async(square, (2,)).unwrap();
        pool.terminate();
        pool.join().unwrap();
        assert!(matches!(running.get(), Err(Error::Terminated)));
        assert!(matches!(queued.get(), Err(Error::Terminated)));
        drop(held);
    });
}

/// `imap` is lazy on threads too (an endless input), and what an iterator dropped early
/// leaves (tasks not run, results not taken) is dropped with it.
#[test]
fn imap_is_lazy_and_drops_what_is_left_with_the_iterator() {
    bounded(LIMIT, || {
        let pool = ThreadPool::new(2).unwrap();
        let alive = Arc::new(());
        let token = Arc::clone(&alive);
        let first: Vec<usize> = pool
            .imap(
                |(n, _t): (usize, Arc<()>)| n,
                (0..).map(move |n| (n, Arc::clone(&token))),
            )
            .unwrap()
            .take(10)
            .map(Result::unwrap)
            .collect();
        assert_eq!(first, (0..10).collect::<Vec<_>>());
        // Every clone of the token was in an item, a task or the input: all gone.
        assert!(eventually(Duration::from_secs(10), || Arc::strong_count(
            &alive
        ) == 1));
    });
}

/// No descriptor or thread is left behind once a thread pool is dropped.
#[test]
fn dropping_a_thread_pool_leaks_no_descriptor() {
    let (fds, _) = no_leaks(|| {
        let me = std::process::id();
        let threads = || {
            std::fs::read_dir(format!("/proc/{me}/task"))
                .unwrap()
                .count()
        };
        let before = threads();
        let pool = ThreadPool::new(3).unwrap();
        assert_eq!(pool.map(square, 0..100).unwrap().len(), 100);
        drop(pool);
        // The worker threads leave once their sockets close (they are let go, not
        // joined): every one of them, with its descriptors.
        assert!(
            eventually(Duration::from_secs(10), || threads() <= before),
            "{} threads, {before} before",
            threads()
        );
    });
    assert!(fds);
}

#[test]
fn debug_shows_threads_and_phase() {
    let pool = ThreadPool::new(2).unwrap();
    let text = format!("{pool:?}");
    assert!(
        text.starts_with("ThreadPool { threads: 2, phase: \"Running\""),
        "{text}"
    );
    let it = pool.imap(square, 0..3).unwrap();
    assert!(format!("{it:?}").contains("ThreadIMap"));
}

/// The caller's iterator panics part-way through a `map` on threads: the panic reaches the
/// caller, the tasks already taken from it are dropped (their arguments with them), and
/// the pool serves later calls, closes and joins.
#[test]
fn a_panicking_input_iterator_leaves_the_thread_pool_usable() {
    bounded(Duration::from_secs(60), || {
        let pool = ThreadPool::new(2).unwrap();
        let held = Arc::new(());
        let inputs = {
            let held = Arc::clone(&held);
            (0..10_000u64).map(move |x| {
                assert!(x != 7000, "unlucky input");
                (x, Arc::clone(&held))
            })
        };
        let first = |(x, _held): (u64, Arc<()>)| x;
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            drop(pool.map(first, inputs));
        }));
        assert!(panicked.is_err());
        // What was taken from the iterator before it panicked is not kept.
        assert!(eventually(Duration::from_secs(10), || Arc::strong_count(
            &held
        ) == 1));
        assert_eq!(pool.map(square, 0..4).unwrap(), vec![0, 1, 4, 9]);
        pool.close();
        pool.join().unwrap();
    });
}
