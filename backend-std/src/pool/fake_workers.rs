//! A harness of fake workers, in the manner of the core's simulation: the whole pool
//! engine (scheduler, outbox, driver, sinks, calls in flight) runs against workers that are
//! threads answering the worker protocol by a script, through the same [`Transport`] a
//! real kind of worker plugs into. Nothing forks; every failure is staged on purpose.
//!
//! A fake answers a task whose argument is `x` with `2 * x`, except for the scripted
//! arguments: [`DIE`] (it hangs up mid-task, as a crashed worker does), [`HANG`] (it never
//! answers) and [`GARBAGE`] (it sends a message the protocol does not have).

use super::Pool;
use super::transport::{Intro, Started, Transport};
use crate::error::{Error, ExitCause, Result};
use crate::owner::Owner;
use crate::protocol::{self, DONE, EXIT, INIT, READY, RUN, ResultBatch};
use crate::task::Status;
use crate::wire::{RawConn, raw_pair};
use forkpool_core::Config;
use nix::unistd::Pid;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DIE: u64 = 1_000_001;
const HANG: u64 = 1_000_002;
const GARBAGE: u64 = 1_000_003;
/// Answers with a large byte string lent to the pool (see `pieces.rs`).
const LEND: u64 = 1_000_004;

mod closing;
mod far_jobs;
mod pieces;
mod starts;

/// What the test sees of its fakes.
#[derive(Default)]
struct Log {
    started: AtomicUsize,
    /// Fakes whose thread is still running.
    alive: AtomicUsize,
    /// Starts still to fail (before any succeeds).
    fail_starts: AtomicUsize,
    /// Starts after this many fail (as when descriptors run out part-way).
    fail_after: AtomicUsize,
    /// Fakes still to hang up before their `READY`, as a worker killed while it starts.
    die_at_start: AtomicUsize,
    stopped_now: Mutex<Vec<Pid>>,
    /// Whether the pool reads (and is written) workers' memory, as it does a process's.
    far: std::sync::atomic::AtomicBool,
    /// What fakes do with large jobs lent to them (see `far_jobs.rs`).
    far_jobs: far_jobs::FarJobs,
    /// What a fake lending a piece waits for (see `pieces.rs`).
    lending: pieces::Lending,
    /// Starts after this many wait for `gate` (held by the test) before they start.
    gate_after: AtomicUsize,
    gate: Mutex<()>,
    /// Fakes started after this many wait for `ready_gate` (held by the test) before their
    /// `READY`, as workers slow to boot.
    ready_gate_after: AtomicUsize,
    ready_gate: Mutex<()>,
    released: Mutex<Vec<(Pid, bool)>>,
    /// How many workers the pool looked into as deaths (asked their exit cause).
    exit_causes: AtomicUsize,
}

struct Fakes {
    log: Arc<Log>,
    next: AtomicI32,
}

impl Transport for Fakes {
    fn start(&self, n: usize, intro: Intro<'_>, each: &mut dyn FnMut(Result<Started>)) -> Result<()> {
        for _ in 0..n {
            let spent = self.log.started.load(Ordering::SeqCst) >= self.log.fail_after.load(Ordering::SeqCst);
            if spent || self.log.fail_starts.load(Ordering::SeqCst) > 0 {
                let _ = self.log.fail_starts.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
                each(Err(Error::Internal("a fake that will not start")));
                continue;
            }
            if self.log.started.load(Ordering::SeqCst) >= self.log.gate_after.load(Ordering::SeqCst)
            {
                drop(self.log.gate.lock().unwrap());
            }
            let (ours, theirs) = raw_pair()?;
            let log = Arc::clone(&self.log);
            let index = log.started.fetch_add(1, Ordering::SeqCst);
            log.alive.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                fake(&theirs, &log, index);
                drop(theirs);
                log.alive.fetch_sub(1, Ordering::SeqCst);
            });
            let init = protocol::encode_init(0, intro.key, &Owner::shared(), &[]);
            ours.send(INIT, &init, &[])?;
            let id = Pid::from_raw(self.next.fetch_add(1, Ordering::SeqCst));
            each(Ok(Started {
                id,
                conn: ours,
                exit: None,
            }));
        }
        Ok(())
    }

    fn stop_now(&self, id: Pid) {
        self.log.stopped_now.lock().unwrap().push(id);
    }

    fn release(&self, gone: &[(Pid, bool)]) {
        self.log.released.lock().unwrap().extend_from_slice(gone);
    }

    fn exit_cause(&self, _: Pid) -> ExitCause {
        self.log.exit_causes.fetch_add(1, Ordering::SeqCst);
        ExitCause::Exited(7)
    }

    fn reads_worker_memory(&self) -> bool {
        self.log.far.load(Ordering::SeqCst)
    }
}

