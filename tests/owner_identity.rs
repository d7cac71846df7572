//! Issue 16, items 4 and 5: what a worker takes from its owner. Workers run with the
//! owner's credentials (uid, gid, supplementary groups), working directory and umask as they
//! are when the pool starts the worker, not as the process was before `main`; and the
//! terminal's Ctrl-C (`SIGINT` to the whole process group) does not kill them unless the
//! pool asked for it.
//!
//! Each scenario changes process-wide state, so it runs in a `Process` child of its own.

mod common;

use common::in_child;
use forkpool::{Error, ExitCause, Pool};
use nix::sys::signal::{SigHandler, Signal, killpg, signal};
use nix::unistd::{Pid, getpgrp, setpgid};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// What a worker sees of itself.
type Identity = (u32, u32, u32, u32, Vec<u32>, String, u32);

fn identity() -> Identity {
    let u = nix::unistd::getresuid().unwrap();
    let g = nix::unistd::getresgid().unwrap();
    let groups = nix::unistd::getgroups().unwrap();
    let mask = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    nix::sys::stat::umask(mask);
    (
        u.real.as_raw(),
        u.effective.as_raw(),
        g.real.as_raw(),
        g.effective.as_raw(),
        groups.into_iter().map(|g| g.as_raw()).collect(),
        std::env::current_dir().unwrap().display().to_string(),
        mask.bits(),
    )
}

/// The owner drops root in `main` (here: after its fork server started), moves to another
/// directory and sets a umask; a pool built afterwards runs its tasks the same way.
#[test]
fn workers_take_the_owners_credentials_directory_and_umask() {
    let (mine, theirs) = in_child(LIMIT, || {
        // The fork server starts first, as it does before `main`.
        drop(Pool::new(1).unwrap());
        if nix::unistd::geteuid().is_root() {
            let g = nix::unistd::Gid::from_raw(60_123);
            nix::unistd::setgroups(&[g, nix::unistd::Gid::from_raw(60_124)]).unwrap();
            nix::unistd::setresgid(g, g, g).unwrap();
            let u = nix::unistd::Uid::from_raw(60_123);
            nix::unistd::setresuid(u, u, u).unwrap();
        }
        std::env::set_current_dir("/tmp").unwrap();
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
        let pool = Pool::new(2).unwrap();
        let theirs = pool.map(|_: u8| identity(), [0, 1]).unwrap();
        (identity(), theirs)
    });
    if nix::unistd::geteuid().is_root() {
        assert_eq!((mine.0, mine.1), (60_123, 60_123), "the owner dropped root");
    }
    assert_eq!(mine.5, "/tmp");
    assert_eq!(mine.6, 0o077);
    for t in theirs {
        assert_eq!(t, mine, "a worker runs as its owner does");
    }
}

fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// In a process group of its own (so the signal reaches only this scenario), with `SIGINT`
/// ignored by the owner: a Ctrl-C to the group leaves the pool's workers running.
#[test]
fn ctrl_c_does_not_kill_the_workers_of_an_owner_that_ignores_it() {
    let (got, server_alive) = in_child(LIMIT, || {
        setpgid(Pid::from_raw(0), Pid::from_raw(0)).unwrap();
        // SAFETY: SIG_IGN runs no handler code.
        unsafe { signal(Signal::SIGINT, SigHandler::SigIgn) }.unwrap();
        let pool = Pool::new(2).unwrap();
        let running = pool.apply_async(nap, (300,)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        killpg(getpgrp(), Signal::SIGINT).unwrap();
        let got = running.get().map_err(|e| e.to_string());
        let server = forkpool::fork_server_pid().unwrap();
        let alive = nix::sys::signal::kill(Pid::from_raw(server as i32), None).is_ok();
        (got, alive)
    });
    assert_eq!(got, Ok(300), "the running task finished");
    assert!(server_alive, "the fork server is still there");
}

/// With `terminate_on_interrupt(true)`, a Ctrl-C kills the workers: the running task fails
/// naming `SIGINT`, and the pool is terminated.
#[test]
fn ctrl_c_terminates_a_pool_that_asked_for_it() {
    let (running, queued, after) = in_child(LIMIT, || {
        setpgid(Pid::from_raw(0), Pid::from_raw(0)).unwrap();
        // SAFETY: SIG_IGN runs no handler code.
        unsafe { signal(Signal::SIGINT, SigHandler::SigIgn) }.unwrap();
        let pool = Pool::builder()
            .processes(1)
            .terminate_on_interrupt(true)
            .build()
            .unwrap();
        let running = pool.apply_async(nap, (30_000,)).unwrap();
        let queued = pool.apply_async(nap, (1,)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        killpg(getpgrp(), Signal::SIGINT).unwrap();
        let running = match running.get() {
            Err(Error::WorkerDied {
                cause: ExitCause::Signaled { name, .. },
                ..
            }) => name.to_string(),
            other => format!("{other:?}"),
        };
        let queued = format!("{:?}", queued.get());
        let after = format!("{:?}", pool.apply(nap, (1,)));
        (running, queued, after)
    });
    assert_eq!(running, "SIGINT");
    assert_eq!(queued, "Err(Terminated)");
    assert_eq!(after, "Err(PoolNotRunning)");
}

fn variables(_: u8) -> (Option<String>, Option<String>) {
    (
        std::env::var("FORKPOOL_SET_IN_MAIN").ok(),
        std::env::var("FORKPOOL_REMOVED_IN_MAIN").ok(),
    )
}

/// Issue 19, point 1: the environment as it is when the pool starts its workers reaches
/// them (variables set and removed after the fork server started).
#[test]
fn workers_take_the_owners_environment() {
    let seen = in_child(LIMIT, || {
        // SAFETY: this child process runs no other thread yet.
        unsafe { std::env::set_var("FORKPOOL_REMOVED_IN_MAIN", "old") };
        drop(Pool::new(1).unwrap()); // the fork server starts with that environment
        // SAFETY: as above (the pool and its driver thread are gone).
        unsafe {
            std::env::set_var("FORKPOOL_SET_IN_MAIN", "yes");
            std::env::remove_var("FORKPOOL_REMOVED_IN_MAIN");
        }
        let pool = Pool::new(2).unwrap();
        pool.map(variables, [0, 1]).unwrap()
    });
    for s in seen {
        assert_eq!(s, (Some("yes".to_string()), None));
    }
}

/// What a worker's standard input is, and what one read of it gives.
fn stdin_of_worker(_: u64) -> (String, usize) {
    let target =
        std::fs::read_link("/proc/self/fd/0").map_or(String::new(), |p| p.display().to_string());
    let mut buf = [0u8; 16];
    let read = std::io::Read::read(&mut std::io::stdin(), &mut buf).unwrap_or(usize::MAX);
    (target, read)
}

/// Workers read standard input from /dev/null, as Python's do: a task that reads it gets
/// end-of-file at once, and takes nothing meant for the program (they shared the owner's
/// terminal or pipe before: a task read the program's input). The owner here has a pipe
/// with input waiting as its standard input; its pool's fork server starts after that.
#[test]
fn workers_read_standard_input_from_dev_null() {
    let got = in_child(LIMIT, || {
        let (r, w) = nix::unistd::pipe().unwrap();
        nix::unistd::write(&w, b"for the owner\n").unwrap();
        drop(w);
        nix::unistd::dup2_stdin(&r).unwrap();
        let pool = Pool::new(2).unwrap();
        pool.map(stdin_of_worker, [1, 2]).unwrap()
    });
    for (target, read) in got {
        assert_eq!((target.as_str(), read), ("/dev/null", 0));
    }
}
