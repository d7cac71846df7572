//! Issue 16, item 6: a `Pool` reached from a fork of its owner (a `Process` child that
//! captured it) refuses every method with `Error::NotOwner` and touches nothing: it does not
//! signal the owner's workers, put anything into the owner's streams, or wait on the
//! owner's driver; dropping it there signals nothing either.

mod common;

use common::bounded;
use forkpool::{Error, Pool, Process};
use std::cell::RefCell;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn refused<T>(r: forkpool::Result<T>) -> bool {
    matches!(r, Err(Error::NotOwner { .. }))
}

#[test]
fn a_fork_of_the_owner_cannot_use_or_stop_the_pool() {
    bounded(LIMIT, || {
        let pool = RefCell::new(Some(Pool::new(2).unwrap()));
        let (before, running, pending) = {
            let p = pool.borrow();
            let p = p.as_ref().unwrap();
            let running = p.apply_async(nap, (300,)).unwrap();
            let pending = p.apply_async(nap, (1,)).unwrap();
            (p.pids(), running, pending)
        };
        let seen = Process::spawn(|| {
            let mut seen = Vec::new();
            let guard = pool.borrow();
            let p = guard.as_ref().unwrap();
            seen.push(refused(p.apply(nap, (1,))));
            seen.push(refused(p.map(nap, [1, 2])));
            seen.push(refused(p.imap(nap, [1]).map(|_| ())));
            seen.push(p.pids().is_empty());
            p.terminate();
            p.close();
            seen.push(refused(p.join()));
            seen.push(!running.ready() && refused(running.get_timeout(Duration::ZERO)));
            drop(guard);
            drop(pool.borrow_mut().take()); // the child's copy only
            seen
        })
        .unwrap()
        .join_timeout(LIMIT)
        .unwrap();
        assert_eq!(seen, [true; 6]);
        // The owner's pool saw nothing of it.
        assert_eq!(running.get().unwrap(), 300);
        assert_eq!(pending.get().unwrap(), 1);
        let p = pool.borrow_mut().take().unwrap();
        assert_eq!(p.pids(), before, "no worker was signalled");
        assert_eq!(p.apply(nap, (2,)).unwrap(), 2);
    });
}
