//! A worker's result log: its unsent results, kept in memory it shares with the driver, so
//! they outlive the worker. The pool makes one for a worker process when its jobs first
//! pipeline and sends it in a `LOG` message ahead of them (`pool/requeue.rs`).
//!
//! After each task the worker copies what its `ResultBatch` gained into the log (with the
//! open run's header as it would be if the batch were sent now) and publishes the length;
//! after the batch is sent, the log starts again at 0. So every finished task's result is
//! on the socket or in the log before the next task starts: when the worker dies, the driver
//! reads the log (records it had received already are refused by the scheduler as out of
//! turn), knows which task was running, and knows the jobs behind it never started.
//!
//! Before it starts a job, the worker also writes the job's first sequence number there,
//! so the driver knows which jobs a worker it stopped on purpose had started.
//!
//! A thread the pool stopped may still be running (it cannot be killed), and is settled
//! from its log all the same. So the pool first marks the log stopped, and a thread that
//! finds the mark when it is about to start a job leaves instead (the mark and the start
//! are each written, then the other read, sequentially consistent: either the pool sees
//! the start, or the thread sees the mark); and a worker's writes of results are
//! bracketed by a version count (odd while writing), so the pool reads a whole batch, not
//! one half-overwritten. A process is settled only once gone (or blind, if it outlives its
//! kill grace), so it skips the start's fence.
//!
//! ```text
//! 0    committed length (u32)
//! 8    1 + the first sequence number of the last job started (u64 as two u32; 0: none)
//! 16   stopped (u32: 1 once the pool settled the worker)
//! 20   version (u32: odd while the worker writes results)
//! 64   the batch's bytes, as a DONE message's body
//! ```

use super::batch::ResultBatch;
use super::done::{RESULT_HEAD, RUN_STATUS};
use crate::sys::Mapping;
use std::sync::atomic::Ordering;

/// The size of a worker's result log: room for a batch sent at 64 KiB, and a few results
/// past it; a batch that does not fit is sent before the next task starts.
pub(crate) const LOG_BYTES: usize = 256 << 10;
const HEAD: usize = 64;

/// The worker's side of its log.
pub(crate) struct ResultLog {
    map: Mapping,
    /// Bytes of the batch copied so far.
    mirrored: usize,
    /// The version last published (only this worker writes it).
    version: u32,
    /// Whether the pool may settle this worker while it still runs (a thread: it cannot be
    /// killed), so each start must be ordered against the stop mark (a full fence per job,
    /// which a process, settled only once gone, does without).
    fenced: bool,
}

impl ResultLog {
    /// The log in `map`; `fenced` for a worker the pool settles while it may still run.
    pub(crate) fn new(map: Mapping, fenced: bool) -> Self {
        Self {
            map,
            mirrored: 0,
            version: 0,
            fenced,
        }
    }

    /// Marks the results being written (the version odd), before they are.
    fn writing(&mut self) {
        self.version = self.version.wrapping_add(1);
        self.map.word(VERSION).store(self.version, Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Release);
    }

    /// Marks the results written (the version even again), after they are.
    fn written(&mut self) {
        self.version = self.version.wrapping_add(1);
        self.map.word(VERSION).store(self.version, Ordering::Release);
    }

    /// Copies what `batch` gained into the log and publishes it. `false` when the batch
    /// cannot be kept there (too large, or it carries descriptors or lent pieces): send it
    /// now.
    pub(crate) fn mirror(&mut self, batch: &ResultBatch) -> bool {
        let len = batch.bytes.len();
        if !batch.fds.is_empty() || !batch.pieces.is_empty() || HEAD + len > self.map.len() {
            return false;
        }
        let from = self.mirrored.min(len);
        self.writing();
        let data = &mut self.map.bytes_mut()[HEAD..];
        data[from..len].copy_from_slice(&batch.bytes[from..len]);
        let committed = match batch.open_run() {
            Some((at, 0)) => at,
            Some((at, count)) => {
                // The open run's header, as `end_run` will write it.
                let body = (len - at - RESULT_HEAD) as u32;
                data[at + 8] = RUN_STATUS;
                data[at + 9..at + 13].copy_from_slice(&body.to_le_bytes());
                data[at + 13] = 0;
                data[at + 14..at + 18].copy_from_slice(&count.to_le_bytes());
                len
            }
            None => len,
        };
        self.mirrored = len;
        self.map.word(0).store(committed as u32, Ordering::Release);
        self.written();
        true
    }

