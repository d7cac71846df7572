//! The pool's side of `protocol::run_far`: a large job's items are lent to the worker,
//! which reads them from this process's memory, instead of being sent on its socket.

use super::departures::Loss;
use super::state::State;
use crate::error::Error;
use super::jobs::LentItems;
use crate::protocol::{self, JOB_HEAD, NOT_ALLOWED, NOT_NOW, READ, RUN_FAR};
use std::os::fd::OwnedFd;
use std::sync::Arc;

impl State {
    /// Queues `RUN_FAR` for the job of `head` and `items` to worker `i` (its items'
    /// descriptors `fds` ride with it), to be sent once the lock is released.
    pub(super) fn lend_job(
        &mut self,
        i: usize,
        head: [u8; JOB_HEAD],
        items: LentItems,
        fds: Vec<OwnedFd>,
    ) {
        let Some(slot) = self.slots[i].as_mut() else {
            return; // the scheduler dispatches only to workers in place
        };
        let conn = Arc::clone(&slot.conn);
        let (part, tail) = items.parts();
        let offer = protocol::encode_run_far(&head, part, tail);
        match conn.enqueue(RUN_FAR, &offer, fds) {
            Ok(()) => {
                slot.lent.push_back((head, items));
                self.mark_unflushed(&conn);
            }
            Err(Error::Disconnected) => self.effects.look(),
            Err(e) => self.lose(i, Loss::broke(e)),
        }
    }

    /// Worker `i` answered for the oldest job lent to it: read (the items are let go), or
    /// not (they are sent as a `RUN` message, which it waits for; and where it may not
    /// read the pool's memory, later large jobs go on the socket too).
    pub(super) fn on_job_read(&mut self, i: usize, answer: &[u8]) {
        let Some(slot) = self.slots[i].as_mut() else {
            return;
        };
        let (Some((head, items)), [read]) = (slot.lent.pop_front(), answer) else {
            let e = "a worker answered for a job it was not lent";
            return self.lose(i, Loss::Broke(e.into()));
        };
        match *read {
            // Freed by the driver once the lock is released (it may be the last reference
            // to 64 MiB).
            READ => self.let_go.push(items),
            NOT_ALLOWED | NOT_NOW => {
                // Where this worker may not read the pool's memory, neither may the others.
                self.lends_jobs &= *read == NOT_NOW;
                self.send_shared(i, &head, items.whole(), Vec::new());
            }
            _ => self.lose(i, Loss::Broke(format!("unknown answer {read} to a lent job"))),
        }
    }
}
