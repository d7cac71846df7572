//! How workers are stopped and restarted: `SIGTERM`, `SIGCONT`, then `SIGKILL` after the
//! grace; failed starts retried with back-off until the restart limit breaks the pool.

mod common;

use common::{bounded, eventually, faults};
use forkpool::{AsyncOptions, Error, Pool};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn temp(name: &str) -> String {
    let path = std::env::temp_dir().join(format!("forkpool-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path.to_string_lossy().into_owned()
}

/// Whether `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !matches!(
            stat.rsplit(')')
                .next()
                .and_then(|s| s.trim().chars().next()),
            Some('Z' | 'X')
        )
    })
}

fn sleepy(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// Ignores SIGTERM (noting each in the file at `path`) and sleeps.
fn stubborn(path: String) -> u64 {
    faults::mark_and_ignore_sigterm(&path);
    sleepy(60_000)
}

/// Like `stubborn`, but stops itself first: only SIGCONT lets it see the SIGTERM.
fn stubborn_and_stopped(path: String) -> u64 {
    faults::mark_and_ignore_sigterm(&path);
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
    sleepy(60_000)
}

fn timed_out_pid(r: forkpool::Result<u64>) -> u32 {
    match r {
        Err(Error::TimedOut { pid }) => pid,
        other => panic!("expected TimedOut, got {other:?}"),
    }
}

#[test]
fn a_worker_that_ignores_sigterm_is_killed_after_the_grace() {
    let path = temp("ignores-sigterm");
    let pool = Pool::builder()
        .processes(2)
        .kill_grace(Duration::from_millis(100))
        .build()
        .unwrap();
    let limit = AsyncOptions::new().timeout(Duration::from_millis(300));
    let stuck = pool
        .apply_async_with(stubborn, (path.clone(),), limit)
        .unwrap();
    let fine = pool.apply_async(sleepy, (50,)).unwrap();
    bounded(LIMIT, move || {
        let pid = timed_out_pid(stuck.get());
        assert_eq!(fine.get().unwrap(), 50);
        assert!(eventually(Duration::from_secs(10), || !alive(pid)));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "T",
            "SIGTERM first"
        );
        assert_eq!(pool.apply(sleepy, (1,)).unwrap(), 1, "the pool carries on");
        let _ = std::fs::remove_file(&path);
    });
}

#[test]
fn a_stopped_worker_is_continued_so_it_sees_sigterm() {
    let path = temp("stopped");
    let pool = Pool::builder()
        .processes(1)
        .kill_grace(Duration::from_millis(200))
        .build()
        .unwrap();
    let limit = AsyncOptions::new().timeout(Duration::from_millis(200));
    let stuck = pool
        .apply_async_with(stubborn_and_stopped, (path.clone(),), limit)
        .unwrap();
    bounded(LIMIT, move || {
        let pid = timed_out_pid(stuck.get());
        assert!(eventually(Duration::from_secs(10), || !alive(pid)));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "T");
        assert_eq!(pool.apply(sleepy, (1,)).unwrap(), 1);
        let _ = std::fs::remove_file(&path);
    });
}

/// Notes each run in `log`; refuses to start while `marker` exists.
fn picky(marker: String, log: String) {
    let mut f = std::fs::File::options()
        .append(true)
        .create(true)
        .open(log)
        .unwrap();
    std::io::Write::write_all(&mut f, b"run\n").unwrap();
    if std::path::Path::new(&marker).exists() {
        panic!("refusing to start: {marker} exists");
    }
}

fn exit_now(code: i32) -> u64 {
    std::process::exit(code)
}

#[test]
fn workers_that_keep_failing_to_start_break_the_pool() {
    let (marker, log) = (temp("refuse"), temp("starts"));
    let pool = Pool::builder()
        .processes(1)
        .initializer(picky, (marker.clone(), log.clone()))
        .max_restarts(3, Duration::from_secs(10))
        .build()
        .unwrap();
    std::fs::write(&marker, b"").unwrap();
    let dies = pool.apply_async(exit_now, (3,)).unwrap();
    let queued = pool.apply_async(sleepy, (1,)).unwrap();
    bounded(LIMIT, move || {
        assert!(matches!(dies.get(), Err(Error::WorkerDied { .. })));
        match queued.get() {
            Err(Error::PoolBroken { message, .. }) => {
                assert!(message.contains("refusing to start"), "{message}")
            }
            other => panic!("expected PoolBroken, got {other:?}"),
        }
        assert!(matches!(
            pool.apply(sleepy, (1,)),
            Err(Error::PoolNotRunning)
        ));
        std::thread::sleep(Duration::from_millis(300));
        let runs = std::fs::read_to_string(&log).unwrap().lines().count();
        assert_eq!(
            runs,
            1 + 3,
            "the first start, then three failed restarts: no loop"
        );
        let _ = (std::fs::remove_file(&marker), std::fs::remove_file(&log));
    });
}

/// A panicking initializer fails `build` with its message, after one run per process.
#[test]
fn a_panicking_initializer_is_not_retried_at_build() {
    let (marker, log) = (temp("refuse-build"), temp("starts-build"));
    std::fs::write(&marker, b"").unwrap();
    let (m, l) = (marker.clone(), log.clone());
    let err = bounded(LIMIT, move || {
        Pool::builder()
            .processes(2)
            .initializer(picky, (m, l))
            .build()
            .err()
    });
    match err {
        Some(Error::InitializerFailed { message }) => {
            assert!(message.contains("refusing to start"), "{message}")
        }
        other => panic!("expected InitializerFailed, got {other:?}"),
    }
    std::thread::sleep(Duration::from_millis(300));
    let runs = std::fs::read_to_string(&log).unwrap().lines().count();
    assert!(runs <= 2, "{runs} runs for 2 processes: no respawn");
    let _ = (std::fs::remove_file(&marker), std::fs::remove_file(&log));
}
