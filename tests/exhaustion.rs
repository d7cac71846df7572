//! Resource exhaustion: `fork` failing with `EAGAIN` (`RLIMIT_NPROC`) or descriptors running
//! out (`EMFILE`) while a pool is built or repaired gives `Error::PoolBroken` carrying the OS
//! error; workers already started are killed and reaped.
//!
//! Each scenario runs in a `Process` child of its own, as an unprivileged user of its own
//! when the tests run as root (root ignores `RLIMIT_NPROC`); the limits are lowered on the
//! child's fork server with `prlimit`.

mod common;

use common::{eventually, faults};
use forkpool::{Error, Pool};
use nix::errno::Errno;
use nix::sys::resource::Resource;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn sleepy(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// What a scenario saw: the OS error behind `PoolBroken` (if that was the error), the
/// error's text, and whether the fork server was left without children.
type Seen = (Option<i32>, String, bool);

fn broken_errno(e: &Error) -> Option<i32> {
    match e {
        Error::PoolBroken {
            source: Some(s), ..
        } => s.raw_os_error(),
        _ => None,
    }
}

fn server_has_no_children() -> bool {
    let server = forkpool::fork_server_pid().unwrap();
    eventually(Duration::from_secs(10), || {
        common::workers_of(server).is_empty()
    })
}

/// Runs `scenario` in a child process as a user of its own: `uid` plus a number taken from
/// this run's pid. `RLIMIT_NPROC` counts every process of a user, and an earlier run's
/// processes of the same user may still be there (its fork server lingers as a zombie for
/// about a second, until the system reaps it), so runs in quick succession must not share a
/// user.
fn as_user(uid: u32, scenario: fn() -> Seen) -> Seen {
    let uid = uid + 10 * (std::process::id() % 4096);
    common::in_child(LIMIT, move || {
        faults::become_unprivileged(uid);
        scenario()
    })
}

/// The worker dies, and the fork server can no longer fork (or make sockets): the queued
/// task fails with the OS error, and nothing is left behind.
fn repair_fails(what: Resource) -> Seen {
    let pool = Pool::new(1).unwrap();
    let server = forkpool::fork_server_pid().unwrap();
    // The replacement must be forked, not taken from those forked ahead.
    common::await_spare(server);
    faults::prlimit(server, what, 0);
    common::kill_spares(server);
    let running = pool.apply_async(sleepy, (60_000,)).unwrap();
    let queued = pool.apply_async(sleepy, (1,)).unwrap();
    let worker = pool.pids()[0];
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(worker as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // It died running the task (WorkerDied), or before it started it: then the task was
    // to run again elsewhere, and no replacement could start (the pool is broken).
    let first = running.get();
    assert!(
        matches!(
            first,
            Err(Error::WorkerDied { .. } | Error::PoolBroken { .. })
        ),
        "{first:?}"
    );
    let err = queued.get().unwrap_err();
    drop(pool);
    (
        broken_errno(&err),
        err.to_string(),
        server_has_no_children(),
    )
}

#[test]
fn fork_failing_while_repairing_breaks_the_pool_with_eagain() {
    let (errno, text, clean) = as_user(61001, || repair_fails(Resource::RLIMIT_NPROC));
    assert_eq!(errno, Some(Errno::EAGAIN as i32), "{text}");
    assert!(text.contains("fork"), "{text}");
    assert!(clean, "no worker or zombie left");
}

#[test]
fn descriptors_running_out_while_repairing_breaks_the_pool_with_emfile() {
    let (errno, text, clean) = as_user(61002, || repair_fails(Resource::RLIMIT_NOFILE));
    assert_eq!(errno, Some(Errno::EMFILE as i32), "{text}");
    assert!(text.contains("socketpair"), "{text}");
    assert!(clean);
}

/// Building a pool of 3 when only one more process may be forked: `build` fails with
/// `EAGAIN`, and the worker that did start is killed and reaped.
#[test]
fn fork_failing_while_building_kills_the_started_workers() {
    let (errno, text, clean) = as_user(61003, || {
        drop(Pool::new(1).unwrap()); // starts this process's fork server
        let server = forkpool::fork_server_pid().unwrap();
        common::await_spare(server);
        // The dropped pool's worker may still be exiting after `join` (its descriptors
        // closed): counted now, it would leave room for one fork more once it is gone.
        assert!(
            server_has_no_children(),
            "the first pool's worker was reaped"
        );
        common::kill_spares(server);
        let allowed = if nix::unistd::geteuid().is_root() {
            0 // still root: RLIMIT_NPROC does not apply, so no partial start to test
        } else {
            faults::tasks_of_user(nix::unistd::getuid().as_raw()) + 1
        };
        faults::prlimit(server, Resource::RLIMIT_NPROC, allowed);
        let err = Pool::new(3).expect_err("the pool cannot be built");
        (
            broken_errno(&err),
            err.to_string(),
            server_has_no_children(),
        )
    });
    assert_eq!(errno, Some(Errno::EAGAIN as i32), "{text}");
    assert!(clean, "the started worker was killed and reaped");
}

#[test]
fn descriptors_running_out_while_building_is_a_typed_error() {
    let (errno, text, clean) = as_user(61004, || {
        drop(Pool::new(1).unwrap());
        let server = forkpool::fork_server_pid().unwrap();
        common::await_spare(server);
        common::kill_spares(server);
        faults::prlimit(server, Resource::RLIMIT_NOFILE, 0);
        let err = Pool::new(2).expect_err("the pool cannot be built");
        (
            broken_errno(&err),
            err.to_string(),
            server_has_no_children(),
        )
    });
    assert_eq!(errno, Some(Errno::EMFILE as i32), "{text}");
    assert!(clean);
}

/// Leaves this process no room for one more descriptor: the soft limit just above what is
/// open, the rest filled. Dropping what it returns gives them back, limit included.
fn take_every_descriptor() -> Filler {
    let (soft, hard) = nix::sys::resource::getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let open = common::open_fds().len() as u64;
    nix::sys::resource::setrlimit(Resource::RLIMIT_NOFILE, open + 8, hard).unwrap();
    let mut files = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        files.push(f);
    }
    Filler { files, soft, hard }
}

/// Descriptors taken by [`take_every_descriptor`].
struct Filler {
    files: Vec<std::fs::File>,
    soft: u64,
    hard: u64,
}

impl Drop for Filler {
    fn drop(&mut self) {
        self.files.clear();
        nix::sys::resource::setrlimit(Resource::RLIMIT_NOFILE, self.soft, self.hard).unwrap();
    }
}

fn kill(pid: u32) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
}

