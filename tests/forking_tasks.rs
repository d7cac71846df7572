//! Issue 16, item 3: a task that forks (starts a `Process`, or calls a library that forks)
//! and then dies is seen dead when its worker exits, though the grandchild still holds the
//! worker's socket open: the task fails with `WorkerDied` at once, not when the grandchild
//! exits.

mod common;

use common::bounded;
use forkpool::{Connection, Error, ExitCause, Pool, Process};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// Starts a grandchild that outlives this worker (it sleeps a minute), tells the test its
/// pid, and aborts.
fn fork_then_abort(tell: Connection<u32>) -> u32 {
    let grandchild = Process::spawn(|| std::thread::sleep(Duration::from_secs(60))).unwrap();
    tell.send(&grandchild.pid()).unwrap();
    std::mem::forget(grandchild);
    std::process::abort()
}

fn double(x: u32) -> u32 {
    x * 2
}

#[test]
fn a_task_that_forks_and_aborts_fails_at_once() {
    let (tell, told) = forkpool::pipe::<u32>().unwrap();
    let (e, grandchild) = bounded(LIMIT, move || {
        let pool = Pool::new(1).unwrap();
        let e = pool.apply(fork_then_abort, (tell,)).unwrap_err();
        let grandchild = told.recv().unwrap();
        // The worker was replaced and the pool carries on.
        assert_eq!(pool.apply(double, (21,)).unwrap(), 42);
        (e, grandchild)
    });
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(grandchild as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    match e {
        Error::WorkerDied {
            cause: ExitCause::Signaled { name, .. },
            ..
        } => assert_eq!(name, "SIGABRT"),
        e => panic!("expected WorkerDied(SIGABRT), got {e}"),
    }
}