/// A fake worker's life: `INIT`, then tasks by the script, until `EXIT` or hang-up.
fn fake(conn: &RawConn, log: &Log, index: usize) {
    match conn.recv(None) {
        Ok(m) if m.kind == INIT => {}
        _ => return,
    }
    if index >= log.ready_gate_after.load(Ordering::SeqCst) {
        drop(log.ready_gate.lock().unwrap());
    }
    let taken = log.die_at_start.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    if taken.is_ok() || conn.send(READY, &[], &[]).is_err() {
        return;
    }
    let mut stash = std::collections::VecDeque::new();
    while let Some(mut m) = stash.pop_front().or_else(|| conn.recv(None).ok()) {
        if m.kind == EXIT {
            return;
        }
        if m.kind == protocol::RUN_FAR {
            let Some(run) = far_jobs::fetch(conn, m, log, &mut stash) else {
                return;
            };
            m = run;
        }
        assert_eq!(m.kind, RUN);
        let mut batch = ResultBatch::default();
        let run = protocol::decode_run(&m.bytes).unwrap();
        for job in &run.jobs {
            for (k, item) in job.items().enumerate() {
                let (x,): (u64,) = postcard::from_bytes(item.args).unwrap();
                match x {
                    DIE => return,
                    HANG => {
                        while conn.recv(None).is_ok() {}
                        return;
                    }
                    GARBAGE => {
                        let _ = conn.send(0xEE, b"??", &[]);
                        continue;
                    }
                    LEND => {
                        let seq = job.first + k as u64;
                        if pieces::lend_one(conn, seq, &log.lending).is_err() {
                            return;
                        }
                        continue;
                    }
                    _ => {}
                }
                batch.push(job.first + k as u64, usize::MAX, |out| {
                    out.bytes
                        .extend_from_slice(&postcard::to_allocvec(&(2 * x)).unwrap());
                    Status::Ok
                });
            }
            batch.end_run();
        }
        if !batch.is_empty() && conn.send(DONE, &batch.bytes, &[]).is_err() {
            return;
        }
    }
}

/// Never called: a fake reads the argument and answers by its script.
fn double(x: u64) -> u64 {
    2 * x
}

fn new_log() -> Arc<Log> {
    Arc::new(Log {
        gate_after: AtomicUsize::new(usize::MAX),
        ready_gate_after: AtomicUsize::new(usize::MAX),
        fail_after: AtomicUsize::new(usize::MAX),
        ..Log::default()
    })
}

fn pool_of(workers: usize, log: &Arc<Log>) -> Result<Pool> {
    let fakes = Fakes {
        log: Arc::clone(log),
        next: AtomicI32::new(1),
    };
    Pool::start(
        Config::new(workers),
        None,
        Duration::from_millis(20),
        false,
        Box::new(fakes),
    )
}

/// Runs a test's body on a thread of its own and fails it after 30 s: an engine bug shows
/// as a failure, never as a hung run.
fn bounded(body: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(30)) {
        Ok(()) => {}
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("did not finish within 30 s"),
        Err(_) => panic!("the test's body failed (see its panic above)"),
    }
}

/// Waits until `cond` holds, at most 10 s.
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

#[test]
fn submitted_tasks_come_back_in_order_once_each() {
    bounded(|| {
        let log = new_log();
        let pool = pool_of(3, &log).unwrap();
        assert_eq!(
            pool.map_chunked(double, 0..500, 7).unwrap(),
            (0..500).map(|x| 2 * x).collect::<Vec<_>>()
        );
        let got: Vec<u64> = pool.imap(double, 0..100).unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(got, (0..100).map(|x| 2 * x).collect::<Vec<_>>());
        let s = pool.stats();
        assert_eq!((s.completed, s.failed, s.restarts), (600, 0, 0));
        pool.close();
        pool.join().unwrap();
        assert!(eventually(|| log.alive.load(Ordering::SeqCst) == 0));
        // Each fake was asked to exit and hung up: released without a kill.
        assert!(log.released.lock().unwrap().iter().all(|&(_, kill)| !kill));
        assert!(log.stopped_now.lock().unwrap().is_empty());
    });
}

#[test]
fn a_lost_worker_fails_only_its_task_and_is_replaced() {
    bounded(|| {
        let log = new_log();
        let pool = pool_of(2, &log).unwrap();
        let got: Vec<_> = pool.imap(double, [1, 2, DIE, 3, 4]).unwrap().collect();
        for (i, r) in got.iter().enumerate() {
            match (i, r) {
                (2, Err(Error::WorkerDied { cause, .. })) => assert_eq!(*cause, ExitCause::Exited(7)),
                (2, other) => panic!("unexpected {other:?}"),
                (_, r) => assert_eq!(*r.as_ref().unwrap(), [1, 2, 0, 3, 4][i] * 2),
            }
        }
        // A whole call fails with its lost task's error; the pool carries on.
        let map = pool.map_chunked(double, [5, DIE, 6], 1);
        assert!(matches!(map, Err(Error::WorkerDied { .. })), "{map:?}");
        assert_eq!(pool.map(double, [7]).unwrap(), [14]);
        // Replacements start off the lock: they are up shortly after.
        assert!(eventually(|| pool.stats().workers == 2));
        let s = pool.stats();
        assert_eq!((s.restarts, s.failed), (2, 2));
        assert_eq!(log.started.load(Ordering::SeqCst), 4);
    });
}

