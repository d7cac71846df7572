//! Locks, semaphores, conditions and events between processes (issue 20), mirroring
//! CPython's `_TestLock`, `_TestSemaphore`, `_TestCondition` and `_TestEvent` (each test
//! names the one it mirrors), plus what Python does not handle: a holder that dies.

mod common;

use common::bounded;
use forkpool::{
    BoundedSemaphore, Condition, Error, Event, Lock, Pool, Process, RLock, Semaphore, Value,
};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);
const LONG: Duration = Duration::from_secs(30);

/// `_TestLock.test_lock`: acquire, a second acquire fails (here: `try_lock` from another
/// process), release, acquire again.
#[test]
fn test_lock() {
    bounded(LIMIT, || {
        let lock = Lock::new().unwrap();
        let held = lock.lock().unwrap();
        let other = lock.clone();
        let busy =
            Process::spawn(move || other.try_lock().map(|g| g.is_some()).unwrap_or(true)).unwrap();
        assert!(!busy.join().unwrap(), "another process took a held lock");
        // On the same thread: an error, not a deadlock.
        assert!(matches!(lock.lock(), Err(Error::InvalidArgument(_))));
        drop(held);
        assert!(lock.try_lock().unwrap().is_some());
        assert!(matches!(
            {
                let _g = lock.lock().unwrap();
                let other = lock.clone();
                Process::spawn(move || other.lock_timeout(Duration::from_millis(50)).is_err())
                    .unwrap()
                    .join()
            },
            Ok(true)
        ));
    });
}

/// `_TestLock.test_rlock`: the holder takes it again; free once every guard is gone.
#[test]
fn test_rlock() {
    bounded(LIMIT, || {
        let r = RLock::new().unwrap();
        let a = r.lock().unwrap();
        let b = r.lock().unwrap();
        let c = r.lock().unwrap();
        assert_eq!(r.depth(), 3);
        let other = r.clone();
        let busy = Process::spawn(move || other.try_lock().unwrap().is_some()).unwrap();
        assert!(!busy.join().unwrap());
        drop((a, b, c));
        assert_eq!(r.depth(), 0);
        let other = r.clone();
        assert!(
            Process::spawn(move || other.try_lock().unwrap().is_some())
                .unwrap()
                .join()
                .unwrap()
        );
    });
}

/// `_TestLock.test_lock_context`, across pool workers: a lock around a read-modify-write
/// of a shared value keeps every increment.
#[test]
fn test_lock_context() {
    bounded(LIMIT, || {
        fn add(lock: Lock, total: Value<u64>) {
            for _ in 0..100 {
                let _held = lock.lock().unwrap();
                let v = total.load();
                std::thread::yield_now();
                total.store(v + 1);
            }
        }
        let (lock, total) = (Lock::new().unwrap(), Value::new(0u64).unwrap());
        let pool = Pool::new(4).unwrap();
        pool.starmap(add, (0..8).map(|_| (lock.clone(), total.clone())))
            .unwrap();
        assert_eq!(total.load(), 800);
    });
}

/// Not in Python: a process that dies holding a lock is named to the next acquirer, once;
/// then the lock works again.
#[test]
fn a_lock_whose_holder_died_is_reported_then_usable() {
    bounded(LIMIT, || {
        for reentrant in [false, true] {
            let (lock, rlock) = (Lock::new().unwrap(), RLock::new().unwrap());
            let (l, r) = (lock.clone(), rlock.clone());
            let taken = Event::new().unwrap();
            let t = taken.clone();
            let child = Process::<()>::spawn(move || {
                let _a = l.lock().unwrap();
                let _b = r.lock().unwrap();
                t.set().unwrap();
                std::process::abort();
            })
            .unwrap();
            assert!(taken.wait_timeout(LONG));
            let pid = child.pid();
            assert!(child.join().is_err());
            let first = if reentrant {
                rlock.lock().map(drop)
            } else {
                lock.lock().map(drop)
            };
            assert!(
                matches!(first, Err(Error::OwnerDied { pid: p }) if p == pid),
                "{first:?}"
            );
            assert!(lock.lock().is_ok() || reentrant);
            assert!(rlock.lock().is_ok() || !reentrant);
        }
    });
}

/// Not in Python: a pool worker killed (its task ran past its deadline) while holding a
/// lock does not deadlock the next task that needs it.
#[test]
fn a_worker_killed_holding_a_lock_does_not_deadlock_the_pool() {
    bounded(LIMIT, || {
        fn hold_forever(lock: Lock) {
            let _held = lock.lock().unwrap();
            std::thread::sleep(Duration::from_secs(600));
        }
        fn take(lock: Lock) -> String {
            match lock.lock_timeout(Duration::from_secs(20)) {
                Ok(_) => "taken".into(),
                Err(Error::OwnerDied { .. }) => "owner died".into(),
                Err(e) => format!("{e}"),
            }
        }
        let lock = Lock::new().unwrap();
        let pool = Pool::new(2).unwrap();
        let opts = forkpool::AsyncOptions::new().timeout(Duration::from_millis(300));
        let stuck = pool
            .apply_async_with(hold_forever, (lock.clone(),), opts)
            .unwrap();
        assert!(matches!(stuck.get(), Err(Error::TimedOut { .. })));
        assert_eq!(pool.apply(take, (lock.clone(),)).unwrap(), "owner died");
        assert_eq!(pool.apply(take, (lock,)).unwrap(), "taken");
    });
}

