//! Building a `DONE` message: the worker's side of the records `done.rs` describes and
//! decodes. Results are appended as tasks end, consecutive plain values of one job as one
//! run.

use super::done::{RESULT_HEAD, RUN_STATUS};
use super::piece::{Lender, Offer, Piece};
use crate::task::{Output, Status};
use std::os::fd::OwnedFd;

/// The run being appended to: where its record starts, and its tasks so far.
struct OpenRun {
    at: usize,
    next: u64,
    count: u32,
}

/// Results a worker has not sent yet, encoded as one `DONE` message.
#[derive(Default)]
pub(crate) struct ResultBatch {
    pub bytes: Vec<u8>,
    pub fds: Vec<OwnedFd>,
    run: Option<OpenRun>,
    /// Byte strings of its values that the driver took while they were encoded, left out
    /// of `bytes` (see `piece.rs`), in order.
    pub pieces: Vec<Piece>,
    /// Pieces taken since the last message of results (some may have been left out since).
    taken: u32,
}

impl ResultBatch {
    /// Runs `call` for task `seq`, appending its result: to the open run when it is the
    /// run's next task and succeeds without descriptors, else as a record of its own.
    /// Runs never cross jobs: call [`end_run`](Self::end_run) after each job.
    ///
    /// A value longer than `max_value` bytes is not kept: the task fails with
    /// [`Status::TooLarge`] (its body: the value's length and `max_value`, `u64` each).
    #[cfg(test)]
    pub(crate) fn push(
        &mut self,
        seq: u64,
        max_value: usize,
        call: impl FnOnce(&mut Output<'_>) -> Status,
    ) {
        self.push_lending(seq, max_value, None, call);
    }

    /// [`push`](Self::push), with large byte strings of the value offered to the driver
    /// through `offer` while they are encoded (see `piece.rs`); whether it took them.
    pub(crate) fn push_lending(
        &mut self,
        seq: u64,
        max_value: usize,
        offer: Option<&mut Offer<'_>>,
        call: impl FnOnce(&mut Output<'_>) -> Status,
    ) {
        if self.run.as_ref().is_none_or(|r| r.next != seq) {
            self.end_run();
            self.run = Some(OpenRun {
                at: self.bytes.len(),
                next: seq,
                count: 0,
            });
            self.bytes.extend_from_slice(&seq.to_le_bytes());
            self.bytes.extend_from_slice(&[0; RESULT_HEAD - 8 + 4]);
        }
        let item = self.bytes.len();
        let body_at = item + 4;
        self.bytes.extend_from_slice(&[0; 4]);
        let fds_before = self.fds.len();
        let mut status = {
            let mut lender = offer.map(|offer| Lender {
                pieces: &mut self.pieces,
                taken: &mut self.taken,
                offer,
            });
            call(&mut Output {
                bytes: &mut self.bytes,
                fds: &mut self.fds,
                lend: lender.as_mut().map(|l| l as _),
            })
        };
        let len = self.bytes.len() - body_at + self.elided_past(item);
        if status == Status::Ok && len > max_value {
            self.bytes.truncate(body_at);
            self.fds.truncate(fds_before);
            self.pieces.retain(|p| p.at < body_at);
            self.bytes.extend_from_slice(&(len as u64).to_le_bytes());
            self.bytes
                .extend_from_slice(&(max_value as u64).to_le_bytes());
            status = Status::TooLarge;
        }
        if status == Status::Ok && self.fds.len() == fds_before {
            let len = (self.bytes.len() - body_at + self.elided_past(item)) as u32;
            self.bytes[item..item + 4].copy_from_slice(&len.to_le_bytes());
            if let Some(run) = self.run.as_mut() {
                run.count += 1;
                run.next = seq.wrapping_add(1);
            }
            return;
        }
        // Not a plain value: it leaves the run for a record of its own (its pieces with it).
        let body = self.bytes.split_off(body_at);
        let (mut mine, others) = std::mem::take(&mut self.pieces)
            .into_iter()
            .partition::<Vec<_>, _>(|p| p.at >= body_at);
        self.pieces = others;
        let len = body.len() + mine.iter().map(|p| p.len).sum::<usize>();
        self.bytes.truncate(item);
        self.end_run();
        self.bytes.extend_from_slice(&seq.to_le_bytes());
        self.bytes.push(status as u8);
        self.bytes.extend_from_slice(&(len as u32).to_le_bytes());
        self.bytes.push((self.fds.len() - fds_before) as u8);
        for p in &mut mine {
            p.at = p.at - body_at + self.bytes.len();
        }
        self.pieces.append(&mut mine);
        self.bytes.extend_from_slice(&body);
    }

    /// How many bytes of pieces belong past `start`, where a record or value starts (a
    /// piece placed right at it ends the one before).
    fn elided_past(&self, start: usize) -> usize {
        self.pieces
            .iter()
            .filter(|p| p.at > start)
            .map(|p| p.len)
            .sum()
    }

    /// The length of the message the batch stands for, pieces included.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len() + self.pieces.iter().map(|p| p.len).sum::<usize>()
    }

    /// Empties the batch once it is sent (its pieces with it), keeping `bytes`' capacity up
    /// to `retain`.
    pub(crate) fn sent(&mut self, retain: usize) {
        self.bytes.clear();
        if self.bytes.capacity() > retain {
            self.bytes = Vec::new();
        }
        self.fds.clear();
        self.pieces.clear();
        self.taken = 0;
    }

    /// Closes the open run: its header gets its length and count (an empty one is dropped).
    pub(crate) fn end_run(&mut self) {
        let Some(run) = self.run.take() else {
            return;
        };
        if run.count == 0 {
            self.bytes.truncate(run.at);
            return;
        }
        let at = run.at;
        let len = (self.bytes.len() - at - RESULT_HEAD + self.elided_past(at)) as u32;
        self.bytes[at + 8] = RUN_STATUS;
        self.bytes[at + 9..at + 13].copy_from_slice(&len.to_le_bytes());
        self.bytes[at + 13] = 0;
        self.bytes[at + 14..at + 18].copy_from_slice(&run.count.to_le_bytes());
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The open run, if any: where its record starts and its values so far.
    pub(crate) fn open_run(&self) -> Option<(usize, u32)> {
        self.run.as_ref().map(|r| (r.at, r.count))
    }
}
