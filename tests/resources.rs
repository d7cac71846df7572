//! No zombie and no leaked descriptor after a pool is closed, terminated or dropped, and
//! fork safety: workers never inherit a lock another thread held.
//!
//! The counting tests run inside a `Process` child of their own, so that parallel tests
//! cannot disturb the counts; that child starts its own fork server.

mod common;

use common::{bounded, in_child, no_leaks};
use forkpool::{Connection, Error, Pool, pipe};
use std::sync::Mutex;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn sq(x: u64) -> u64 {
    x * x
}

fn hang(_: u64) -> u64 {
    std::thread::sleep(Duration::from_secs(60));
    0
}

#[test]
fn close_and_join_leave_nothing_behind() {
    assert_eq!(
        no_leaks(|| {
            let pool = Pool::new(3).unwrap();
            assert_eq!(pool.map(sq, 0..50).unwrap().len(), 50);
            pool.close();
            pool.join().unwrap();
        }),
        (true, true)
    );
}

/// Sends one message and keeps its end of the pipe past the task (forgotten).
fn send_and_keep(conn: Connection<u8>) -> u64 {
    conn.send(&1).unwrap();
    std::mem::forget(conn);
    0
}

/// A worker leaves before its memory is torn down, but `join` still returns only once it
/// let go of every descriptor it held: the pipe end a task kept reads end-of-file at once.
/// (In a child process of its own: a `Process` another test forks meanwhile would hold a
/// copy of the pipe's ends.)
#[test]
fn join_returns_once_the_workers_let_go_of_their_descriptors() {
    let (first, after) = in_child(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let (mine, theirs) = pipe::<u8>().unwrap();
        assert_eq!(pool.apply(send_and_keep, (theirs,)).unwrap(), 0);
        pool.close();
        pool.join().unwrap();
        let first = mine.recv_timeout(Duration::ZERO).ok();
        (first, format!("{:?}", mine.recv_timeout(Duration::ZERO)))
    });
    assert_eq!(first, Some(1));
    assert_eq!(after, format!("{:?}", Err::<u8, _>(Error::Disconnected)));
}

#[test]
fn terminate_with_running_tasks_leaves_nothing_behind() {
    assert_eq!(
        no_leaks(|| {
            let pool = Pool::new(2).unwrap();
            let r = pool.map_async(hang, 0..4).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            pool.terminate();
            assert!(r.get().is_err());
            pool.join().unwrap();
        }),
        (true, true)
    );
}

#[test]
fn drop_with_imap_half_read_leaves_nothing_behind() {
    assert_eq!(
        no_leaks(|| {
            let pool = Pool::builder()
                .processes(2)
                .maxtasksperchild(3)
                .build()
                .unwrap();
            let mut it = pool.imap(sq, 0..1000).unwrap();
            assert_eq!(it.next().unwrap().unwrap(), 0);
            drop(pool);
            assert!(it.all(|_| true));
        }),
        (true, true)
    );
}

/// A dropped pool does not wait for its workers to exit: the fork server reaps them (the
/// running one told to stop, the idle ones leaving as their sockets close).
#[test]
fn drop_with_a_running_task_and_idle_workers_leaves_nothing_behind() {
    assert_eq!(
        no_leaks(|| {
            let pool = Pool::new(3).unwrap();
            assert_eq!(pool.map(sq, 0..30).unwrap().len(), 30);
            let r = pool.apply_async(hang, (0,)).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            drop(pool);
            assert!(matches!(r.get(), Err(forkpool::Error::Terminated)));
        }),
        (true, true)
    );
}

static USER_LOCK: Mutex<u64> = Mutex::new(0);

fn take_user_lock(x: u64) -> u64 {
    *USER_LOCK.lock().unwrap() + x
}

fn print_line(x: u64) -> u64 {
    println!("worker prints {x}");
    x
}

/// Another thread holds a mutex and stdout while the pool forks workers; the workers can
/// still take both (they are forked from the fork server, started before `main`).
#[test]
fn workers_never_inherit_a_held_lock() {
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let _user = USER_LOCK.lock().unwrap();
        let _out = std::io::stdout().lock();
        locked_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(LIMIT);
    });
    locked_rx.recv().unwrap();
    let got = bounded(LIMIT, || {
        let pool = Pool::builder()
            .processes(2)
            .maxtasksperchild(1)
            .build()
            .unwrap();
        let a = pool.map(take_user_lock, 0..4).unwrap();
        let b = pool.map(print_line, 0..4).unwrap();
        (a, b)
    });
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(got, (vec![0, 1, 2, 3], vec![0, 1, 2, 3]));
}

/// This process's threads named `forkpool-driver`.
fn driver_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.trim_end() == "forkpool-driver")
        })
        .count()
}

/// A finished pool's driver thread drives the next pool instead of ending: pools built
/// one after another use one thread, two at once use two, and both wait for the next.
#[test]
fn pools_one_after_another_share_one_driver_thread() {
    let counts = common::in_child(LIMIT, || {
        let mut counts = Vec::new();
        for _ in 0..5 {
            let pool = Pool::new(1).unwrap();
            assert_eq!(pool.apply(sq, (3,)).unwrap(), 9);
            drop(pool);
            counts.push(driver_threads());
        }
        let (a, b) = (Pool::new(1).unwrap(), Pool::new(1).unwrap());
        // Each driver has run (and so named its thread) once it delivered a result.
        assert_eq!(
            (a.apply(sq, (2,)).unwrap(), b.apply(sq, (4,)).unwrap()),
            (4, 16)
        );
        counts.push(driver_threads());
        drop((a, b));
        counts.push(driver_threads());
        counts
    });
    assert_eq!(counts, [1, 1, 1, 1, 1, 2, 2]);
}