/// `_TestSemaphore.test_semaphore`: counts down to 0, then acquires fail until a release.
#[test]
fn test_semaphore() {
    bounded(LIMIT, || {
        let s = Semaphore::new(2).unwrap();
        assert_eq!(s.value(), 2);
        s.acquire().unwrap();
        assert_eq!(s.value(), 1);
        assert!(s.try_acquire().unwrap());
        assert!(!s.try_acquire().unwrap());
        let other = s.clone();
        let child = Process::spawn(move || other.release().is_ok()).unwrap();
        assert!(child.join().unwrap());
        assert!(s.acquire_timeout(LONG).unwrap());
        assert_eq!(s.value(), 0);
    });
}

/// `_TestSemaphore.test_bounded_semaphore`: one release too many is an error.
#[test]
fn test_bounded_semaphore() {
    let s = BoundedSemaphore::new(2).unwrap();
    s.acquire().unwrap();
    s.release().unwrap();
    assert!(matches!(s.release(), Err(Error::InvalidArgument(_))));
    assert_eq!(s.value(), 2);
}

/// `_TestSemaphore.test_timeout`: an acquire with a time limit gives up.
#[test]
fn test_semaphore_timeout() {
    let s = Semaphore::new(0).unwrap();
    let t = std::time::Instant::now();
    assert!(!s.acquire_timeout(Duration::from_millis(100)).unwrap());
    assert!(t.elapsed() >= Duration::from_millis(90));
}

/// `_TestCondition.test_notify` and `test_notify_all`: waiters in other processes wake.
#[test]
fn test_notify_and_notify_all() {
    bounded(LIMIT, || {
        let cond = Condition::new(Lock::new().unwrap()).unwrap();
        let go = Value::new(0u32).unwrap();
        let waiting = Semaphore::new(0).unwrap();
        let children: Vec<_> = (0..3)
            .map(|_| {
                let (c, g, w) = (cond.clone(), go.clone(), waiting.clone());
                Process::spawn(move || {
                    let guard = c.lock().unwrap();
                    w.release().unwrap();
                    let (_guard, ok) = c.wait_for(guard, || g.load() > 0, Some(LONG)).unwrap();
                    ok
                })
                .unwrap()
            })
            .collect();
        for _ in 0..3 {
            assert!(waiting.acquire_timeout(LONG).unwrap());
        }
        {
            let _g = cond.lock().unwrap();
            go.store(1);
            cond.notify_one();
            cond.notify_all();
        }
        for c in children {
            assert!(c.join().unwrap());
        }
    });
}

/// `_TestCondition.test_timeout` and `test_waitfor`.
#[test]
fn test_condition_timeout_and_waitfor() {
    let cond = Condition::new(Lock::new().unwrap()).unwrap();
    let guard = cond.lock().unwrap();
    let (guard, timed_out) = cond.wait_timeout(guard, Duration::from_millis(50)).unwrap();
    assert!(timed_out);
    let (_guard, ok) = cond
        .wait_for(guard, || false, Some(Duration::from_millis(50)))
        .unwrap();
    assert!(!ok);
    let other = Lock::new().unwrap();
    let g = other.lock().unwrap();
    assert!(matches!(cond.wait(g), Err(Error::InvalidArgument(_))));
}

/// `_TestEvent.test_event`: set, clear, wait with and without a time limit, across a
/// pool worker.
#[test]
fn test_event() {
    bounded(LIMIT, || {
        fn wait_for_it(e: Event) -> bool {
            e.wait_timeout(Duration::from_secs(30))
        }
        let e = Event::new().unwrap();
        assert!(!e.is_set());
        assert!(!e.wait_timeout(Duration::from_millis(20)));
        let pool = Pool::new(1).unwrap();
        let waiter = pool.apply_async(wait_for_it, (e.clone(),)).unwrap();
        e.set().unwrap();
        assert!(waiter.get().unwrap());
        assert!(e.is_set());
        e.wait();
        e.clear().unwrap();
        assert!(!e.is_set());
    });
}

/// Every synchronisation type reaches a pool task inside its arguments and a running
/// `Process` child over a `Connection`, and works there.
#[test]
fn every_type_travels_to_pool_tasks_and_over_a_connection() {
    bounded(LIMIT, || {
        type Kit = (RLock, Semaphore, BoundedSemaphore, Condition, Event);
        fn use_kit((r, s, b, c, e): Kit) -> bool {
            let _a = r.lock().unwrap();
            let _b = r.lock().unwrap();
            s.release().unwrap();
            b.acquire().unwrap();
            b.release().unwrap();
            let g = c.lock().unwrap();
            c.notify_all();
            drop(g);
            e.set().is_ok()
        }
        let kit: Kit = (
            RLock::new().unwrap(),
            Semaphore::new(0).unwrap(),
            BoundedSemaphore::new(1).unwrap(),
            Condition::new(Lock::new().unwrap()).unwrap(),
            Event::new().unwrap(),
        );
        let pool = Pool::new(1).unwrap();
        assert!(pool.apply(use_kit, (kit.clone(),)).unwrap());
        assert_eq!((kit.1.value(), kit.4.is_set()), (1, true));
        kit.4.clear().unwrap();

        let (mine, theirs) = forkpool::pipe::<Kit>().unwrap();
        let child = Process::spawn(move || use_kit(theirs.recv().unwrap())).unwrap();
        mine.send(&kit).unwrap();
        assert!(child.join().unwrap());
        assert_eq!((kit.1.value(), kit.4.is_set()), (2, true));
    });
}
