//! The crash matrix: a worker that panics, aborts, segfaults, exits or is killed fails only
//! its own task, is replaced, and every other result arrives exactly once. CPython's Pool
//! hangs forever on most of these.

mod common;

use common::{bounded, no_leaks};
use forkpool::{Error, ExitCause, Pool, pipe};
use nix::sys::signal::{Signal, kill, raise};
use nix::unistd::Pid;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn task(x: u32) -> u32 {
    match x {
        3 => panic!("three is right out"),
        5 => std::process::abort(),
        7 => {
            let _ = raise(Signal::SIGSEGV);
            unreachable!()
        }
        9 => std::process::exit(0),
        11 => std::panic::panic_any(11u32),
        _ => x * 10,
    }
}

#[test]
fn each_crash_fails_only_its_task() {
    let pool = Pool::new(3).unwrap();
    let results: Vec<_> = bounded(LIMIT, move || {
        let r: Vec<_> = pool.imap(task, 0..16).unwrap().collect();
        // The pool is still usable afterwards.
        assert_eq!(pool.map(task, [1, 2]).unwrap(), [10, 20]);
        r
    });
    assert_eq!(results.len(), 16, "every task answered exactly once");
    for (x, r) in results.into_iter().enumerate() {
        match (x, r) {
            (3, Err(Error::Panicked { message, .. })) => assert_eq!(message, "three is right out"),
            (11, Err(Error::Panicked { message, .. })) => assert!(message.contains("not a string")),
            (
                5,
                Err(Error::WorkerDied {
                    cause: ExitCause::Signaled { name, .. },
                    ..
                }),
            ) => assert_eq!(name, "SIGABRT"),
            (
                7,
                Err(Error::WorkerDied {
                    cause: ExitCause::Signaled { name, .. },
                    ..
                }),
            ) => assert_eq!(name, "SIGSEGV"),
            (
                9,
                Err(Error::WorkerDied {
                    cause: ExitCause::Exited(0),
                    ..
                }),
            ) => {}
            (x, Ok(v)) if ![3, 5, 7, 9, 11].contains(&x) => assert_eq!(v, x as u32 * 10),
            (x, r) => panic!("task {x}: unexpected {r:?}"),
        }
    }
}

/// After every kind of crash, and the replacements, no descriptor or process is left.
#[test]
fn the_crash_matrix_leaves_nothing_behind() {
    let run = || {
        let pool = Pool::new(3).unwrap();
        let results: Vec<_> = pool.imap(task, 0..16).unwrap().collect();
        assert_eq!(results.iter().filter(|r| r.is_err()).count(), 5);
        pool.close();
        pool.join().unwrap();
    };
    assert_eq!(no_leaks(run), (true, true));
}

#[test]
fn map_with_crashes_reports_the_first_error_and_keeps_the_pool() {
    let pool = Pool::new(2).unwrap();
    bounded(LIMIT, move || {
        assert!(matches!(
            pool.map(task, 4..8),
            Err(Error::WorkerDied { .. })
        ));
        let r: Vec<_> = (0..6)
            .map(|x| pool.apply_async(task, (x,)).unwrap())
            .collect();
        let got: Vec<_> = r.into_iter().map(|r| r.get().ok()).collect();
        assert_eq!(got, [Some(0), Some(10), Some(20), None, Some(40), None]);
    });
}

fn report_pid_then_sleep(conn: forkpool::Connection<u32>) -> u32 {
    conn.send(&std::process::id()).unwrap();
    std::thread::sleep(Duration::from_secs(30));
    1
}

fn quick(x: u32) -> u32 {
    x + 1
}

#[test]
fn a_busy_worker_killed_from_outside_fails_only_its_task() {
    let pool = Pool::new(2).unwrap();
    let (rx, tx) = pipe::<u32>().unwrap();
    let victim = pool.apply_async(report_pid_then_sleep, (tx,)).unwrap();
    let others: Vec<_> = (0..20)
        .map(|x| pool.apply_async(quick, (x,)).unwrap())
        .collect();
    let pid = rx.recv_timeout(LIMIT).unwrap();
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    bounded(LIMIT, move || {
        match victim.get() {
            Err(Error::WorkerDied {
                pid: p,
                cause:
                    ExitCause::Signaled {
                        name: "SIGKILL", ..
                    },
            }) => assert_eq!(p, pid),
            other => panic!("expected SIGKILL, got {other:?}"),
        }
        let got: Vec<u32> = others.into_iter().map(|r| r.get().unwrap()).collect();
        assert_eq!(got, (1..=20).collect::<Vec<_>>());
        assert_eq!(pool.apply(quick, (41,)).unwrap(), 42);
    });
}

fn whoami(_: u8) -> u32 {
    std::process::id()
}

#[test]
fn an_idle_worker_killed_from_outside_is_replaced() {
    let pool = Pool::new(1).unwrap();
    let pid = pool.apply(whoami, (0,)).unwrap();
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    let again = bounded(LIMIT, move || {
        // The first try may race the death; no task is lost either way.
        let mut r = pool.apply(whoami, (0,));
        if r.is_err() {
            r = pool.apply(whoami, (0,));
        }
        r.unwrap()
    });
    assert_ne!(again, pid);
}

