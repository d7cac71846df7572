//! Issue 18: deep pipelines keep crash granularity. With `pipeline_depth(64)`, a worker
//! that dies fails only the task it was running; the results it had computed but not sent
//! come back (read from its result log), and the jobs queued behind it run once on another
//! worker. Each task counts its runs in shared memory, so a task run twice would show.

mod common;

use common::bounded;
use forkpool::{Array, Error, Pool};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// Counts its run, then aborts its process for the doomed indices.
fn count_then_maybe_die(runs: Array<u32>, i: usize, doomed: bool) -> usize {
    runs.with(|r| r[i] += 1);
    if doomed {
        std::process::abort();
    }
    i * 2
}

fn run(workers: usize, chunk: usize, n: usize, doomed: &[usize]) {
    let runs = Array::<u32>::new(n).unwrap();
    let pool = Pool::builder()
        .processes(workers)
        .pipeline_depth(64)
        .max_restarts(100, Duration::from_secs(60))
        .build()
        .unwrap();
    let args: Vec<_> = (0..n)
        .map(|i| (runs.clone(), i, doomed.contains(&i)))
        .collect();
    let got: Vec<_> = pool
        .imap_chunked(
            |(r, i, d): (Array<u32>, usize, bool)| count_then_maybe_die(r, i, d),
            args,
            chunk,
        )
        .unwrap()
        .collect();
    assert_eq!(got.len(), n);
    let runs = runs.to_vec();
    for (i, r) in got.iter().enumerate() {
        let chunk_of = |k: usize| k / chunk;
        let died_in_chunk = doomed.iter().any(|&d| chunk_of(d) == chunk_of(i) && d <= i);
        match r {
            Ok(v) => assert_eq!(*v, i * 2, "task {i}"),
            // A chunk is one job: the tasks of the running chunk from the crash on fail.
            Err(Error::WorkerDied { .. }) => assert!(died_in_chunk, "task {i} failed: {r:?}"),
            Err(e) => panic!("task {i}: {e}"),
        }
        let ran = runs[i];
        if doomed.contains(&i) || !died_in_chunk {
            assert_eq!(ran, 1, "task {i} ran {ran} times");
        } else {
            assert_eq!(ran, 0, "task {i} after the crash in its chunk ran");
        }
    }
}

#[test]
fn a_crash_in_a_deep_pipeline_fails_only_the_running_task() {
    bounded(LIMIT, || run(1, 1, 300, &[17, 150, 151, 299]));
}

#[test]
fn several_workers_and_chunks_lose_only_the_running_chunk() {
    bounded(LIMIT, || {
        run(3, 1, 2000, &[5, 500, 1000, 1001, 1999]);
        run(2, 4, 400, &[9, 100, 333]);
    });
}

fn count_run(runs: Array<u32>, i: usize) -> usize {
    runs.with(|r| r[i] += 1);
    i
}

fn stall(_: u64) -> u64 {
    std::thread::sleep(Duration::from_secs(60));
    0
}

/// A worker stopped on purpose (its running task passed its deadline, or was cancelled)
/// fails only that task: the tasks held behind it run once on its replacement, once it is
/// seen gone.
#[test]
fn a_deadline_or_a_cancel_in_a_deep_pipeline_fails_only_that_task() {
    bounded(LIMIT, || {
        for cancel in [false, true] {
            let runs = Array::<u32>::new(20).unwrap();
            let pool = Pool::builder()
                .processes(1)
                .pipeline_depth(64)
                .build()
                .unwrap();
            let opts = forkpool::AsyncOptions::new();
            let opts = if cancel {
                opts
            } else {
                opts.timeout(Duration::from_millis(300))
            };
            let stuck = pool.apply_async_with(stall, (0,), opts).unwrap();
            let behind: Vec<_> = (0..20)
                .map(|i| pool.apply_async(count_run, (runs.clone(), i)).unwrap())
                .collect();
            assert!(
                pool.stats().running > 1,
                "tasks are held behind the stuck one"
            );
            if cancel {
                std::thread::sleep(Duration::from_millis(100));
                assert!(stuck.cancel());
                assert!(matches!(stuck.get(), Err(Error::Cancelled)));
            } else {
                assert!(matches!(stuck.get(), Err(Error::TimedOut { .. })));
            }
            for (i, r) in behind.into_iter().enumerate() {
                assert_eq!(r.get().unwrap(), i, "cancel {cancel}");
            }
            assert_eq!(runs.to_vec(), vec![1; 20], "cancel {cancel}: each ran once");
        }
    });
}

/// Counts its run; returns its index and what its argument adds up to.
fn count_and_sum(runs: Array<u32>, i: usize, arg: serde_bytes::ByteBuf) -> (usize, u64) {
    runs.with(|r| r[i] += 1);
    (i, arg.iter().map(|&b| u64::from(b)).sum())
}

/// `len` bytes, each `i`.
fn payload(i: usize, len: usize) -> serde_bytes::ByteBuf {
    serde_bytes::ByteBuf::from(vec![i as u8; len])
}

/// Large arguments travel in messages that share their bytes with the copies kept to run
/// them again: held behind a task that passes its deadline, they still run once, whole,
/// on the replacement (small ones among them too, in order).
#[test]
fn large_arguments_held_behind_a_stopped_task_run_once_whole() {
    bounded(LIMIT, || {
        let runs = Array::<u32>::new(12).unwrap();
        let pool = Pool::builder()
            .processes(1)
            .pipeline_depth(64)
            .build()
            .unwrap();
        let opts = forkpool::AsyncOptions::new().timeout(Duration::from_millis(300));
        let stuck = pool.apply_async_with(stall, (0,), opts).unwrap();
        let len = |i: usize| if i.is_multiple_of(3) { 10 } else { 300_000 + i };
        let behind: Vec<_> = (0..12)
            .map(|i| {
                let args = (runs.clone(), i, payload(i, len(i)));
                pool.apply_async(count_and_sum, args).unwrap()
            })
            .collect();
        assert!(pool.stats().running > 1, "tasks are held behind");
        assert!(matches!(stuck.get(), Err(Error::TimedOut { .. })));
        for (i, r) in behind.into_iter().enumerate() {
            assert_eq!(r.get().unwrap(), (i, (i * len(i)) as u64), "task {i}");
        }
        assert_eq!(runs.to_vec(), vec![1; 12], "each ran once");
    });
}
