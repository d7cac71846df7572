//! How a worker's results reach the pool: batches sent on the socket, offered to be read
//! from this process's memory, or (large byte strings) lent while they are encoded.

use super::{Exit, RETAIN, broken};
use crate::protocol::{
    self, DONE, DONE_FAR, DONE_SPLICED, FAR_FROM, PIECE, ResultBatch,
    ResultLog,
};
use crate::wire::{Message, RawConn};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::time::Duration;

/// How this worker's results reach the pool.
pub(super) struct Out<'a> {
    pub(super) conn: &'a RawConn,
    /// Whether the pool reads large batches from this process's memory (`protocol::far`).
    pub(super) far: bool,
    /// The pool's process, which may ask for a piece to be written into it.
    pub(super) owner: Option<Pid>,
    /// Messages that came while waiting for the answer to an offer, in order.
    pub(super) stash: VecDeque<Message>,
}

impl Out<'_> {
    /// The next message from the pool; `None` when it is gone.
    pub(super) fn next(&mut self) -> Option<Message> {
        self.stash.pop_front().or_else(|| self.conn.recv(None).ok())
    }

    /// Whether a message is waiting.
    pub(super) fn waiting(&self) -> bool {
        !self.stash.is_empty() || self.conn.poll(Duration::ZERO).unwrap_or(true)
    }

    /// Offers a large batch to be read from this process's memory (`protocol::far`; the
    /// offer and its wait are a piece's, `protocol::lend`); whether the pool took it (else
    /// it is to be sent).
    fn offer(&mut self, batch: &ResultBatch) -> bool {
        if !self.far || batch.bytes.len() < FAR_FROM || !batch.fds.is_empty() {
            return false;
        }
        let stash = &mut self.stash;
        protocol::lend(self.conn, DONE_FAR, self.owner, &batch.bytes, &mut |m| {
            stash.push_back(m)
        })
    }

    /// Lends a large byte string of a value being encoded (see `protocol::piece`): whether
    /// the pool took it (else it is encoded as usual; a pool gone is found by the flush).
    pub(super) fn lend(&mut self, bytes: &[u8]) -> bool {
        let stash = &mut self.stash;
        protocol::lend(self.conn, PIECE, self.owner, bytes, &mut |m| stash.push_back(m))
    }

    pub(super) fn flush(&mut self, batch: &mut ResultBatch, log: &mut Option<ResultLog>) -> Result<(), Exit> {
        batch.end_run();
        if !batch.is_empty() {
            if !batch.pieces.is_empty() {
                let pieces = std::mem::take(&mut batch.pieces);
                protocol::seal(&mut batch.bytes, &pieces);
                let sent = self.conn.send(DONE_SPLICED, &batch.bytes, &batch.fds);
                sent.map_err(broken)?;
            } else if !self.offer(batch) {
                self.conn.send(DONE, &batch.bytes, &batch.fds).map_err(broken)?;
            }
            if let Some(log) = log {
                log.sent();
            }
            batch.sent(RETAIN);
        }
        Ok(())
    }
}

