//! `Pool::stats`: tasks queued, running, completed and failed; workers and restarts.

mod common;

use common::bounded;
use forkpool::{Pool, PoolStats};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn boom(x: u64) -> u64 {
    if x == 1 {
        std::process::abort();
    }
    if x == 2 {
        panic!("two");
    }
    x
}

#[test]
fn stats_count_tasks_workers_and_restarts() {
    let (busy, done) = bounded(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let slow = pool.map_async(nap, [300, 300, 1, 1, 1]).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let busy = pool.stats();
        slow.get().unwrap();
        let _ = pool.map_chunked(boom, [0, 1, 2, 3], 1);
        common::eventually(Duration::from_secs(10), || pool.stats().workers == 2);
        (busy, pool.stats())
    });
    assert_eq!((busy.running, busy.queued), (2, 3), "{busy:?}");
    assert_eq!(busy.completed, 0, "{busy:?}");
    let PoolStats {
        completed,
        failed,
        queued,
        running,
        workers,
        restarts,
        ..
    } = done;
    assert_eq!(
        (completed, failed, queued, running),
        (7, 2, 0, 0),
        "{done:?}"
    );
    assert_eq!((workers, restarts), (2, 1), "{done:?}");
}
