//! `forkpool::wait` over connections and processes (Python's
//! `multiprocessing.connection.wait`; mirrors the spirit of CPython's `_TestWait.test_wait`:
//! every object shows up ready exactly when it is).

mod common;

use common::bounded;
use forkpool::{Process, pipe, wait};
use std::os::fd::AsFd;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn wait_reports_connections_and_processes_as_they_become_ready() {
    bounded(LIMIT, || {
        let (a, b) = pipe::<u32>().unwrap();
        let (tell, told) = pipe::<u8>().unwrap();
        let child = Process::spawn(move || {
            told.recv().unwrap();
            5u8
        })
        .unwrap();
        // Nothing is ready: a time-out gives no index.
        assert!(
            wait(&[&b, &child], Some(Duration::from_millis(50)))
                .unwrap()
                .is_empty()
        );
        // A message makes the connection ready.
        a.send(&1).unwrap();
        assert_eq!(wait(&[&b, &child], None).unwrap(), [0]);
        // A message already buffered (read by `poll`) still counts.
        assert!(b.poll(Duration::from_secs(10)).unwrap());
        assert_eq!(wait(&[&b, &child], Some(Duration::ZERO)).unwrap(), [0]);
        assert_eq!(b.recv().unwrap(), 1);
        // The process's end makes it ready.
        tell.send(&0).unwrap();
        let mut ready = Vec::new();
        while ready.is_empty() {
            ready = wait(&[&b, &child], Some(Duration::from_secs(10))).unwrap();
        }
        assert_eq!(ready, [1]);
        assert!(
            child.as_fd().try_clone_to_owned().is_ok(),
            "a sentinel descriptor"
        );
        assert_eq!(child.join().unwrap(), 5);
    });
}
