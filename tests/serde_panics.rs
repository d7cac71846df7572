//! Issue 16, item 2: a panic in user serde code (a result's `Deserialize` in the owner, a
//! result's `Serialize` or the arguments' `Deserialize` in a worker, a `Process` return
//! value's `Serialize` in the child) fails that task alone, as `Error::Panicked` with the
//! panic's message; the pool carries on and nothing unwinds past a child's entry point.

mod common;

use common::bounded;
use forkpool::{Error, Pool, Process};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// These tests panic on purpose, and a `Process` child forked while another thread prints a
/// panic (holding stderr's lock) would block on that lock in its own panic: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// Serializes as its number; its `Deserialize` panics on 13.
#[derive(Serialize, Debug, PartialEq)]
struct ReadBomb(u64);

impl<'de> Deserialize<'de> for ReadBomb {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(d)?;
        assert!(n != 13, "unlucky read");
        Ok(Self(n))
    }
}

/// Deserializes as its number; its `Serialize` panics on 13.
#[derive(Deserialize, Debug, PartialEq)]
struct WriteBomb(u64);

impl Serialize for WriteBomb {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        assert!(self.0 != 13, "unlucky write");
        self.0.serialize(s)
    }
}

fn read_bomb(n: u64) -> ReadBomb {
    ReadBomb(n)
}

fn write_bomb(n: u64) -> WriteBomb {
    WriteBomb(n)
}

fn takes_read_bomb(b: ReadBomb) -> u64 {
    b.0
}

fn panicked_with(e: &Error, text: &str) -> bool {
    matches!(e, Error::Panicked { message, .. } if message.contains(text))
}

/// The result's `Deserialize` panics in the driver: that task fails, the others (in the same
/// `map` and later calls) are delivered, and the pool still closes, joins and drops.
#[test]
fn a_panicking_deserialize_in_the_owner_fails_that_task_alone() {
    let _one = serial();
    bounded(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let e = pool.apply(read_bomb, (13,)).unwrap_err();
        assert!(panicked_with(&e, "unlucky read"), "{e}");
        assert_eq!(pool.apply(read_bomb, (7,)).unwrap(), ReadBomb(7));
        let e = pool.map(read_bomb, 10..16).unwrap_err();
        assert!(panicked_with(&e, "unlucky read"), "{e}");
        let got: Vec<_> = pool.imap(read_bomb, 12..15).unwrap().collect();
        assert_eq!(got[0].as_ref().unwrap(), &ReadBomb(12));
        assert!(panicked_with(got[1].as_ref().unwrap_err(), "unlucky read"));
        assert_eq!(got[2].as_ref().unwrap(), &ReadBomb(14));
        assert_eq!(pool.map(read_bomb, 0..4).unwrap().len(), 4);
        pool.close();
        pool.join().unwrap();
    });
}

/// In a worker, the result's `Serialize` or the arguments' `Deserialize` panics: the task
/// fails as `Panicked` (not `WorkerDied`), with the message, and the worker serves on.
#[test]
fn a_panicking_serde_in_a_worker_is_the_tasks_panic() {
    let _one = serial();
    bounded(LIMIT, || {
        let pool = Pool::new(1).unwrap();
        let worker = pool.pids()[0];
        let e = pool.apply(write_bomb, (13,)).unwrap_err();
        assert!(panicked_with(&e, "unlucky write"), "{e}");
        let e = pool.apply(takes_read_bomb, (ReadBomb(13),)).unwrap_err();
        assert!(panicked_with(&e, "unlucky read"), "{e}");
        assert_eq!(pool.apply(write_bomb, (5,)).unwrap(), WriteBomb(5));
        assert_eq!(pool.pids(), [worker], "the worker was not replaced");
    });
}

/// Writes a byte to its pipe when dropped: a destructor of the parent's frame.
struct Marker(Option<OwnedFd>);

impl Drop for Marker {
    fn drop(&mut self) {
        if let Some(fd) = self.0.take() {
            let _ = nix::unistd::write(&fd, b"x");
        }
    }
}

/// A `Process` child whose return value's `Serialize` panics reports the panic to `join`
/// and never unwinds into the parent's frames (whose destructors would then run in it).
#[test]
fn a_process_child_never_unwinds_into_the_parents_frames() {
    let _one = serial();
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let marker = Marker(Some(write));
    let mut child = Process::spawn(|| WriteBomb(13)).unwrap();
    let e = child.join_timeout(LIMIT).unwrap_err();
    assert!(panicked_with(&e, "unlucky write"), "{e}");
    drop(marker); // the parent's own byte
    let mut got = Vec::new();
    std::fs::File::from(read).read_to_end(&mut got).unwrap();
    assert_eq!(got, b"x", "the parent's destructor ran in the child too");
}

fn plus_one(x: u64) -> u64 {
    x + 1
}

/// An argument whose `Serialize` panics at 7,000.
#[derive(Deserialize)]
struct LateBomb(u64);

impl Serialize for LateBomb {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        assert!(self.0 != 7000, "unlucky write");
        self.0.serialize(s)
    }
}

fn late_bomb(b: LateBomb) -> u64 {
    b.0
}

fn add(a: u64, b: u64) -> u64 {
    a + b
}

/// The caller's own iterator panics part-way through a call, after some chunks went out:
/// the panic reaches the caller, what went out is dropped with the call, and the pool
/// serves later calls, closes and joins (an iterator of known length is encoded as it is
/// read, without a list first).
#[test]
fn a_panicking_input_iterator_reaches_the_caller_and_leaves_the_pool_usable() {
    let _one = serial();
    bounded(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let unlucky = |x: u64| {
            assert!(x != 7000, "unlucky input");
            x
        };
        let calls: [&dyn Fn(&Pool); 6] = [
            &|p| drop(p.map(plus_one, (0..10_000).map(unlucky))),
            &|p| {
                drop(
                    p.imap(plus_one, (0..10_000).map(unlucky))
                        .map(Iterator::count),
                )
            },
            &|p| {
                drop(
                    p.imap_unordered(plus_one, (0..10_000).map(unlucky))
                        .map(Iterator::count),
                )
            },
            &|p| drop(p.map_chunked(plus_one, (0..10_000).map(unlucky), 10)),
            &|p| drop(p.starmap(add, (0..10_000).map(|x| (unlucky(x), x)))),
            &|p| drop(p.map_async(plus_one, (0..10_000).map(unlucky).filter(|_| true))),
        ];
        for call in calls {
            let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(&pool)));
            assert!(panicked.is_err());
            assert_eq!(pool.map(plus_one, 0..5).unwrap(), vec![1, 2, 3, 4, 5]);
        }
        // A panic in an argument's `Serialize` there is an error the caller gets.
        let e = pool.map(late_bomb, (0..10_000).map(LateBomb)).unwrap_err();
        assert!(panicked_with(&e, "unlucky write"), "{e}");
        assert_eq!(pool.map(plus_one, 0..5).unwrap(), vec![1, 2, 3, 4, 5]);
        pool.close();
        pool.join().unwrap();
    });
}
