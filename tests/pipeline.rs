//! Deep pipelines (`pipeline_depth`): jobs a caller dispatches to a busy worker are held
//! back for the driver, which sends them in one message; every task still gets exactly its
//! own result, in every outcome.

mod common;

use common::bounded;
use forkpool::{Connection, Error, Pool, pipe};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn inc(x: u64) -> u64 {
    x + 1
}

fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// A burst of `apply_async` calls (held back, then sent in batches) resolves every result
/// once, to its own value.
#[test]
fn a_burst_of_apply_async_resolves_every_result() {
    let pool = Pool::builder()
        .processes(2)
        .pipeline_depth(64)
        .build()
        .unwrap();
    let ok = bounded(LIMIT, move || {
        let results: Vec<_> = (0..20_000u64)
            .map(|x| pool.apply_async(inc, (x,)).unwrap())
            .collect();
        results
            .into_iter()
            .enumerate()
            .all(|(x, r)| r.get().unwrap() == x as u64 + 1)
    });
    assert!(ok);
}

fn greet_all(conns: Vec<Connection<u64>>, id: u64) -> u64 {
    for c in &conns {
        c.send(&id).unwrap();
    }
    id
}

/// Held jobs carrying more descriptors than one message may hold (about half of the 70
/// tasks are given to the busy worker, 8 ends each: over 250) go out in several messages:
/// each task still gets its own ends.
#[test]
fn held_jobs_with_many_connections_split_into_messages() {
    const TASKS: u64 = 70;
    const ENDS: usize = 8;
    let pool = Pool::builder()
        .processes(1)
        .pipeline_depth(64)
        .build()
        .unwrap();
    let (mine, tasks): (Vec<_>, Vec<_>) = (0..TASKS)
        .map(|id| {
            let (ours, theirs): (Vec<_>, Vec<_>) =
                (0..ENDS).map(|_| pipe::<u64>().unwrap()).unzip();
            (ours, (theirs, id))
        })
        .unzip();
    let sent = bounded(LIMIT, move || {
        // The worker is busy, so the tasks that follow are held for the driver.
        let first = pool.apply_async(nap, (200,)).unwrap();
        let results: Vec<_> = tasks
            .into_iter()
            .map(|args| pool.apply_async(greet_all, args).unwrap())
            .collect();
        first.get().unwrap();
        results
            .into_iter()
            .map(|r| r.get().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(sent, (0..TASKS).collect::<Vec<_>>());
    for (id, ours) in mine.iter().enumerate() {
        for c in ours {
            assert_eq!(c.recv().unwrap(), id as u64);
        }
    }
}

fn die_after(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    std::process::abort()
}

/// Issue 18: a worker that dies while jobs are held for it fails only the task it was
/// running; the jobs queued behind it run once on its replacement, and later tasks succeed.
#[test]
fn held_jobs_of_a_worker_that_dies_run_elsewhere_and_only_its_task_fails() {
    let pool = Pool::builder()
        .processes(1)
        .pipeline_depth(64)
        .build()
        .unwrap();
    let (doomed, after) = bounded(LIMIT, move || {
        let dying = pool.apply_async(die_after, (300,)).unwrap();
        let held: Vec<_> = (0..10u64)
            .map(|x| pool.apply_async(inc, (x,)).unwrap())
            .collect();
        let dying = dying.get();
        let held: Vec<_> = held.into_iter().map(|r| r.get()).collect();
        ((dying, held), pool.apply(inc, (41,)))
    });
    let (dying, held) = doomed;
    assert!(matches!(dying, Err(Error::WorkerDied { .. })), "{dying:?}");
    for (x, r) in held.iter().enumerate() {
        assert!(matches!(r, Ok(v) if *v == x as u64 + 1), "task {x}: {r:?}");
    }
    assert_eq!(after.unwrap(), 42);
}