    /// The worker starts the job whose first task is `first`; `false` if the pool stopped
    /// it (it must leave without starting the job, which the pool runs elsewhere).
    pub(crate) fn starting(&mut self, first: u64) -> bool {
        let v = first.wrapping_add(1);
        self.map.word(12).store((v >> 32) as u32, Ordering::Relaxed);
        if !self.fenced {
            self.map.word(8).store(v as u32, Ordering::Release);
            return true;
        }
        self.map.word(8).store(v as u32, Ordering::SeqCst);
        self.map.word(STOPPED).load(Ordering::SeqCst) == 0
    }

    /// The batch was sent: the log starts again.
    pub(crate) fn sent(&mut self) {
        self.writing();
        self.map.word(0).store(0, Ordering::Release);
        self.mirrored = 0;
        self.written();
    }
}

/// Where the stopped mark is.
const STOPPED: usize = 16;
/// Where the version of the results is.
const VERSION: usize = 20;

/// The driver's side: marks the worker stopped (see the module docs), then reads the first
/// sequence number of the last job it started. After this, the worker starts no job.
pub(crate) fn stop_and_last_started(map: &Mapping) -> Option<u64> {
    map.word(STOPPED).store(1, Ordering::SeqCst);
    let lo = u64::from(map.word(8).load(Ordering::SeqCst));
    let hi = u64::from(map.word(12).load(Ordering::Relaxed));
    ((hi << 32) | lo).checked_sub(1)
}

/// Tries at reading a whole batch before the results are given up for lost (a worker that
/// stopped for good half-way through writing them).
const SALVAGE_TRIES: usize = 10_000;

/// The driver's side: the results a worker left in its log, as a `DONE` body; read whole
/// (while the version was even and unchanged), or none.
pub(crate) fn salvage(map: &Mapping) -> Vec<u8> {
    for _ in 0..SALVAGE_TRIES {
        let before = map.word(VERSION).load(Ordering::Acquire);
        if before % 2 == 1 {
            std::thread::yield_now();
            continue;
        }
        let committed = map.word(0).load(Ordering::Acquire) as usize;
        let bytes = map
            .bytes()
            .get(HEAD..HEAD + committed)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        std::sync::atomic::fence(Ordering::Acquire);
        if map.word(VERSION).load(Ordering::Relaxed) == before {
            return bytes;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worker's and the pool's mappings of one log.
    fn both_sides() -> (ResultLog, Mapping) {
        let fd = Mapping::sealed_file(LOG_BYTES).unwrap();
        let theirs = Mapping::from_fd(fd.try_clone().unwrap()).unwrap();
        (ResultLog::new(theirs, true), Mapping::from_fd(fd).unwrap())
    }

    #[test]
    fn a_worker_marked_stopped_starts_nothing_more() {
        let (mut worker, pool) = both_sides();
        assert!(worker.starting(5));
        assert!(worker.starting(6));
        assert_eq!(stop_and_last_started(&pool), Some(6));
        assert!(!worker.starting(7), "the job after the stop is not started");
    }

    #[test]
    fn results_are_read_whole_or_not_at_all() {
        let (mut worker, pool) = both_sides();
        let mut batch = ResultBatch::default();
        batch.push(3, usize::MAX, |out| {
            out.bytes.extend_from_slice(b"three");
            crate::task::Status::Ok
        });
        assert!(worker.mirror(&batch));
        let whole = salvage(&pool);
        // The log holds the open run as it will be once ended.
        batch.end_run();
        assert_eq!(whole, batch.bytes);
        // A writer stuck half-way (the version odd) leaves nothing to read.
        pool.word(VERSION).fetch_add(1, Ordering::SeqCst);
        assert!(salvage(&pool).is_empty());
    }
}
