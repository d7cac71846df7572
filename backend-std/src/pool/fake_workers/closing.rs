//! Closing a pool: its idle workers are told to exit from the caller's thread.

use super::{bounded, double, eventually, new_log, pool_of};
use std::sync::atomic::Ordering;

/// `close` tells idle workers to exit at once, from the caller's thread, while the driver
/// may be reading their sockets from a list made before. Their hang-up then ends a departure:
/// the driver must not take it for a death and ask how the worker ended (a reap that waits
/// for the process to be gone, on the driver's thread, and a worker reaped without being
/// released).
#[test]
fn workers_told_to_exit_by_close_are_released_not_looked_into_as_deaths() {
    bounded(|| {
        for _ in 0..20 {
            let log = new_log();
            let pool = pool_of(3, &log).unwrap();
            assert_eq!(pool.map_chunked(double, 0..30, 1).unwrap().len(), 30);
            pool.close();
            pool.join().unwrap();
            assert!(eventually(|| log.alive.load(Ordering::SeqCst) == 0));
            assert_eq!(log.exit_causes.load(Ordering::SeqCst), 0);
            let released = log.released.lock().unwrap().clone();
            assert_eq!(released.len(), 3, "{released:?}");
            assert!(released.iter().all(|&(_, kill)| !kill), "{released:?}");
        }
    });
}
