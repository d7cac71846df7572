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
//! ```text
//! 0    committed length (u32)
//! 8    1 + the first sequence number of the last job started (u64 as two u32; 0: none)
//! 64   the batch's bytes, as a DONE message's body
//! ```

use super::done::{RESULT_HEAD, RUN_STATUS, ResultBatch};
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
}

impl ResultLog {
    pub(crate) fn new(map: Mapping) -> Self {
        Self { map, mirrored: 0 }
    }

    /// Copies what `batch` gained into the log and publishes it. `false` when the batch
    /// cannot be kept there (too large, or it carries descriptors): send it now.
    pub(crate) fn mirror(&mut self, batch: &ResultBatch) -> bool {
        let len = batch.bytes.len();
        if !batch.fds.is_empty() || HEAD + len > self.map.len() {
            return false;
        }
        let from = self.mirrored.min(len);
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
        true
    }

    /// The worker starts the job whose first task is `first`.
    pub(crate) fn starting(&mut self, first: u64) {
        let v = first.wrapping_add(1);
        self.map.word(12).store((v >> 32) as u32, Ordering::Relaxed);
        self.map.word(8).store(v as u32, Ordering::Release);
    }

    /// The batch was sent: the log starts again.
    pub(crate) fn sent(&mut self) {
        self.map.word(0).store(0, Ordering::Release);
        self.mirrored = 0;
    }
}

/// The driver's side: the first sequence number of the last job a dead worker started.
pub(crate) fn last_started(map: &Mapping) -> Option<u64> {
    let lo = u64::from(map.word(8).load(Ordering::Acquire));
    let hi = u64::from(map.word(12).load(Ordering::Relaxed));
    ((hi << 32) | lo).checked_sub(1)
}

/// The driver's side: the results a dead worker left in its log, as a `DONE` body.
pub(crate) fn salvage(map: &Mapping) -> Vec<u8> {
    let committed = map.word(0).load(Ordering::Acquire) as usize;
    map.bytes()
        .get(HEAD..HEAD + committed)
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}
