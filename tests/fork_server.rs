//! Issue 16, item 7: a fork server started after `main` began (the first pool of a `Process`
//! child, or the next pool after the server died) outlives the thread that started it, and
//! is safe to fork workers from: it is the program executed afresh, so its workers hold no
//! lock another thread of the owner held, and see the program as before `main`, as the
//! workers of the server started before `main` do.
//!
//! Runs in a `Process` child of its own (it kills that child's fork server).

mod common;

use common::in_child;
use forkpool::Pool;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// Set by the owner after `main` began.
static MARK: AtomicU64 = AtomicU64::new(0);
/// Held by another thread of the owner while the server starts.
static HELD: Mutex<()> = Mutex::new(());

/// What a worker sees: the mark, and whether the lock is free.
fn look(_: u8) -> (u64, bool) {
    (MARK.load(Ordering::Relaxed), HELD.try_lock().is_ok())
}

/// Builds a pool on a thread that then ends.
fn pool_from_a_passing_thread() -> Pool {
    std::thread::spawn(|| Pool::new(2).unwrap()).join().unwrap()
}

#[test]
fn a_restarted_fork_server_outlives_its_thread_and_starts_clean() {
    let seen = in_child(LIMIT, || {
        MARK.store(7, Ordering::Relaxed);
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (held, is_held) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let _guard = HELD.lock().unwrap();
            held.send(()).unwrap();
            let _ = wait.recv();
        });
        is_held.recv().unwrap();

        // This child's first server starts now, from a thread that then ends.
        let pool = pool_from_a_passing_thread();
        std::thread::sleep(Duration::from_millis(100));
        let first = pool.map(look, [0, 1]).map_err(|e| e.to_string());
        drop(pool);

        // The server dies; the next pool restarts it, again from a passing thread.
        let server = forkpool::fork_server_pid().unwrap();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(server as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        let pool = pool_from_a_passing_thread();
        std::thread::sleep(Duration::from_millis(100));
        let second = pool.map(look, [0, 1]).map_err(|e| e.to_string());
        let restarted = forkpool::fork_server_pid() != Some(server);
        drop(pool);
        release.send(()).unwrap();
        holder.join().unwrap();
        (first, second, restarted)
    });
    let clean = Ok(vec![(0, true), (0, true)]);
    assert_eq!(seen.0, clean, "the first server, started after main");
    assert_eq!(seen.1, clean, "the restarted server");
    assert!(seen.2, "the server was restarted");
}
