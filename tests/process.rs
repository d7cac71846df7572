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

/// A large value (read by the parent straight from the child's memory) comes back whole,
/// and so does one joined with a time limit.
#[test]
fn a_large_value_comes_back_whole() {
    let text: String = (0..(6u32 << 20))
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let want = text.clone();
    let p = Process::spawn(move || text).unwrap();
    let got = bounded(LIMIT, move || p.join()).unwrap();
    assert!(got == want, "the value differs");
    let mut p = Process::spawn(|| vec![7u32; 1 << 20]).unwrap();
    let got = bounded(LIMIT, move || p.join_timeout(Duration::from_secs(20))).unwrap();
    assert_eq!(got, vec![7u32; 1 << 20]);
}

/// Two byte strings and a number; encoding panics after the byte strings when the number
/// is 0.
#[derive(serde::Deserialize, PartialEq, Debug)]
struct Pair(serde_bytes::ByteBuf, serde_bytes::ByteBuf, u8);

impl serde::Serialize for Pair {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTupleStruct;
        let mut t = s.serialize_tuple_struct("Pair", 3)?;
        t.serialize_field(&self.0)?;
        t.serialize_field(&self.1)?;
        assert!(self.2 != 0, "fails after its byte strings");
        t.serialize_field(&self.2)?;
        t.end()
    }
}

fn pair(n: u8) -> Pair {
    let bytes = |len: usize, k: u8| serde_bytes::ByteBuf::from(vec![k; len]);
    Pair(bytes(3 << 20, 1), bytes((1 << 20) + 7, 2), n)
}

/// Large byte strings anywhere in a value (read from the child's memory while it encodes
/// them) come back in place; a value that panics after them comes back as its panic.
#[test]
fn large_byte_strings_in_a_value_come_back_in_place() {
    let p = Process::spawn(|| pair(5)).unwrap();
    assert_eq!(bounded(LIMIT, move || p.join()).unwrap(), pair(5));
    let p = Process::spawn(|| pair(0)).unwrap();
    match bounded(LIMIT, move || p.join()) {
        Err(Error::Panicked { message, .. }) => {
            assert!(message.contains("fails after"), "{message}")
        }
        other => panic!("expected the encoding's panic, got {other:?}"),
    }
    let p = Process::spawn(|| serde_bytes::ByteBuf::from(vec![9u8; 5 << 20])).unwrap();
    let got = bounded(LIMIT, move || p.join()).unwrap();
    assert!(got.len() == 5 << 20 && got.iter().all(|&b| b == 9));
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

/// Issue 16, item 3, for `Process`: a child that forks a grandchild (which keeps the
/// child's socket open) and then aborts is reported dead at once.
#[test]
fn a_child_that_forks_and_aborts_is_seen_dead() {
    let (tell, told) = forkpool::pipe::<u32>().unwrap();
    let p = Process::spawn(move || -> u8 {
        let grandchild = Process::spawn(|| std::thread::sleep(Duration::from_secs(60))).unwrap();
        tell.send(&grandchild.pid()).unwrap();
        std::mem::forget(grandchild);
        std::process::abort()
    })
    .unwrap();
    let got = bounded(LIMIT, move || p.join());
    let grandchild = told.recv().unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(grandchild as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    match got {
        Err(Error::WorkerDied {
            cause: ExitCause::Signaled { name, .. },
            ..
        }) => assert_eq!(name, "SIGABRT"),
        other => panic!("expected WorkerDied(SIGABRT), got {other:?}"),
    }
}

/// Issue 16, item 10: a child that closed its socket but runs on makes `join_timeout` time
/// out (not block in `waitpid`); once it is gone, `join_timeout` reports how it died, and a
/// further join says it was already joined.
#[test]
fn join_timeout_after_a_hang_up_keeps_its_bound() {
    let mut p = Process::spawn(|| -> u8 {
        // SAFETY: close_range only closes; closes this child's descriptors above stderr, its socket among them.
        unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
        std::thread::sleep(Duration::from_secs(60));
        0
    })
    .unwrap();
    let got = bounded(LIMIT, move || {
        let first = p.join_timeout(Duration::from_millis(200));
        p.kill().unwrap();
        let second = p.join_timeout(LIMIT);
        let third = p.join_timeout(Duration::ZERO);
        (first, second, third)
    });
    assert!(matches!(got.0, Err(Error::Timeout)), "{:?}", got.0);
    assert!(
        matches!(
            got.1,
            Err(Error::WorkerDied {
                cause: ExitCause::Signaled {
                    name: "SIGKILL",
                    ..
                },
                ..
            })
        ),
        "{:?}",
        got.1
    );
    assert!(
        matches!(got.2, Err(Error::InvalidArgument(_))),
        "{:?}",
        got.2
    );
}

/// Recurses until the stack runs out.
#[allow(unconditional_recursion)]
fn deeper(n: u64) -> u64 {
    let frame = std::hint::black_box([n; 64]);
    deeper(n + 1).wrapping_add(frame[7])
}

/// A task that overflows its stack aborts its process, a child (Rust's runtime's handler)
/// or a pool's worker (the fork server's, since workers are forked before the runtime sets
/// one up; they died of a bare `SIGSEGV`). The error names a stack overflow among the
/// likely causes, so the user knows where to look.
#[test]
fn a_stack_overflow_is_named_as_a_likely_cause() {
    let p = Process::spawn(|| deeper(0)).unwrap();
    let child = bounded(LIMIT, move || p.join());
    let pool = forkpool::Pool::new(1).unwrap();
    let task = bounded(LIMIT, move || pool.apply(deeper, (0,)));
    for r in [child, task] {
        match r {
            // Aborted by the stack-overflow handler: Rust's runtime's in the child, the
            // fork server's in the worker (which also writes a line to stderr).
            Err(
                e @ Error::WorkerDied {
                    cause:
                        ExitCause::Signaled {
                            name: "SIGABRT", ..
                        },
                    ..
                },
            ) => {
                let text = e.to_string();
                assert!(text.contains("stack overflow"), "{text}");
            }
            other => panic!("expected the process to abort, got {other:?}"),
        }
    }
}
