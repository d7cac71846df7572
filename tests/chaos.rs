//! Faults while the pool is busy: a worker crashing while the parent writes a large argument
//! to it or with large arguments lent to it, a worker dying right after it answered, a storm of `EINTR`, workers killed at
//! random under 10 threads, a callback that panics, `terminate` while results stream out.

mod common;

use common::{bounded, faults, no_leaks};
use forkpool::{AsyncOptions, AsyncResult, Connection, Error, Pool};
use serde_bytes::ByteBuf;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// Crashes (after a moment, so that the arguments queued behind are being written) when
/// `crash`; else returns the argument's length.
fn maybe_crash(crash: bool, arg: ByteBuf) -> usize {
    if crash {
        std::thread::sleep(Duration::from_millis(100));
        std::process::abort();
    }
    arg.len()
}

/// One worker, with jobs pipelined to it: those behind a crashing task are its when it dies.
fn one_pipelined_worker() -> Pool {
    Pool::builder()
        .processes(1)
        .pipeline_depth(8)
        .build()
        .unwrap()
}

/// The crashing task fails with its worker's death; each task behind it gives its expected
/// value, or the same death where the crashed worker held it.
fn each_behind_a_crash_runs(crash: AsyncResult<usize>, behind: Vec<(AsyncResult<usize>, usize)>) {
    assert!(matches!(crash.get(), Err(Error::WorkerDied { .. })));
    for (r, want) in behind {
        match r.get() {
            Ok(n) => assert_eq!(n, want),
            Err(Error::WorkerDied { .. }) => {} // held by the crashed worker
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
}

#[test]
fn a_worker_crashing_while_the_parent_writes_a_large_argument() {
    let run = || {
        let pool = one_pipelined_worker();
        let big = || ByteBuf::from(vec![7u8; 16 << 20]);
        let crash = pool
            .apply_async(maybe_crash, (true, ByteBuf::new()))
            .unwrap();
        // Queued behind the crash, these are pipelined to the same worker: 48 MiB that do
        // not fit its socket, so the parent is still writing when the worker dies.
        let behind: Vec<_> = (0..3)
            .map(|_| {
                (
                    pool.apply_async(maybe_crash, (false, big())).unwrap(),
                    16 << 20,
                )
            })
            .collect();
        each_behind_a_crash_runs(crash, behind);
        assert_eq!(pool.apply(maybe_crash, (false, big())).unwrap(), 16 << 20);
    };
    assert_eq!(no_leaks(run), (true, true));
}

/// Crashes (after a moment) when `bytes` is empty; else returns its length.
fn crash_on_empty(bytes: Vec<u8>) -> usize {
    if bytes.is_empty() {
        std::thread::sleep(Duration::from_millis(100));
        std::process::abort();
    }
    bytes.len()
}

/// A task's one large byte vector is lent to its worker as the caller's buffer (see
/// `pool/lone_bytes.rs`): the worker dies with such jobs lent to it and unread; they run
/// once each on its replacement, read from the same buffers.
#[test]
fn a_worker_crashing_with_lone_large_arguments_lent_to_it() {
    let run = || {
        let pool = one_pipelined_worker();
        let crash = pool.apply_async(crash_on_empty, (Vec::new(),)).unwrap();
        let behind: Vec<_> = [(8 << 20) + 1, 3 << 20, 1 << 20]
            .into_iter()
            .map(|len| {
                (
                    pool.apply_async(crash_on_empty, (vec![5u8; len],)).unwrap(),
                    len,
                )
            })
            .collect();
        each_behind_a_crash_runs(crash, behind);
        assert_eq!(
            pool.apply(crash_on_empty, (vec![1u8; 2 << 20],)).unwrap(),
            2 << 20
        );
    };
    assert_eq!(no_leaks(run), (true, true));
}

/// Answers 7, and aborts its process as soon as the parent says it got the answer.
fn answer_then_die(conn: Connection<u8>) -> u64 {
    std::thread::spawn(move || {
        let _ = conn.recv();
        std::process::abort();
    });
    7
}

#[test]
fn a_worker_that_dies_after_answering_loses_nothing() {
    let run = || {
        let pool = Pool::new(1).unwrap();
        let (ours, theirs) = forkpool::pipe::<u8>().unwrap();
        let before = pool.pids();
        assert_eq!(pool.apply(answer_then_die, (theirs,)).unwrap(), 7);
        ours.send(&1).unwrap();
        assert!(common::eventually(Duration::from_secs(10), || {
            let now = pool.pids();
            now.len() == 1 && now != before
        }));
        assert_eq!(pool.map(echo_len, [3usize, 4]).unwrap(), [3, 4]);
    };
    assert_eq!(no_leaks(run), (true, true));
}

fn echo_len(n: usize) -> usize {
    n
}

fn storm_in_worker() {
    std::mem::forget(faults::eintr_storm(Duration::from_millis(1)));
}

fn echo(v: ByteBuf) -> ByteBuf {
    v
}

/// Every system call of the parent and the workers is interrupted every millisecond while
/// 8 MiB arguments and results cross: nothing fails, nothing is lost.
#[test]
fn eight_mib_messages_under_an_eintr_storm() {
    let ok = common::in_child(LIMIT, || {
        let pool = Pool::builder()
            .processes(2)
            .initializer(storm_in_worker, ())
            .build()
            .unwrap();
        let _storm = faults::eintr_storm(Duration::from_millis(1));
        let items: Vec<ByteBuf> = (0..6u8).map(|i| ByteBuf::from(vec![i; 8 << 20])).collect();
        let back = pool.map(echo, items.clone()).unwrap();
        let one = pool.apply(echo, (items[5].clone(),)).unwrap();
        let streamed: Vec<ByteBuf> = pool
            .imap(echo, items.clone())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let (a, b) = forkpool::pipe::<ByteBuf>().unwrap();
        let sent = items[1].clone();
        let writer = std::thread::spawn(move || a.send(&sent).unwrap());
        let piped = b.recv().unwrap();
        writer.join().unwrap();
        back == items && one == items[5] && streamed == items && piped == items[1]
    });
    assert!(ok);
}

fn mul(a: u64, b: u64) -> u64 {
    a * b
}

/// Multiplies, and says which worker did.
fn mul_where(a: u64, b: u64) -> (u64, u32) {
    (a * b, std::process::id())
}

/// Ten threads call the pool while another kills a random worker (one that has answered,
/// so it is running: killing workers before they are ready is the restart limit's business,
/// see `tests/stop.rs`) every few milliseconds. Each call returns its right value or
/// `WorkerDied`; nothing hangs, nothing leaks.
#[test]
fn ten_threads_while_workers_are_killed_at_random() {
    let run = || {
        let pool = Arc::new(Pool::new(2).unwrap());
        let seen = Arc::new(std::sync::Mutex::new(Vec::<u32>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let killer = {
            let (pool, stop, seen) = (Arc::clone(&pool), Arc::clone(&stop), Arc::clone(&seen));
            std::thread::spawn(move || {
                let mut kills = 0u32;
                let mut x = 12345u32;
                while !stop.load(Ordering::Relaxed) {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let running: Vec<u32> = {
                        let seen = seen.lock().unwrap();
                        pool.pids()
                            .into_iter()
                            .filter(|p| seen.contains(p))
                            .collect()
                    };
                    if let Some(&pid) = running.get((x >> 16) as usize % running.len().max(1)) {
                        let pid = nix::unistd::Pid::from_raw(pid as i32);
                        let killed = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                        kills += u32::from(killed.is_ok());
                    }
                    std::thread::sleep(Duration::from_millis(3));
                }
                kills
            })
        };
        let callers: Vec<_> = (0..10u64)
            .map(|t| {
                let (pool, seen) = (Arc::clone(&pool), Arc::clone(&seen));
                std::thread::spawn(move || -> Result<u32, String> {
                    let mut ok = 0;
                    for i in 0..100u64 {
                        match pool.apply(mul_where, (t, i)) {
                            Ok((v, pid)) if v == t * i => {
                                seen.lock().unwrap().push(pid);
                                ok += 1;
                            }
                            Ok(v) => return Err(format!("{t} * {i} gave {v:?}")),
                            Err(Error::WorkerDied { .. }) => {}
                            Err(e) => return Err(format!("apply: {e}")),
                        }
                    }
                    let mapped = pool.map_async(mul_pair, (0..50).map(|i| (t, i)));
                    match mapped.map_err(|e| format!("map_async: {e}"))?.get() {
                        Ok(v) if v == (0..50).map(|i| t * i).collect::<Vec<_>>() => {}
                        Ok(v) => return Err(format!("map gave {v:?}")),
                        Err(Error::WorkerDied { .. }) => {}
                        Err(e) => return Err(format!("map: {e}")),
                    }
                    Ok(ok)
                })
            })
            .collect();
        let results: Vec<_> = callers.into_iter().map(|h| h.join().unwrap()).collect();
        stop.store(true, Ordering::Relaxed);
        let kills = killer.join().unwrap();
        let ok: u32 = results.iter().map(|r| r.clone().unwrap()).sum();
        assert!(kills > 0, "workers were killed");
        assert!(ok > 0);
        assert_eq!(pool.apply(mul, (6, 7)).unwrap(), 42, "the pool recovered");
    };
    assert_eq!(no_leaks(run), (true, true));
}

fn mul_pair(p: (u64, u64)) -> u64 {
    p.0 * p.1
}

/// A callback that panics: its call reports `CallbackPanicked`, the pool keeps working and
/// later calls (with callbacks) complete.
#[test]
fn a_callback_that_panics() {
    let pool = Pool::new(2).unwrap();
    let bad = pool
        .apply_async_with(
            mul,
            (2, 3),
            AsyncOptions::new().callback(|v: &u64| panic!("callback saw {v}")),
        )
        .unwrap();
    let bad_err = pool
        .apply_async_with(
            maybe_crash,
            (true, ByteBuf::new()),
            AsyncOptions::new().error_callback(|e| panic!("error callback saw: {e}")),
        )
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let later = pool
        .map_async_with(
            mul_pair,
            [(1, 2), (3, 4)],
            AsyncOptions::new().callback(move |v: &Vec<u64>| tx.send(v.clone()).unwrap()),
        )
        .unwrap();
    bounded(LIMIT, move || {
        match bad.get() {
            Err(Error::CallbackPanicked { message }) => assert_eq!(message, "callback saw 6"),
            other => panic!("expected CallbackPanicked, got {other:?}"),
        }
        match bad_err.get() {
            Err(Error::CallbackPanicked { message }) => {
                assert!(message.starts_with("error callback saw"), "{message}")
            }
            other => panic!("expected CallbackPanicked, got {other:?}"),
        }
        assert_eq!(later.get().unwrap(), [2, 12]);
        assert_eq!(rx.recv().unwrap(), [2, 12]);
        assert_eq!(pool.apply(mul, (6, 7)).unwrap(), 42);
    });
}

fn slow_square(x: u64) -> u64 {
    std::thread::sleep(Duration::from_micros(200));
    x * x
}

/// `terminate` from another thread while an `imap` is being read: the reader sees results
/// in order, then errors, each index once, and never hangs.
#[test]
fn terminate_while_results_are_being_delivered() {
    let run = || {
        let pool = Arc::new(Pool::new(2).unwrap());
        let reader = {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                let mut seen = BTreeSet::new();
                let mut errors = 0;
                for (i, r) in pool.imap(slow_square, 0..100_000u64).unwrap().enumerate() {
                    assert!(seen.insert(i));
                    match r {
                        Ok(v) => assert_eq!(v, (i as u64) * (i as u64)),
                        Err(Error::Terminated) => errors += 1,
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                }
                (seen.len(), errors)
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        pool.terminate();
        let (n, errors) = reader.join().unwrap();
        assert!(errors > 0 && n <= 100_000, "{n} results, {errors} errors");
        pool.join().unwrap();
    };
    assert_eq!(no_leaks(run), (true, true));
}
