//! Barriers, shared values, arrays and memory between processes (issue 20), mirroring
//! CPython's `_TestBarrier`, `_TestValue`, `_TestArray` and `_TestSharedMemory` (each test
//! names the one it mirrors), plus a barrier whose party dies.

mod common;

use common::bounded;
use forkpool::{Array, Barrier, Error, Event, Pool, Process, SharedMemory, Value};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);
const LONG: Duration = Duration::from_secs(30);

/// `_TestBarrier.test_barrier`: parties in pool workers and the owner meet, several times;
/// the arrival indices are 0..n.
#[test]
fn test_barrier() {
    bounded(LIMIT, || {
        fn meet(b: Barrier, rounds: u32) -> Vec<u32> {
            (0..rounds).map(|_| b.wait_timeout(LONG).unwrap()).collect()
        }
        let b = Barrier::new(3).unwrap();
        let pool = Pool::new(2).unwrap();
        let theirs = pool
            .starmap_async(meet, [(b.clone(), 4), (b.clone(), 4)])
            .unwrap();
        let mine = meet(b.clone(), 4);
        let theirs = theirs.get().unwrap();
        for round in 0..4 {
            let mut idx = vec![mine[round], theirs[0][round], theirs[1][round]];
            idx.sort_unstable();
            assert_eq!(idx, [0, 1, 2]);
        }
        assert_eq!((b.parties(), b.n_waiting(), b.broken()), (3, 0, false));
    });
}

/// `_TestBarrier.test_abort`: an abort breaks the waiters.
#[test]
fn test_abort() {
    bounded(LIMIT, || {
        let b = Barrier::new(2).unwrap();
        let theirs = b.clone();
        let child = Process::spawn(move || theirs.wait_timeout(LONG).is_err()).unwrap();
        while b.n_waiting() == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        b.abort().unwrap();
        assert!(child.join().unwrap());
        assert!(b.broken());
        assert!(matches!(b.wait(), Err(Error::BrokenBarrier { pid: None })));
    });
}

/// `_TestBarrier.test_reset`: waiters at a reset fail; afterwards it works again.
#[test]
fn test_reset() {
    bounded(LIMIT, || {
        let b = Barrier::new(2).unwrap();
        let theirs = b.clone();
        let child = Process::spawn(move || theirs.wait_timeout(LONG).is_err()).unwrap();
        while b.n_waiting() == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        b.reset().unwrap();
        assert!(child.join().unwrap());
        assert!(!b.broken());
        let theirs = b.clone();
        let child = Process::spawn(move || theirs.wait_timeout(LONG).is_ok()).unwrap();
        assert!(b.wait_timeout(LONG).is_ok());
        assert!(child.join().unwrap());
    });
}

/// `_TestBarrier.test_timeout`: a wait that runs out breaks the barrier for everyone.
#[test]
fn test_barrier_timeout() {
    let b = Barrier::new(2).unwrap();
    assert!(matches!(
        b.wait_timeout(Duration::from_millis(50)),
        Err(Error::BrokenBarrier { .. })
    ));
    assert!(b.broken());
}

/// Not in Python: a party that dies before the barrier trips breaks it, naming the
/// party; the waiters do not hang.
#[test]
fn a_barrier_whose_party_died_is_broken_not_hung() {
    bounded(LIMIT, || {
        let b = Barrier::new(3).unwrap();
        let arrived = Event::new().unwrap();
        // A party: it receives the barrier in a task's arguments, then its worker dies.
        fn take_then_die(_b: Barrier, ready: Event) {
            ready.set().unwrap();
            std::process::abort();
        }
        let pool = Pool::new(1).unwrap();
        let died = pool
            .apply_async(take_then_die, (b.clone(), arrived.clone()))
            .unwrap();
        assert!(arrived.wait_timeout(LONG));
        assert!(matches!(died.get(), Err(Error::WorkerDied { .. })));
        let theirs = b.clone();
        let waiter = Process::spawn(move || match theirs.wait_timeout(LONG) {
            Err(Error::BrokenBarrier { pid }) => pid.is_some(),
            _ => false,
        })
        .unwrap();
        let mine = b.wait_timeout(LONG);
        assert!(
            matches!(mine, Err(Error::BrokenBarrier { pid: Some(_) })),
            "{mine:?}"
        );
        assert!(waiter.join().unwrap());
    });
}

