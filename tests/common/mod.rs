//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod faults;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Runs `f` on a thread and fails the test if it takes longer than `limit`: a bug shows as
/// a failure, never as a hung CI.
pub fn bounded<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("did not finish within {limit:?}")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            panic!("the bounded closure panicked")
        }
    }
}

/// The open descriptors of this process.
pub fn open_fds() -> BTreeSet<String> {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The children of process `pid` (all its threads).
pub fn children_of(pid: u32) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            let p = t.path().join("children");
            if let Ok(s) = std::fs::read_to_string(p) {
                out.extend(s.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
            }
        }
    }
    out
}

/// The name a fork server's worker has while it waits, forked ahead of demand, for a pool
/// to take it (`/proc/PID/comm`).
pub const SPARE_NAME: &str = "forkpool-spare";

/// Whether process `pid` is a worker forked ahead that no pool has taken.
pub fn is_spare(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == SPARE_NAME)
}

/// The fork server's children that pools took: its workers, without those forked ahead
/// and waiting.
pub fn workers_of(server: u32) -> BTreeSet<u32> {
    children_of(server)
        .into_iter()
        .filter(|&p| !is_spare(p))
        .collect()
}

/// The fork server's workers forked ahead and waiting.
pub fn spares_of(server: u32) -> Vec<u32> {
    children_of(server)
        .into_iter()
        .filter(|&p| is_spare(p))
        .collect()
}

/// Waits until the fork server has forked a worker ahead (it does shortly after a pool
/// took its workers), so none is forked later behind a test's back.
pub fn await_spare(server: u32) {
    assert!(eventually(Duration::from_secs(10), || !spares_of(server).is_empty()));
}

/// Kills the fork server's workers forked ahead and waits until the server has reaped
/// them: the next worker a pool needs is forked then, and fails to be if forks fail.
pub fn kill_spares(server: u32) {
    let spares = spares_of(server);
    for &p in &spares {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let gone = |p: u32| !std::path::Path::new(&format!("/proc/{p}")).exists();
    assert!(eventually(Duration::from_secs(10), || spares
        .iter()
        .all(|&p| gone(p))));
}

/// Waits until `cond` holds, at most `limit`.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

/// Runs `f` in a child process and returns its value; fails the test if it takes longer
/// than `limit` (the child is then killed). The child also dies with the test's thread, so
/// a failed test never leaves a process behind to hold the test runner's output open.
pub fn in_child<R, F>(limit: Duration, f: F) -> R
where
    F: FnOnce() -> R,
    R: serde::Serialize + serde::de::DeserializeOwned,
{
    let mut child = forkpool::Process::<R>::builder()
        .parent_death_signal(nix::sys::signal::Signal::SIGKILL)
        .spawn(f)
        .unwrap();
    match child.join_timeout(limit) {
        Ok(v) => v,
        Err(forkpool::Error::Timeout) => {
            let _ = child.kill();
            panic!("the child did not finish within {limit:?}")
        }
        Err(e) => panic!("the child failed: {e}"),
    }
}

/// Runs `scenario` in a child process with its own fork server; returns (descriptors
/// unchanged, no child process left over).
pub fn no_leaks(scenario: fn()) -> (bool, bool) {
    in_child(Duration::from_secs(60), move || {
        // Start the child's fork server first, so it counts as "before".
        drop(forkpool::Pool::new(1).unwrap());
        let me = std::process::id();
        let server = forkpool::fork_server_pid().unwrap();
        let (fds, kids) = (open_fds(), children_of(me));
        scenario();
        // The driver thread may still be letting a dropped pool's last worker go (a
        // replacement started as the pool was dropped): it must be gone, and what the
        // driver held for it closed, soon.
        let clean = || workers_of(server).is_empty() && children_of(me) == kids;
        let _ = eventually(Duration::from_secs(5), || clean() && fds == open_fds());
        (fds == open_fds(), clean())
    })
}
