//! Large jobs lent to fakes (`protocol::run_far`): a fake reads them from the pool's memory
//! (its own process), or refuses, as a worker that may not read its pool's memory does, and
//! waits for the job to come on its socket.

use super::{Log, bounded, double, new_log, pool_of};
use crate::protocol::{self, RUN, RUN_READ};
use crate::wire::{Message, RawConn};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// What fakes do with lent jobs, and how many they were lent.
#[derive(Default)]
pub(super) struct FarJobs {
    /// Fakes refuse to read them, as may not read the pool's memory.
    refuse: AtomicBool,
    /// Fakes refuse to read them, as could not now.
    not_now: AtomicBool,
    /// `RUN_FAR` messages fakes were sent.
    lent: AtomicUsize,
    /// Messages a fake stashed while it waited for a refused job to come.
    stashed: AtomicUsize,
    /// Lent jobs read with a byte string held apart (a lone large argument, taken as it is).
    tailed: AtomicUsize,
}

/// The `RUN` message `m`, a `RUN_FAR`, stands for: read, or (refused) waited for, messages
/// before it going to `stash`; `None` if the pool hung up.
pub(super) fn fetch(conn: &RawConn, m: Message, log: &Log, stash: &mut VecDeque<Message>) -> Option<Message> {
    let jobs = &log.far_jobs;
    jobs.lent.fetch_add(1, Ordering::SeqCst);
    let (head, items) = protocol::decode_run_far(&m.bytes).unwrap();
    let not_now = jobs.not_now.load(Ordering::SeqCst);
    if !jobs.refuse.load(Ordering::SeqCst) && !not_now {
        let me = nix::unistd::getpid();
        let job = protocol::read_run(me, head, items, usize::MAX).unwrap();
        conn.send(RUN_READ, &[protocol::READ], &[]).ok()?;
        let mut run = job.run;
        if let Some(tail) = job.tail {
            // A fake takes no byte string apart: the item is made whole again.
            let at = protocol::JOB_HEAD;
            let len = run.len() - at - 5 + tail.len();
            run[at..at + 4].copy_from_slice(&(len as u32).to_le_bytes());
            run.extend_from_slice(&tail);
            jobs.tailed.fetch_add(1, Ordering::SeqCst);
        }
        return Some(Message { kind: RUN, bytes: run, ..m });
    }
    let answer = if not_now { protocol::NOT_NOW } else { protocol::NOT_ALLOWED };
    conn.send(RUN_READ, &[answer], &[]).ok()?;
    loop {
        let next = conn.recv(None).ok()?;
        if next.kind == RUN && protocol::resends(&next.bytes, head) {
            return Some(next);
        }
        jobs.stashed.fetch_add(1, Ordering::SeqCst);
        stash.push_back(next);
    }
}

/// Chunks of 200k tasks: about 1.2 MB of arguments each, lent.
fn large_chunks(pool: &super::Pool) -> Vec<u64> {
    pool.map_chunked(double, 0..600_000, 200_000).unwrap()
}

/// Never called: a fake reads a byte string argument's length as its number.
fn twice_len(b: Vec<u8>) -> u64 {
    2 * b.len() as u64
}

/// A task on one large byte vector: the fake answers twice its length.
fn lone_bytes(pool: &super::Pool, len: usize) -> u64 {
    pool.apply(twice_len, (vec![9u8; len],)).unwrap()
}

/// What fakes do with a lent job.
#[derive(Clone, Copy)]
enum Reading {
    Read,
    Refuse,
    NotNow,
}

/// A pool of `workers` fakes whose memory it reads, lent large jobs, reading them as told.
fn lending_pool(workers: usize, reading: Reading) -> (Arc<Log>, super::Pool) {
    let log = new_log();
    log.far.store(true, Ordering::SeqCst);
    let flag = match reading {
        Reading::Read => None,
        Reading::Refuse => Some(&log.far_jobs.refuse),
        Reading::NotNow => Some(&log.far_jobs.not_now),
    };
    if let Some(flag) = flag {
        flag.store(true, Ordering::SeqCst);
    }
    let pool = pool_of(workers, &log).unwrap();
    (log, pool)
}

#[test]
fn large_jobs_are_read_from_the_pools_memory() {
    bounded(|| {
        let (log, pool) = lending_pool(2, Reading::Read);
        assert_eq!(large_chunks(&pool), (0..600_000).map(|x| 2 * x).collect::<Vec<_>>());
        assert_eq!(log.far_jobs.lent.load(Ordering::SeqCst), 3);
        // Small jobs still go on the socket.
        assert_eq!(pool.map(double, 0..10).unwrap().len(), 10);
        assert_eq!(log.far_jobs.lent.load(Ordering::SeqCst), 3);
        // A lone large byte vector is lent as the caller's buffer, held apart.
        assert_eq!(lone_bytes(&pool, 3 << 20), 6 << 20);
        assert_eq!(log.far_jobs.lent.load(Ordering::SeqCst), 4);
        assert_eq!(log.far_jobs.tailed.load(Ordering::SeqCst), 1);
    });
}

/// A worker that may not read its pool's memory refuses its lent job: the pool sends it,
/// its results come in order with the rest, and the pool lends no more jobs.
#[test]
fn a_refused_job_is_sent_instead_and_no_more_are_lent() {
    bounded(|| {
        let (log, pool) = lending_pool(1, Reading::Refuse);
        let small = pool.apply_async(double, (5,)).unwrap();
        let opts = super::super::AsyncOptions::new().chunksize(200_000);
        let big = pool.map_async_with(double, 0..600_000, opts).unwrap();
        let after: Vec<_> = (0..20).map(|x| pool.apply_async(double, (x,)).unwrap()).collect();
        assert_eq!(small.get().unwrap(), 10);
        assert_eq!(big.get().unwrap(), (0..600_000).map(|x| 2 * x).collect::<Vec<_>>());
        for (x, r) in after.into_iter().enumerate() {
            assert_eq!(r.get().unwrap(), 2 * x as u64);
        }
        assert_eq!(log.far_jobs.lent.load(Ordering::SeqCst), 1);
        assert_eq!(large_chunks(&pool).len(), 600_000);
        assert_eq!(lone_bytes(&pool, 3 << 20), 6 << 20);
        assert_eq!(log.far_jobs.lent.load(Ordering::SeqCst), 1);
        // A lone byte vector refused is sent joined.
        let (log, pool) = lending_pool(1, Reading::Refuse);
        assert_eq!(lone_bytes(&pool, 2 << 20), 4 << 20);
        assert_eq!(log.far_jobs.lent.load(Ordering::SeqCst), 1);
        // A worker that could not read a job now gets it sent, and is lent the next.
        let (log, pool) = lending_pool(1, Reading::NotNow);
        assert_eq!(lone_bytes(&pool, 2 << 20), 4 << 20);
        assert_eq!(large_chunks(&pool).len(), 600_000);
        assert_eq!(log.far_jobs.lent.load(Ordering::SeqCst), 4);
    });
}