/// Issue 16, item 8: the owner (not the fork server) runs out of descriptors while a worker
/// is replaced, so the new worker's socket cannot be received (`MSG_CTRUNC`). That start
/// fails with `EMFILE`; the fork server is not taken for broken (it keeps its pid and its
/// other workers), and once descriptors are free again the pool repairs itself.
#[test]
fn the_owner_running_out_of_descriptors_fails_only_that_start() {
    let (server_kept, after, kept_worker) = common::in_child(LIMIT, || {
        let pool = Pool::builder()
            .processes(2)
            .max_restarts(1000, Duration::from_secs(60))
            .build()
            .unwrap();
        let server = forkpool::fork_server_pid().unwrap();
        let [victim, other] = pool.pids()[..] else {
            panic!("two workers")
        };
        let filler = take_every_descriptor();
        kill(victim);
        // Replacements fail (and are retried) while the descriptors are taken.
        std::thread::sleep(Duration::from_millis(300));
        let server_kept = forkpool::fork_server_pid() == Some(server)
            && nix::sys::signal::kill(nix::unistd::Pid::from_raw(server as i32), None).is_ok();
        drop(filler);
        let after = pool.map(sleepy, [1, 1, 1, 1]).map_err(|e| e.to_string());
        (server_kept, after, pool.pids().contains(&other))
    });
    assert!(server_kept, "the fork server was not killed");
    assert_eq!(after, Ok(vec![1, 1, 1, 1]), "the pool repaired itself");
    assert!(kept_worker, "the other worker was not touched");
}

/// Issue 16, item 8, where the start cannot be retried: the pool breaks with `EMFILE` as
/// the source, the fork server lives on, and the worker whose socket was lost is reaped.
#[test]
fn the_owner_out_of_descriptors_breaks_a_pool_with_emfile() {
    let (errno, text, server_kept, clean) = common::in_child(LIMIT, || {
        let pool = Pool::builder()
            .processes(1)
            .max_restarts(1, Duration::from_secs(60))
            .build()
            .unwrap();
        let server = forkpool::fork_server_pid().unwrap();
        let victim = pool.pids()[0];
        let running = pool.apply_async(sleepy, (60_000,)).unwrap();
        let queued = pool.apply_async(sleepy, (1,)).unwrap();
        let filler = take_every_descriptor();
        kill(victim);
        // It died running the task (WorkerDied), or before it started it: then the task was
        // to run again elsewhere, and no replacement could start (the pool is broken).
        let first = running.get();
        assert!(
            matches!(
                first,
                Err(Error::WorkerDied { .. } | Error::PoolBroken { .. })
            ),
            "{first:?}"
        );
        let err = queued.get().unwrap_err();
        drop(filler);
        let server_kept = forkpool::fork_server_pid() == Some(server);
        drop(pool);
        (
            broken_errno(&err),
            err.to_string(),
            server_kept,
            server_has_no_children(),
        )
    });
    assert_eq!(errno, Some(Errno::EMFILE as i32), "{text}");
    assert!(server_kept, "the fork server was not killed");
    assert!(clean, "the worker whose socket was lost was reaped");
}

/// The owner runs out of descriptors part-way through building a pool: the workers that
/// did start must be stopped, not forgotten. `build` used to hang for ever here (the
/// scheduler, breaking down, took the started workers still waiting for their `READY` for
/// never started; the pool kept them and waited on them). Now it fails with `EMFILE`, and
/// every worker is reaped.
#[test]
fn descriptors_running_out_part_way_through_building_stop_the_started_workers() {
    let (errno, text, clean) = common::in_child(LIMIT, || {
        drop(Pool::new(1).unwrap()); // starts this process's fork server
        let server = forkpool::fork_server_pid().unwrap();
        common::await_spare(server);
        common::kill_spares(server);
        let (_, hard) = nix::sys::resource::getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let open = common::open_fds().len() as u64;
        // Room for a few workers (two descriptors each here), not for 16.
        nix::sys::resource::setrlimit(Resource::RLIMIT_NOFILE, open + 12, hard).unwrap();
        let err = Pool::new(16).expect_err("the pool cannot be built");
        (
            broken_errno(&err),
            err.to_string(),
            server_has_no_children(),
        )
    });
    assert_eq!(errno, Some(Errno::EMFILE as i32), "{text}");
    assert!(clean, "the started workers were stopped and reaped");
}
