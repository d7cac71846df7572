//! Deep pipelines on threads keep crash granularity, as on processes: a thread stopped on
//! purpose (its task ran past its deadline, or was cancelled) cannot be killed, but once
//! its grace runs out it is marked stopped in the result log it shares with the pool and
//! starts none of the chunks queued behind its task; those run once on another thread.

mod common;

use common::{bounded, eventually};
use forkpool::{AsyncOptions, AsyncResult, Error, ThreadPool};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);
const BEHIND: usize = 20;

/// One thread (default settings) and `BEHIND` quick tasks queued behind a task that waits
/// on a gate held here, each counting its runs.
struct Behind {
    pool: ThreadPool,
    quick: Vec<AsyncResult<usize>>,
    runs: Arc<Vec<AtomicUsize>>,
    /// Holds the stuck task until dropped.
    held: std::sync::MutexGuard<'static, ()>,
}

/// The stuck task (started with `opts`), and what is behind it.
fn stuck_with_work_behind(opts: AsyncOptions<()>) -> (AsyncResult<()>, Behind) {
    let pool = ThreadPool::new(1).unwrap();
    let gate: &'static Mutex<()> = Box::leak(Box::new(Mutex::new(())));
    let held = gate.lock().unwrap();
    let stuck = pool
        .apply_async_with(move || drop(gate.lock().unwrap()), (), opts)
        .unwrap();
    let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..BEHIND).map(|_| AtomicUsize::new(0)).collect());
    let quick = (0..BEHIND)
        .map(|i| {
            let runs = Arc::clone(&runs);
            pool.apply_async(
                move || {
                    runs[i].fetch_add(1, Ordering::SeqCst);
                    i
                },
                (),
            )
            .unwrap()
        })
        .collect();
    let behind = Behind {
        pool,
        quick,
        runs,
        held,
    };
    (stuck, behind)
}

impl Behind {
    /// Once the stuck task's thread was stopped: each task behind it succeeds, having run
    /// once; the thread let go ends when the gate opens, without starting anything, and a
    /// replacement serves.
    fn each_ran_once(self) {
        let Behind {
            pool,
            quick,
            runs,
            held,
        } = self;
        for (i, q) in quick.into_iter().enumerate() {
            assert_eq!(q.get().unwrap(), i, "task {i} behind the stopped one");
        }
        for (i, r) in runs.iter().enumerate() {
            assert_eq!(r.load(Ordering::SeqCst), 1, "task {i} ran once");
        }
        drop(held);
        assert!(eventually(Duration::from_secs(10), || pool.stats().workers == 1));
        assert_eq!(
            runs.iter().map(|r| r.load(Ordering::SeqCst)).sum::<usize>(),
            BEHIND
        );
    }
}

#[test]
fn tasks_behind_one_past_its_deadline_run_once_elsewhere() {
    bounded(LIMIT, || {
        let opts = AsyncOptions::new().timeout(Duration::from_millis(100));
        let (stuck, behind) = stuck_with_work_behind(opts);
        assert!(matches!(stuck.get(), Err(Error::TimedOut { .. })));
        behind.each_ran_once();
    });
}

#[test]
fn tasks_behind_a_cancelled_one_run_once_elsewhere() {
    bounded(LIMIT, || {
        let (stuck, behind) = stuck_with_work_behind(AsyncOptions::new());
        // Cancelled with quick tasks held behind it on its thread (it holds the thread
        // until the gate opens).
        assert!(eventually(Duration::from_secs(10), || behind
            .pool
            .stats()
            .running
            > 1));
        stuck.cancel();
        behind.each_ran_once();
    });
}
