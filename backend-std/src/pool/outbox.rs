//! How dispatched jobs reach their worker: the jobs a worker gets in one round share a `RUN`
//! message, sent at once, or held back when a caller dispatches to a worker that is busy
//! anyway.
//!
//! A worker still working on jobs it was sent will answer, and its answer wakes the driver;
//! so a caller that dispatches more to it holds the new jobs back in the slot instead of
//! sending them, and the driver sends everything held in one message when it next runs.
//! `apply_async` in a loop then costs the caller no system call and no wake-up, and a busy
//! worker gets its work in few large messages. A worker with nothing in hand always gets
//! its jobs at once, so holding back never delays a start.

use super::departures::Loss;
use super::jobs::{Jobs, LentItems};
use super::state::State;
use crate::error::Error;
use crate::owner::call_tag;
use crate::protocol::{self, RUN};
use forkpool_core::WorkerId;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Most bytes held back for one worker before a caller sends them itself.
const HOLD_BYTES: usize = 256 << 10;

/// Largest message buffer kept for the next round's `RUN` message to a worker.
const REUSE_BYTES: usize = 64 << 10;

/// Most bytes of jobs merged into one `RUN` message (a single larger job goes alone; none
/// is larger than the largest message, see `encode::next_chunk`).
const RUN_BYTES: usize = 16 << 20;

/// A job from this size on goes in a `RUN` message of its own that carries its encoded
/// items as they are, shared with the copy kept to run it again, instead of copies of them.
const SHARE_FROM: usize = 256 << 10;

impl State {
    /// Sends (or, from a caller, may hold back) every job the scheduler dispatches now;
    /// whether there was any. The driver first sends what callers held back.
    pub(super) fn dispatch(&mut self, from_caller: bool) -> bool {
        if !from_caller {
            for i in 0..self.slots.len() {
                self.send_held(i);
            }
        }
        let mut moved = false;
        while let Some(d) = self.sched.poll_dispatch() {
            moved = true;
            let i = d.worker.index();
            let mut job = d.payload;
            let tag = call_tag(self.key, job.call);
            if job.items.len() >= SHARE_FROM {
                // After everything dispatched to the worker before it, in order.
                self.send_held(i);
                let before = std::mem::take(&mut self.outbox[i]);
                self.send_jobs(i, before);
                let head = protocol::job_head((d.first, job.call, tag), job.n);
                if self.lends_jobs && job.items.len() >= protocol::RUN_FAR_FROM {
                    let items = LentItems::of(&mut job.items);
                    let fds = self.keep_sent(i, d.first, job);
                    self.lend_job(i, head, items, fds);
                } else {
                    let items = job.items.share();
                    let fds = self.keep_sent(i, d.first, job);
                    self.send_shared(i, &head, items, fds);
                }
                continue;
            }
            let len = job.items.len() + protocol::JOB_HEAD;
            if !self.outbox[i].fits(len, job.fds.len(), RUN_BYTES) {
                // No more descriptors or bytes fit in this message: it goes out as it is.
                let full = std::mem::take(&mut self.outbox[i]);
                self.send_jobs(i, full);
            }
            let msg = &mut self.outbox[i].msg;
            protocol::push_job(msg, (d.first, job.call, tag), job.n, &job.items);
            let fds = self.keep_sent(i, d.first, job);
            let jobs = &mut self.outbox[i];
            jobs.fds.extend(fds);
            jobs.count += 1;
        }
        for i in 0..self.outbox.len() {
            if self.outbox[i].is_empty() {
                continue;
            }
            let jobs = std::mem::take(&mut self.outbox[i]);
            let spare = if from_caller {
                self.send_or_hold(i, jobs)
            } else {
                self.send_jobs(i, jobs)
            };
            // The next round's message is built in this one's buffer (no regrowing it
            // from empty every round).
            if let Some(mut buf) = spare.filter(|b| b.capacity() <= REUSE_BYTES) {
                buf.clear();
                self.outbox[i].msg = buf;
            }
        }
        moved
    }

    /// Holds `jobs` back if worker `i` is busy with jobs it was sent (its answer will wake
    /// the driver, which sends them), or sends them now; returns the message buffer when
    /// it is free again.
    fn send_or_hold(&mut self, i: usize, jobs: Jobs) -> Option<Vec<u8>> {
        let in_hand = self.sched.held_by(WorkerId(i as u16)).count();
        let Some(slot) = self.slots[i].as_mut() else {
            return self.send_jobs(i, jobs);
        };
        // The driver pumps (and sends what is held) before it waits again; or everything
        // dispatched to the worker earlier was sent (nothing waits in the queue) and some of
        // it is unanswered, so its answer will wake the driver; or jobs are held already,
        // which was decided the same way and stays true until the driver sends them.
        let busy = self.driver_awake.load(Ordering::Relaxed)
            || !slot.held.is_empty()
            || (!slot.conn.has_queued() && in_hand > jobs.count);
        if busy && slot.held.fits(jobs.msg.len(), jobs.fds.len(), HOLD_BYTES) {
            slot.held.append(jobs);
            return None;
        }
        self.send_held(i);
        self.send_jobs(i, jobs)
    }

    /// Sends the jobs held back for worker `i`, if any.
    fn send_held(&mut self, i: usize) {
        let held = match self.slots[i].as_mut() {
            Some(slot) if !slot.held.is_empty() => std::mem::take(&mut slot.held),
            _ => return,
        };
        self.send_jobs(i, held);
    }

    /// Queues one large job (`head`, then `items`) as a `RUN` message of its own to worker
    /// `i`, to be sent once the lock is released.
    pub(super) fn send_shared(&mut self, i: usize, head: &[u8], items: Arc<Vec<u8>>, fds: Vec<OwnedFd>) {
        let Some(conn) = self.slots[i].as_ref().map(|s| Arc::clone(&s.conn)) else {
            return; // the scheduler dispatches only to workers in place
        };
        match conn.enqueue_shared(RUN, head, items, fds) {
            Ok(()) => self.mark_unflushed(&conn),
            Err(Error::Disconnected) => self.effects.look(),
            Err(e) => self.lose(i, Loss::broke(e)),
        }
    }

    /// Queues `jobs` as one `RUN` message to worker `i`, to be sent once the lock is
    /// released.
    /// Returns the message buffer, free again.
    fn send_jobs(&mut self, i: usize, jobs: Jobs) -> Option<Vec<u8>> {
        if jobs.is_empty() {
            return Some(jobs.msg);
        }
        let Some(conn) = self.slots[i].as_ref().map(|s| Arc::clone(&s.conn)) else {
            return Some(jobs.msg); // the scheduler dispatches only to workers in place
        };
        match conn.enqueue(RUN, &jobs.msg, jobs.fds) {
            Ok(()) => self.mark_unflushed(&conn),
            // It hung up: the driver sees it go, collects it and reports it.
            Err(Error::Disconnected) => self.effects.look(),
            Err(e) => self.lose(i, Loss::broke(e)),
        }
        Some(jobs.msg)
    }
}
