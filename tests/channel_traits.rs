//! Issue 17, deliverable 5: `Connection<T>` implements the core's `TrySend<T>` and
//! `TryRecv<T>`, never blocking, so the same generic code runs over an in-process core
//! `Channel` and between two processes.

mod common;

use common::bounded;
use forkpool::core::{Channel, TryRecv, TryRecvError, TrySend, TrySendError};
use forkpool::{Process, pipe};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// Sends `0..n`, retrying while the channel is full; how many times it was full.
fn produce(tx: &impl TrySend<u64>, n: u64) -> u64 {
    let mut full = 0;
    for mut v in 0..n {
        loop {
            match tx.try_send(v) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) => {
                    full += 1;
                    v = back;
                    std::thread::yield_now();
                }
                Err(e) => panic!("send failed: {e}"),
            }
        }
    }
    full
}

/// Receives `n` values, retrying while the channel is empty.
fn consume(rx: &impl TryRecv<u64>, n: usize) -> Vec<u64> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        match rx.try_recv() {
            Ok(v) => got.push(v),
            Err(TryRecvError::Empty) => std::thread::yield_now(),
            Err(e) => panic!("receive failed: {e}"),
        }
    }
    got
}

#[test]
fn the_same_generic_code_runs_in_process_and_across_processes() {
    // In one process, over the core's fixed-capacity channel (it fills up at 4).
    let channel: Channel<u64, 4, spin::Mutex<_>> = Channel::new();
    let (tx, rx) = channel.split();
    std::thread::scope(|s| {
        let producer = s.spawn(|| produce(&tx, 100));
        assert_eq!(consume(&rx, 100), (0..100).collect::<Vec<_>>());
        producer.join().unwrap();
    });

    // Between two processes, over a Connection (it fills up at the socket's buffer).
    let (ours, theirs) = pipe::<u64>().unwrap();
    let n = 200_000u64;
    let child = Process::spawn(move || produce(&theirs, n)).unwrap();
    let got = bounded(LIMIT, move || consume(&ours, n as usize));
    assert_eq!(got, (0..n).collect::<Vec<_>>());
    let full = child.join().unwrap();
    assert!(
        full > 0,
        "the socket never filled up: the test did not test Full"
    );
}

/// In a child process of its own: a test running alongside that forks would hold copies of
/// this test's sockets, and a closed end would not read as disconnected.
#[test]
fn disconnected_and_unsendable_are_told_apart() {
    let seen = common::in_child(LIMIT, || {
        let (a, b) = pipe::<Vec<u8>>().unwrap();
        a.set_max_message(1024);
        let unsendable = matches!(
            TrySend::try_send(&a, vec![0; 4096]),
            Err(TrySendError::Unsendable(v)) if v.len() == 4096
        );
        let empty = TryRecv::try_recv(&b) == Err(TryRecvError::Empty);
        // A message longer than one packet (64 KiB) goes whole.
        a.set_max_message(1 << 20);
        b.set_max_message(1 << 20);
        TrySend::try_send(&a, vec![7; 200_000]).unwrap();
        let long = loop {
            match TryRecv::try_recv(&b) {
                Err(TryRecvError::Empty) => std::thread::yield_now(),
                other => break other.map(|v| v.len()),
            }
        } == Ok(200_000);
        drop(b);
        let disconnected = matches!(
            TrySend::try_send(&a, vec![1]),
            Err(TrySendError::Disconnected(_))
        );
        let (c, d) = pipe::<u8>().unwrap();
        drop(c);
        let gone = TryRecv::try_recv(&d) == Err(TryRecvError::Disconnected);
        [unsendable, empty, long, disconnected, gone]
    });
    assert_eq!(
        seen, [true; 5],
        "unsendable, empty, long, disconnected, gone"
    );
}
