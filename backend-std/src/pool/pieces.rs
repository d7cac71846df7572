//! Pieces that workers write into the driver's buffers (`protocol::piece`): the driver
//! asks for one and goes on serving the other workers; the worker's answer, read with
//! its other messages, becomes the piece (`PIECE_READ`) in its place. Before, the driver
//! waited for the write (10-30 ms for 64 MiB, up to the bound for a stopped worker), and
//! every other worker's results and jobs waited with it.
//!
//! A buffer is handed on or freed only once nothing can write into it any more: the
//! worker said it wrote it (or may not), or its process ended. A worker that says nothing
//! within the bound (a stopped process) might still write: its buffer is given up, never
//! freed.

use crate::protocol::{PIECE_READ, Written, ask_to_write, read_instead, write_bound};
use crate::sys::{FaultHelper, FillBuf, HELP_FROM};
use crate::wire::{Message, RawConn};
use nix::unistd::Pid;
use std::sync::Arc;
use std::time::Instant;

/// The pieces asked for and not yet written.
#[derive(Default)]
pub(super) struct Pieces {
    pending: Vec<Pending>,
}

/// One piece a worker was asked to write.
struct Pending {
    conn: Arc<RawConn>,
    pid: Pid,
    /// Where the piece is in the worker (read from there if it may not write).
    addr: usize,
    /// The buffer it writes into (`None` once handed on or given up).
    fill: Option<FillBuf>,
    /// A thread faulting the buffer in from its far end while the worker writes from the
    /// near one (large pieces).
    helper: Option<FaultHelper>,
    deadline: Instant,
}

impl Pieces {
    /// Asks the worker on `conn` to write the `len` bytes it offered at `addr` into a
    /// fresh buffer of the driver's; a piece that cannot be had is refused, and the
    /// worker encodes it as usual.
    pub(super) fn ask(&mut self, conn: &Arc<RawConn>, pid: Pid, addr: usize, len: usize) {
        let Some(fill) = ask_to_write(conn, len) else {
            return;
        };
        let helper = (len >= HELP_FROM)
            .then(|| FaultHelper::start(fill.addr(), len))
            .flatten();
        self.pending.push(Pending {
            conn: Arc::clone(conn),
            pid,
            addr,
            fill: Some(fill),
            helper,
            deadline: Instant::now() + write_bound(len),
        });
    }

    /// Takes the answer of the worker on `conn` to its piece, if it asked one and the
    /// answer is among `messages` (the first of them: it sends nothing else meanwhile):
    /// written, the buffer becomes the piece; not to be written, the piece is read from
    /// the worker instead; anything else, the piece is given up.
    pub(super) fn answered(&mut self, conn: &Arc<RawConn>, messages: &mut Vec<Message>) {
        if messages.is_empty() {
            return;
        }
        let Some(k) = self.pending.iter().position(|p| Arc::ptr_eq(&p.conn, conn)) else {
            return;
        };
        let mut p = self.pending.swap_remove(k);
        drop(p.helper.take());
        let Some(fill) = p.fill.take() else {
            return;
        };
        let m = &mut messages[0];
        let bytes = match Written::of(m) {
            Written::Yes => Some(fill.filled()),
            Written::No => read_instead(conn, p.pid, p.addr, fill),
            Written::Gone | Written::Silent => {
                // Not the answer: the worker broke the protocol (its message is handled
                // as such) and might still write.
                std::mem::forget(fill);
                return;
            }
        };
        match bytes {
            Some(bytes) => {
                m.kind = PIECE_READ;
                m.bytes = bytes;
            }
            None => {
                messages.remove(0);
            }
        }
    }

    /// The worker on `conn` (or process `pid`) has ended: its buffer is freed.
    pub(super) fn gone(&mut self, conn: Option<&Arc<RawConn>>, pid: Option<Pid>) {
        self.pending.retain_mut(|p| {
            let ended = conn.is_some_and(|c| Arc::ptr_eq(&p.conn, c)) || pid == Some(p.pid);
            if ended {
                drop(p.helper.take());
                drop(p.fill.take());
            }
            !ended
        });
    }

    /// Gives up the pieces not written by their deadline: the worker may still write into
    /// the buffer, which is therefore never freed.
    pub(super) fn expire(&mut self) {
        if self.pending.is_empty() {
            return; // no clock read on the common turn
        }
        let now = Instant::now();
        self.pending.retain_mut(|p| {
            let late = p.deadline <= now;
            if late {
                drop(p.helper.take());
                std::mem::forget(p.fill.take());
            }
            !late
        });
    }

    /// When the next piece is due.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.deadline).min()
    }
}

impl Drop for Pieces {
    fn drop(&mut self) {
        // The driver ends once every worker is gone; a piece still pending here has no
        // writer left, but its buffer is given up all the same rather than freed on a
        // guess.
        for p in &mut self.pending {
            drop(p.helper.take());
            std::mem::forget(p.fill.take());
        }
    }
}
