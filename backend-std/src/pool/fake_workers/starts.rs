//! Starting a pool's workers when starts fail: always, part-way (descriptors running out),
//! or because a worker is killed before it answers.

use super::{bounded, double, eventually, new_log, pool_of};
use crate::error::Error;
use std::sync::atomic::Ordering;

#[test]
fn starts_that_keep_failing_break_the_pool_with_the_cause() {
    bounded(|| {
        let log = new_log();
        log.fail_starts.store(100, Ordering::SeqCst);
        match pool_of(1, &log) {
            Err(Error::PoolBroken { message, .. }) => assert!(message.contains("will not start"), "{message}"),
            other => panic!("unexpected {other:?}"),
        }
        // One failed start, then a good one: the pool starts.
        let log = new_log();
        log.fail_starts.store(1, Ordering::SeqCst);
        let pool = pool_of(1, &log).unwrap();
        assert_eq!(pool.apply(double, (4,)).unwrap(), 8);
    });
}

/// Starts that fail part-way through building a pool (descriptors running out): the build
/// fails, and the workers that did start are stopped and collected. It used to hang: the
/// scheduler, breaking down, took them (started, their `READY` not read yet) for never
/// started, so nothing stopped them and the pool waited on them for ever.
#[test]
fn starts_failing_part_way_stop_the_workers_that_started() {
    bounded(|| {
        let log = new_log();
        log.fail_after.store(2, Ordering::SeqCst);
        assert!(matches!(pool_of(4, &log), Err(Error::PoolBroken { .. })));
        assert_eq!(log.started.load(Ordering::SeqCst), 2);
        assert!(eventually(|| log.alive.load(Ordering::SeqCst) == 0));
        let released = log.released.lock().unwrap().clone();
        assert_eq!(released.len(), 2, "both collected: {released:?}");
    });
}

/// A worker killed while the pool starts, before it could answer (nothing of the pool's
/// ran in it yet): it is replaced like a failed start, and the pool starts. It used to fail
/// `build` with `InitializerFailed` though the pool has no initializer. (Either fake may be
/// the one that dies: the build waits for the first to answer, so the replacement may
/// start during the build or just after.)
#[test]
fn a_worker_killed_while_the_pool_starts_is_replaced() {
    bounded(|| {
        let log = new_log();
        log.die_at_start.store(1, Ordering::SeqCst);
        let pool = pool_of(2, &log).unwrap();
        assert_eq!(pool.map(double, [1u64, 2, 3]).unwrap(), [2, 4, 6]);
        assert!(eventually(|| log.started.load(Ordering::SeqCst) == 3), "one replacement");
        assert!(eventually(|| pool.stats().workers == 2));
        assert_eq!(log.started.load(Ordering::SeqCst), 3);
    });
}

/// Without an initializer, a pool is built once its first worker has answered: the others
/// boot while it runs the first task, and their answers are taken by the driver. It used to
/// wait for every worker's answer.
#[test]
fn a_pool_runs_its_first_task_while_its_other_workers_boot() {
    bounded(|| {
        let log = new_log();
        let held = log.ready_gate.lock().unwrap();
        log.ready_gate_after.store(1, Ordering::SeqCst);
        let pool = pool_of(3, &log).unwrap();
        assert_eq!(pool.apply(double, (4,)).unwrap(), 8);
        drop(held);
        // The late ones answer and take tasks: every task done once, by three workers.
        assert_eq!(pool.map_chunked(double, 0..300, 1).unwrap().len(), 300);
        assert_eq!(pool.stats().workers, 3);
        pool.close();
        pool.join().unwrap();
        assert!(eventually(|| log.alive.load(Ordering::SeqCst) == 0));
        assert_eq!(log.released.lock().unwrap().len(), 3);
    });
}