/// `_TestValue.test_value`: values of several types, read and written across processes;
/// `update` is atomic across pool workers.
#[test]
fn test_value() {
    bounded(LIMIT, || {
        let (i, f, pair) = (
            Value::new(25i32).unwrap(),
            Value::new(1.25f64).unwrap(),
            Value::new([1u8, 2]).unwrap(),
        );
        let (ci, cf, cp) = (i.clone(), f.clone(), pair.clone());
        Process::spawn(move || {
            ci.store(ci.load() * 2);
            cf.update(|x| *x += 1.0);
            cp.store([9, 8]);
        })
        .unwrap()
        .join()
        .unwrap();
        assert_eq!((i.load(), f.load(), pair.load()), (50, 2.25, [9, 8]));
        fn bump(v: Value<u64>) {
            for _ in 0..200 {
                v.update(|x| *x += 1);
            }
        }
        let n = Value::new(0u64).unwrap();
        let pool = Pool::new(3).unwrap();
        pool.map(bump, (0..6).map(|_| n.clone())).unwrap();
        assert_eq!(n.load(), 1200);
    });
}

/// `_TestArray.test_array`: an array filled by pool workers, read by the owner; and
/// `from_slice`, `len`, `to_vec`.
#[test]
fn test_array() {
    bounded(LIMIT, || {
        fn square_into(a: Array<i64>, i: usize) {
            a.with(|s| s[i] = (i * i) as i64);
        }
        let a = Array::<i64>::new(10).unwrap();
        assert_eq!((a.len(), a.to_vec()), (10, vec![0; 10]));
        let pool = Pool::new(2).unwrap();
        pool.starmap(square_into, (0..10).map(|i| (a.clone(), i)))
            .unwrap();
        assert_eq!(a.to_vec(), (0..10).map(|i| i * i).collect::<Vec<i64>>());
        let b = Array::from_slice(&[1.5f32, 2.5]).unwrap();
        let theirs = b.clone();
        let sum = Process::spawn(move || theirs.with(|s| s.iter().sum::<f32>()))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(sum, 4.0);
    });
}

/// `_TestSharedMemory.test_shared_memory_basics`: a block written in one process is read
/// in another (a `Process` child and a pool worker), in both directions; sizes hold.
#[test]
fn test_shared_memory_basics() {
    bounded(LIMIT, || {
        let mut m = SharedMemory::new(1 << 20).unwrap();
        assert_eq!(m.len(), 1 << 20);
        assert!(m.as_slice().iter().all(|&b| b == 0));
        m.as_mut_slice()[..5].copy_from_slice(b"hello");
        let mut theirs = m.try_clone().unwrap();
        let child = Process::spawn(move || {
            let seen = theirs.as_slice()[..5].to_vec();
            theirs.as_mut_slice()[5..10].copy_from_slice(b"world");
            seen
        })
        .unwrap();
        assert_eq!(child.join().unwrap(), b"hello");
        assert_eq!(&m.as_slice()[..10], b"helloworld");
        fn shout(mut m: SharedMemory) -> usize {
            m.as_mut_slice()[..5].make_ascii_uppercase();
            m.len()
        }
        let pool = Pool::new(1).unwrap();
        assert_eq!(
            pool.apply(shout, (m.try_clone().unwrap(),)).unwrap(),
            1 << 20
        );
        assert_eq!(&m.as_slice()[..10], b"HELLOworld");
        let empty = SharedMemory::new(0).unwrap();
        assert!(empty.is_empty() && empty.as_slice().is_empty());
    });
}

/// Read-only data for every pool worker without a copy: a 32 MiB `SharedBytes` handed to
/// each task reaches it as a descriptor; the worker reads every byte of it and its private
/// memory hardly grows (the pages are the shared file's). It cannot be written anywhere.
#[test]
fn shared_bytes_reach_every_worker_without_a_copy() {
    bounded(LIMIT, || {
        fn anon_kib() -> u64 {
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
            line.split_whitespace().nth(1).unwrap().parse().unwrap()
        }
        fn read_all(data: forkpool::SharedBytes) -> (u64, u64) {
            let before = anon_kib();
            let sum = data
                .iter()
                .step_by(4096)
                .map(|&b| u64::from(b))
                .sum::<u64>()
                + u64::from(data[data.len() - 1]);
            (sum, anon_kib().saturating_sub(before))
        }
        let len = 32 << 20;
        let bytes: Vec<u8> = (0..len).map(|i| (i / 4096) as u8).collect();
        let expected = bytes
            .iter()
            .step_by(4096)
            .map(|&b| u64::from(b))
            .sum::<u64>()
            + u64::from(bytes[len - 1]);
        let shared = forkpool::SharedBytes::new(&bytes).unwrap();
        drop(bytes);
        let pool = Pool::new(2).unwrap();
        let got = pool.map(read_all, (0..4).map(|_| shared.clone())).unwrap();
        for (sum, grew_kib) in got {
            assert_eq!(sum, expected);
            assert!(
                grew_kib < 4 << 10,
                "the worker's private memory grew {grew_kib} KiB"
            );
        }
        assert_eq!(shared.as_pod::<u32>().map(<[u32]>::len), Some(len / 4));
    });
}
