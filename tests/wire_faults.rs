//! A worker that writes garbage on its result stream: a truncated frame then EOF, a frame
//! declaring 4 GiB, random bytes, a valid frame with a corrupt body. Only that worker's task
//! fails, with an error naming the cause; the worker is killed and replaced, every other
//! task's result arrives exactly once, and nothing leaks.
//!
//! The tasks write straight to their worker's socket (the one socket a worker has), with
//! the packet layout of `backend-std/src/wire.rs`: an 8-byte writer id, then frames of the
//! core's codec (`b"FP"`, kind, aux, u32 length).

mod common;

use common::no_leaks;
use forkpool::{Error, Pool};
use nix::sys::socket::{MsgFlags, send};
use std::time::Duration;

/// The protocol's kind byte for results (`DONE` in `backend-std/src/protocol.rs`).
const DONE: u8 = 12;

fn worker_socket() -> i32 {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let target = std::fs::read_link(e.path()).ok()?;
            let fd = e.file_name().to_str()?.parse::<i32>().ok()?;
            (fd > 2 && target.to_str()?.starts_with("socket:")).then_some(fd)
        })
        .min()
        .expect("a worker has its socket")
}

fn packet(frame_header: [u8; 8], body: &[u8]) -> Vec<u8> {
    let mut p = 0xfeed_u64.to_le_bytes().to_vec();
    p.extend_from_slice(&frame_header);
    p.extend_from_slice(body);
    p
}

fn header(kind: u8, len: u32) -> [u8; 8] {
    let l = len.to_le_bytes();
    [b'F', b'P', kind, 0, l[0], l[1], l[2], l[3]]
}

/// Writes one kind of garbage, then (unless it exits) waits to be killed.
fn misbehave(how: u8) -> u64 {
    let fd = worker_socket();
    let bytes = match how {
        0 => packet(header(DONE, 1000), &[7; 100]), // truncated: 100 of 1000 bytes
        1 => packet(header(DONE, u32::MAX), &[]),   // declares 4 GiB
        2 => {
            let mut x = 0x2545_f491_4f6c_dd1d_u64;
            (0..4096)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        }
        _ => packet(header(DONE, 16), &[0xff; 16]), // a whole frame, corrupt records
    };
    send(fd, &bytes, MsgFlags::MSG_NOSIGNAL).unwrap();
    if how == 0 {
        std::process::exit(0); // EOF in the middle of the frame
    }
    std::thread::sleep(Duration::from_secs(60));
    0
}

fn double(x: u64) -> u64 {
    x * 2
}

fn garbage_fails_only_its_task(how: u8) {
    let pool = Pool::new(2).unwrap();
    let others = pool.map_async(double, 0..200).unwrap();
    let bad = pool.apply_async(misbehave, (how,)).unwrap();
    let more = pool.map_async(double, 200..400).unwrap();
    let err = bad.get().unwrap_err();
    match (how, &err) {
        (0, Error::WorkerDied { .. }) => {}
        (1, Error::Protocol(m)) => assert!(m.contains("4294967295"), "{m}"),
        (2 | 3, Error::Protocol(_)) => {}
        _ => panic!("garbage {how}: unexpected {err:?}"),
    }
    let expect: Vec<u64> = (0..400).map(double).collect();
    let mut got = others.get().unwrap();
    got.extend(more.get().unwrap());
    assert_eq!(got, expect, "every other result exactly once");
    assert_eq!(
        pool.apply(double, (21,)).unwrap(),
        42,
        "the pool carries on"
    );
    // The replacement starts off the pool's lock: it is up shortly after.
    let replaced = common::eventually(Duration::from_secs(10), || pool.pids().len() == 2);
    assert!(replaced, "the faulty worker was replaced");
}

#[test]
fn a_truncated_frame_then_eof() {
    assert_eq!(no_leaks(|| garbage_fails_only_its_task(0)), (true, true));
}

#[test]
fn a_frame_declaring_4_gib() {
    assert_eq!(no_leaks(|| garbage_fails_only_its_task(1)), (true, true));
}

#[test]
fn random_bytes_on_the_result_stream() {
    assert_eq!(no_leaks(|| garbage_fails_only_its_task(2)), (true, true));
}

#[test]
fn a_whole_frame_with_corrupt_records() {
    assert_eq!(no_leaks(|| garbage_fails_only_its_task(3)), (true, true));
}

/// The protocol's kind byte for jobs (`RUN` in `backend-std/src/protocol/mod.rs`).
const RUN: u8 = 2;

/// The driver's end of this pool's worker socket, as a `Process` child of the owner
/// inherits it: the socket whose creator (`SO_PEERCRED`) is the fork server.
fn driver_end() -> i32 {
    let server = forkpool::fork_server_pid().unwrap() as i32;
    (3..1024)
        .find(|&fd| {
            // SAFETY: borrowed only for this call; the descriptor stays open throughout.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            nix::sys::socket::getsockopt(&fd, nix::sys::socket::sockopt::PeerCredentials)
                .is_ok_and(|c| c.pid() == server)
        })
        .expect("the driver's end of the worker socket")
}

fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// Issue 16, item 9: a `RUN` frame that the pool's driver did not write (here: from a
/// `Process` child that kept the driver's end) names an arbitrary function address for the
/// task in flight. The worker does not jump there (it refuses the job: see the unit test
/// `worker::tests::a_job_whose_tag_does_not_match_is_refused`); the task it was running
/// still delivers its result, and the pool carries on.
#[test]
fn a_forged_function_address_is_not_called() {
    let got = common::in_child(Duration::from_secs(60), || {
        let pool = Pool::new(1).unwrap();
        let running = pool.apply_async(nap, (300,)).unwrap();
        let fd = driver_end();
        let mut job = Vec::new();
        job.extend_from_slice(&0u64.to_le_bytes()); // first: the task in flight
        job.extend_from_slice(&0x10_u64.to_le_bytes()); // call: no function is there
        job.extend_from_slice(&1u64.to_le_bytes()); // tag: not this pool's
        job.extend_from_slice(&1u32.to_le_bytes()); // one item...
        job.extend_from_slice(&[0, 0, 0, 0, 0]); // ...of no bytes, no descriptors
        let forger = forkpool::Process::spawn(move || {
            send(
                fd,
                &packet(header(RUN, job.len() as u32), &job),
                MsgFlags::MSG_NOSIGNAL,
            )
            .is_ok()
        })
        .unwrap();
        assert!(forger.join().unwrap());
        let worker = pool.pids();
        let got = running.get().map_err(|e| e.to_string());
        // The refusal reaches the driver as an answer nobody asked for: that worker is
        // stopped and replaced (a task sent to it meanwhile would fail as a protocol error).
        let replaced = common::eventually(Duration::from_secs(10), || {
            let now = pool.pids();
            now.len() == 1 && now != worker
        });
        let after = pool.apply(nap, (1,)).map_err(|e| e.to_string());
        (got, replaced, after)
    });
    assert_eq!(got, (Ok(300), true, Ok(1)));
}
