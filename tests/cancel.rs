//! Cancelling an `AsyncResult`: a queued task is dropped, a running one has its worker
//! killed and replaced; other tasks carry on and the pool stays usable.

mod common;

use common::bounded;
use forkpool::{Error, Pool};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn sleepy(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

#[test]
fn cancel_a_running_task_kills_its_worker_only() {
    let pool = Pool::new(2).unwrap();
    let long = pool.apply_async(sleepy, (60_000,)).unwrap();
    let other = pool.apply_async(sleepy, (300,)).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let before = pool.pids();
    assert!(long.cancel());
    bounded(LIMIT, move || {
        assert!(matches!(long.get(), Err(Error::Cancelled)));
        assert_eq!(
            other.get().unwrap(),
            300,
            "the other worker's task is untouched"
        );
        assert_eq!(
            pool.apply(sleepy, (1,)).unwrap(),
            1,
            "the pool is still usable"
        );
        // The replacement starts off the pool's lock: it is up shortly after.
        assert!(common::eventually(Duration::from_secs(10), || pool
            .pids()
            .len()
            == 2));
        let after = pool.pids();
        assert_eq!(
            before.iter().filter(|p| after.contains(p)).count(),
            1,
            "one worker replaced"
        );
    });
}

#[test]
fn cancel_a_queued_task_drops_it() {
    let pool = Pool::new(1).unwrap();
    let busy = pool.apply_async(sleepy, (300,)).unwrap();
    let queued = pool.map_async(sleepy, [1, 2, 3]).unwrap();
    let pids = pool.pids();
    assert!(queued.cancel());
    bounded(LIMIT, move || {
        assert!(matches!(queued.get(), Err(Error::Cancelled)));
        assert_eq!(busy.get().unwrap(), 300);
        assert_eq!(pool.pids(), pids, "no worker was killed for a queued task");
    });
}

#[test]
fn cancel_after_ready_is_a_no_op() {
    let pool = Pool::new(1).unwrap();
    let r = pool.apply_async(sleepy, (1,)).unwrap();
    r.wait();
    assert!(!r.cancel());
    assert_eq!(r.get().unwrap(), 1);
}