#[test]
fn a_worker_that_breaks_the_protocol_fails_its_tasks_with_a_protocol_error() {
    bounded(|| {
        let log = new_log();
        let pool = pool_of(1, &log).unwrap();
        let r = pool.apply(double, (GARBAGE,));
        assert!(matches!(r, Err(Error::Protocol(ref m)) if m.contains("unknown message kind")), "{r:?}");
        assert_eq!(pool.apply(double, (8,)).unwrap(), 16);
        // The one that broke was stopped at once and collected.
        assert_eq!(log.stopped_now.lock().unwrap().len(), 1);
    });
}

#[test]
fn a_task_past_its_deadline_times_out_and_its_worker_is_stopped() {
    bounded(|| {
        let log = new_log();
        let pool = pool_of(2, &log).unwrap();
        let opts = super::AsyncOptions::new().timeout(Duration::from_millis(30));
        let stuck = pool.apply_async_with(double, (HANG,), opts).unwrap();
        let fine = pool.apply_async(double, (1,)).unwrap();
        assert!(matches!(stuck.get(), Err(Error::TimedOut { .. })));
        assert_eq!(fine.get().unwrap(), 2);
        assert_eq!(log.stopped_now.lock().unwrap().len(), 1);
        // Its socket closes once the grace is out: the fake ends and is collected.
        assert!(eventually(|| log.alive.load(Ordering::SeqCst) == 2));
        assert!(eventually(|| log.released.lock().unwrap().len() == 1));
        assert!(eventually(|| pool.stats().workers == 2));
    });
}

#[test]
fn a_cancelled_call_stops_its_running_task_and_drops_the_queued_ones() {
    bounded(|| {
        let log = new_log();
        let pool = pool_of(1, &log).unwrap();
        let call = pool.map_async_with(double, [HANG, 1, 2], super::AsyncOptions::new().chunksize(1)).unwrap();
        assert!(eventually(|| pool.stats().running == 1));
        assert!(call.cancel());
        assert!(matches!(call.get(), Err(Error::Cancelled)));
        assert_eq!(log.stopped_now.lock().unwrap().len(), 1);
        assert_eq!(pool.apply(double, (3,)).unwrap(), 6);
        let s = pool.stats();
        assert_eq!((s.queued, s.running, s.completed), (0, 0, 1));
    });
}

#[test]
fn terminate_fails_everything_pending_and_collects_every_worker() {
    bounded(|| {
        let log = new_log();
        let pool = pool_of(2, &log).unwrap();
        let running: Vec<_> = (0..2).map(|_| pool.apply_async(double, (HANG,)).unwrap()).collect();
        let queued = pool.map_async(double, 0..10).unwrap();
        assert!(eventually(|| pool.stats().running == 2));
        pool.terminate();
        pool.join().unwrap();
        for r in running {
            assert!(matches!(r.get(), Err(Error::Terminated)));
        }
        assert!(matches!(queued.get(), Err(Error::Terminated)));
        assert_eq!(log.stopped_now.lock().unwrap().len(), 2);
        assert_eq!(log.released.lock().unwrap().len(), 2);
        assert!(eventually(|| log.alive.load(Ordering::SeqCst) == 0));
    });
}

/// A replacement starts without the pool's lock: while its start blocks, callers use the
/// pool; and a start that finishes after `terminate` is stopped, not installed for good.
#[test]
fn worker_starts_never_hold_the_pool_lock() {
    bounded(|| {
        let log = new_log();
        let pool = pool_of(2, &log).unwrap();
        let gate = log.gate.lock().unwrap();
        log.gate_after.store(2, Ordering::SeqCst);
        // A worker dies: its replacement's start blocks on the gate.
        assert!(matches!(pool.apply(double, (DIE,)), Err(Error::WorkerDied { .. })));
        // The other worker serves callers meanwhile.
        assert_eq!(pool.map(double, 0..50).unwrap().len(), 50);
        assert_eq!(pool.stats().workers, 1);
        pool.terminate();
        drop(gate);
        pool.join().unwrap();
        // The late worker was started, then stopped and collected.
        assert!(eventually(|| log.alive.load(Ordering::SeqCst) == 0));
        assert_eq!(log.started.load(Ordering::SeqCst), 3);
    });
}