#[derive(Debug, serde::Serialize)]
struct Unreadable;

impl<'de> serde::Deserialize<'de> for Unreadable {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom("this type never decodes"))
    }
}

fn make_unreadable(_: u8) -> Unreadable {
    Unreadable
}

#[test]
fn a_result_that_fails_to_decode_fails_only_that_task() {
    let pool = Pool::new(1).unwrap();
    bounded(LIMIT, move || {
        match pool.apply(make_unreadable, (0,)) {
            Err(Error::Decode(_)) => {}
            other => panic!("expected a decode error, got {other:?}"),
        }
        assert_eq!(pool.apply(quick, (1,)).unwrap(), 2);
    });
}

fn abort_at_100(x: u32) -> u32 {
    if x == 100 {
        std::process::abort()
    }
    x * 10
}

/// With a deep pipeline a dying worker fails the tasks it held (never more), every task is
/// answered exactly once, and the rest succeed.
#[test]
fn pipelined_crash_fails_only_held_tasks() {
    let pool = Pool::builder()
        .processes(2)
        .pipeline_depth(8)
        .build()
        .unwrap();
    let results: Vec<_> = bounded(LIMIT, move || {
        pool.imap(abort_at_100, 0..400).unwrap().collect()
    });
    assert_eq!(results.len(), 400);
    let failed: Vec<usize> = (0..400).filter(|&i| results[i].is_err()).collect();
    assert!(failed.contains(&100));
    assert!(
        failed.len() <= 8 * 2,
        "at most what one worker held: {failed:?}"
    );
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(v) => assert_eq!(*v, i as u32 * 10),
            Err(e) => assert!(matches!(e, Error::WorkerDied { .. }), "{e:?}"),
        }
    }
}

/// A value that fails to decode when it is 13.
#[derive(Debug, PartialEq, serde::Serialize)]
struct Picky(u32);

impl<'de> serde::Deserialize<'de> for Picky {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u32::deserialize(d)? {
            13 => Err(serde::de::Error::custom("thirteen never decodes")),
            v => Ok(Picky(v)),
        }
    }
}

fn picky(x: u32) -> Picky {
    if x % 10 == 3 {
        panic!("{x} is right out");
    }
    Picky(x)
}

/// Within a chunk, a task that panics or whose result fails to decode fails alone: the
/// chunk's other results (sent together as one run) all arrive, in their places.
#[test]
fn a_failure_inside_a_chunk_fails_only_its_task() {
    let pool = Pool::new(2).unwrap();
    bounded(LIMIT, move || {
        let check = |x: usize, r: &Result<Picky, Error>| match (x, r) {
            (13, Err(Error::Panicked { message, .. })) => assert_eq!(message, "13 is right out"),
            (x, Err(Error::Panicked { .. })) if x % 10 == 3 => {}
            (x, Ok(v)) => assert_eq!(v, &Picky(x as u32)),
            (x, r) => panic!("task {x}: unexpected {r:?}"),
        };
        let ordered: Vec<_> = pool.imap_chunked(picky, 0..40, 8).unwrap().collect();
        assert_eq!(ordered.len(), 40);
        ordered.iter().enumerate().for_each(|(x, r)| check(x, r));
        let mut unordered: Vec<_> = pool
            .imap_unordered_chunked(|x: u32| (x, picky(x)), 0..40, 8)
            .unwrap()
            .map(|r| r.map(|(x, _)| x))
            .collect();
        assert_eq!(unordered.len(), 40);
        assert_eq!(unordered.iter().filter(|r| r.is_err()).count(), 4);
        unordered.retain(Result::is_ok);
        let mut oks: Vec<u32> = unordered.into_iter().map(Result::unwrap).collect();
        oks.sort_unstable();
        assert_eq!(oks, (0..40).filter(|x| x % 10 != 3).collect::<Vec<_>>());
        // map fails with the first error in input order; a chunk of good ones succeeds.
        match pool.map_chunked(picky, 0..40, 8) {
            Err(Error::Panicked { message, .. }) => assert_eq!(message, "3 is right out"),
            other => panic!("expected the first panic, got {other:?}"),
        }
        let ok = pool.map_chunked(picky, (0..40).filter(|x| x % 10 != 3), 8);
        assert_eq!(ok.unwrap().len(), 36);
        // 13 succeeds in the worker but fails to decode: only it fails.
        let decoded: Vec<_> = pool
            .imap_chunked(|x: u32| Picky(x), 10..17, 7)
            .unwrap()
            .collect();
        for (k, r) in decoded.iter().enumerate() {
            match (k + 10, r) {
                (13, Err(Error::Decode(_))) => {}
                (x, Ok(v)) => assert_eq!(v, &Picky(x as u32)),
                (x, r) => panic!("task {x}: unexpected {r:?}"),
            }
        }
    });
}
