//! A task's panic comes back with where it happened (`file.rs:LINE`), from a pool worker
//! and from a `Process` child, and with the worker's backtrace when `RUST_BACKTRACE` is set
//! in the owner.

mod common;

use common::{bounded, in_child};
use forkpool::{Error, Pool, Process};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn fails(x: u32) -> u32 {
    if x == 3 {
        panic!("three is right out");
    }
    x
}

fn location_of(e: &Error) -> Option<String> {
    match e {
        Error::Panicked { location, .. } => location.clone(),
        _ => None,
    }
}

#[test]
fn a_task_panic_names_its_location() {
    let e = bounded(LIMIT, || {
        Pool::new(1).unwrap().apply(fails, (3,)).unwrap_err()
    });
    let at = location_of(&e).expect("a location");
    assert!(at.starts_with("tests/panic_reports.rs:15:"), "{at}");
    let text = e.to_string();
    assert!(
        text.contains("tests/panic_reports.rs:15") && text.contains("three is right out"),
        "{text}"
    );
}

#[test]
fn a_process_panic_names_its_location() {
    let p = Process::spawn(|| fails(3)).unwrap();
    let e = bounded(LIMIT, move || p.join().unwrap_err());
    let at = location_of(&e).expect("a location");
    assert!(at.starts_with("tests/panic_reports.rs:15:"), "{at}");
}

/// `RUST_BACKTRACE` set in the owner (here after `main` began, in a child of its own):
/// the worker's backtrace comes with the error, and names the task function.
#[test]
fn a_backtrace_comes_back_when_asked_for() {
    let (with, without) = in_child(LIMIT, || {
        // SAFETY: this child process runs no other thread yet.
        unsafe { std::env::remove_var("RUST_BACKTRACE") };
        let pool = Pool::new(1).unwrap();
        let without = match pool.apply(fails, (3,)) {
            Err(Error::Panicked { backtrace, .. }) => backtrace,
            other => panic!("{other:?}"),
        };
        // SAFETY: this child process is single-threaded here but for the pool's driver,
        // which does not read the environment.
        unsafe { std::env::set_var("RUST_BACKTRACE", "1") };
        let pool = Pool::new(1).unwrap();
        let with = match pool.apply(fails, (3,)) {
            Err(Error::Panicked { backtrace, .. }) => backtrace,
            other => panic!("{other:?}"),
        };
        (with, without)
    });
    assert_eq!(without, None);
    let trace = with.expect("a backtrace");
    assert!(trace.contains("panic_reports::fails"), "{trace}");
}
