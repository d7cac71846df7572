//! `Process`: return values, panics, exit codes, signals, timeouts, no zombies.

mod common;

use common::bounded;
use forkpool::{Error, ExitCause, Process};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn join_returns_the_closure_value() {
    let captured: Vec<u64> = (1..=3).collect();
    let p = Process::spawn(move || captured.iter().sum::<u64>()).unwrap();
    assert!(p.pid() > 0);
    assert_eq!(bounded(LIMIT, move || p.join()).unwrap(), 6);
}

#[test]
fn panic_comes_back_with_its_message() {
    let p = Process::spawn(|| -> u8 { panic!("bad input {}", 7) }).unwrap();
    match bounded(LIMIT, move || p.join()) {
        Err(Error::Panicked { message, .. }) => assert_eq!(message, "bad input 7"),
        other => panic!("expected a panic, got {other:?}"),
    }
}

#[test]
fn abort_is_reported_as_sigabrt() {
    let p = Process::spawn(|| -> u8 { std::process::abort() }).unwrap();
    let pid = p.pid();
    match bounded(LIMIT, move || p.join()) {
        Err(Error::WorkerDied {
            pid: got,
            cause: ExitCause::Signaled { name, .. },
        }) => {
            assert_eq!(got, pid);
            assert_eq!(name, "SIGABRT");
        }
        other => panic!("expected SIGABRT, got {other:?}"),
    }
}

#[test]
fn exit_code_is_reported() {
    let p = Process::spawn(|| -> u8 { std::process::exit(3) }).unwrap();
    match bounded(LIMIT, move || p.join()) {
        Err(Error::WorkerDied {
            cause: ExitCause::Exited(3),
            ..
        }) => {}
        other => panic!("expected exit code 3, got {other:?}"),
    }
}

#[test]
fn sigkill_from_the_parent_is_reported() {
    let mut p = Process::spawn(|| -> u8 {
        std::thread::sleep(Duration::from_secs(60));
        0
    })
    .unwrap();
    assert!(p.is_alive());
    p.kill().unwrap();
    match p.join_timeout(LIMIT) {
        Err(Error::WorkerDied {
            cause: ExitCause::Signaled {
                name: "SIGKILL", ..
            },
            ..
        }) => {}
        other => panic!("expected SIGKILL, got {other:?}"),
    }
    assert!(!p.is_alive());
    assert!(matches!(
        p.exit_status(),
        Some(ExitCause::Signaled { signal: 9, .. })
    ));
}

#[test]
fn terminate_sends_sigterm() {
    let mut p = Process::spawn(|| -> u8 {
        std::thread::sleep(Duration::from_secs(60));
        0
    })
    .unwrap();
    p.terminate().unwrap();
    match p.join_timeout(LIMIT) {
        Err(Error::WorkerDied {
            cause: ExitCause::Signaled {
                name: "SIGTERM", ..
            },
            ..
        }) => {}
        other => panic!("expected SIGTERM, got {other:?}"),
    }
}

#[test]
fn join_timeout_can_wait_again() {
    let mut p = Process::spawn(|| {
        std::thread::sleep(Duration::from_millis(300));
        "done".to_string()
    })
    .unwrap();
    assert!(matches!(
        p.join_timeout(Duration::from_millis(10)),
        Err(Error::Timeout)
    ));
    assert_eq!(p.join_timeout(LIMIT).unwrap(), "done");
    assert_eq!(p.exit_status(), Some(ExitCause::Exited(0)));
}

#[test]
fn dropping_an_unjoined_process_leaves_no_zombie() {
    // Counted in a child process of its own, so parallel tests cannot disturb the count.
    let checker = Process::spawn(|| {
        let me = std::process::id();
        let before = common::children_of(me);
        let p = Process::spawn(|| -> u8 {
            std::thread::sleep(Duration::from_secs(60));
            0
        })
        .unwrap();
        let child = p.pid();
        let during = common::children_of(me).contains(&child);
        drop(p);
        let after = common::children_of(me);
        (during, before == after)
    })
    .unwrap();
    assert_eq!(
        bounded(LIMIT, move || checker.join()).unwrap(),
        (true, true)
    );
}
