//! Exact losses: what a worker with a result log (`protocol::log`) leaves when it dies.
//! Its unsent results are read back from the log, the task it was running fails alone, and
//! the jobs sent to it but never started run again elsewhere, from the copies kept here.

use super::departures::{Lost, Pending};
use super::jobs::TaskJob;
use super::state::State;
use crate::protocol;
use forkpool_core::WorkerId;
use std::collections::VecDeque;
use std::os::fd::OwnedFd;

/// Kept jobs a worker may have before the answered ones are dropped: twice the deepest
/// pipeline, so pruning runs once per that many jobs.
const PRUNE_AT: usize = 2 * forkpool_core::scheduler::MAX_DEPTH;

impl State {
    /// Hands worker `i` a result log when it first holds more than one job (its results may
    /// then wait while it starts the next): sent before the job just dispatched, so every job
    /// it starts from now on runs with it. Off the start-up path: a pool that never
    /// pipelines never makes one.
    fn give_log(&mut self, i: usize) {
        let needs = self.transport.keeps_logs()
            && self.slots[i].as_ref().is_some_and(|s| s.log.is_none())
            && self.sched.held_by(WorkerId(i as u16)).nth(1).is_some();
        if !needs {
            return;
        }
        let Ok(fd) = crate::sys::Mapping::sealed_file(protocol::LOG_BYTES) else {
            return; // no log: its losses are not exact
        };
        let Some(slot) = self.slots[i].as_mut() else {
            return;
        };
        let sent = fd
            .try_clone()
            .is_ok_and(|theirs| slot.conn.enqueue(protocol::LOG, &[], vec![theirs]).is_ok());
        if sent {
            slot.log = Some(fd);
            let conn = std::sync::Arc::clone(&slot.conn);
            self.mark_unflushed(&conn);
        }
    }

    /// Keeps job `first` sent to worker `i` (if it has a log) until it is answered, and
    /// returns the descriptors to send with it (the kept copy has duplicates).
    pub(super) fn keep_sent(&mut self, i: usize, first: u64, mut job: TaskJob) -> Vec<OwnedFd> {
        self.give_log(i);
        if self.slots[i].as_ref().is_none_or(|s| s.log.is_none()) {
            return job.fds;
        }
        // Jobs answered in full are done with: dropped now and then, not on every job
        // (a stale copy is never asked for).
        if self.slots[i].as_ref().is_some_and(|s| s.sent.len() >= PRUNE_AT) {
            // What the worker still holds: each job's next unanswered task (a job run again
            // may sit behind newer ones, so every one is looked at).
            let mut held: Vec<u64> = self
                .sched
                .held_by(WorkerId(i as u16))
                .map(|(next, _)| next)
                .collect();
            held.sort_unstable();
            if let Some(slot) = self.slots[i].as_mut() {
                // Kept: a job whose range holds some `next` (the first one at or after its
                // start, by binary search).
                slot.sent.retain(|(f, j)| {
                    let end = f + u64::from(j.n);
                    let at = held.partition_point(|next| next < f);
                    held.get(at).is_some_and(|next| *next < end)
                });
            }
        }
        let Some(slot) = self.slots[i].as_mut() else {
            return job.fds;
        };
        let fds = std::mem::take(&mut job.fds);
        let dups: std::io::Result<Vec<OwnedFd>> = fds.iter().map(|f| f.try_clone()).collect();
        if let Ok(dups) = dups {
            // Without duplicates it cannot run again: if lost, it fails.
            job.fds = dups;
            slot.sent.push_back((first, job));
        }
        fds
    }

    /// Settles what a worker that is gone held, from its log: the results it left are fed
    /// to the scheduler (those it had sent already are refused as out of turn, and
    /// skipped); the jobs up to the last it started fail with the loss; the jobs it never
    /// started run again from the copies kept.
    pub(super) fn settle(&mut self, p: Pending) {
        let Pending {
            worker,
            lost,
            log,
            sent,
        } = p;
        // Mapped only now: nothing reads a live worker's log.
        let Ok(log) = crate::sys::Mapping::from_fd(log) else {
            let _ = self.sched.handle_worker_lost_because(worker, lost);
            return;
        };
        // First the stop: from here on the worker (if it still runs) starts no job.
        let mark = protocol::stop_and_last_started(&log);
        let bytes = protocol::salvage(&log);
        if !bytes.is_empty()
            && let Ok(answers) = protocol::decode_done(bytes, Vec::new())
        {
            for a in answers {
                let (seq, count) = (a.seq, a.count);
                let result = a.into_result(lost.pid);
                let _ = self.sched.handle_results(worker, seq, count, result);
            }
        }
        // Without a mark, the worker had not started a job since it took the log: the one
        // it was running, if any, is the oldest it holds.
        let front = self.sched.held_by(worker).next().map(|(next, _)| next);
        let started = mark.or(front);
        let _ = self
            .sched
            .handle_worker_lost_exact(worker, lost.clone(), started);
        self.requeue(sent, &lost);
    }

    /// Settles a worker that was not seen gone (killed after its grace): whatever it held
    /// fails with the loss, as nothing tells what it started.
    pub(super) fn settle_blind(&mut self, p: Pending) {
        let _ = self.sched.handle_worker_lost_because(p.worker, p.lost);
    }

    /// Runs again the jobs a lost worker never started (the scheduler gives them back);
    /// one with no kept copy fails with the loss.
    fn requeue(&mut self, mut sent: VecDeque<(u64, TaskJob)>, lost: &Lost) {
        while let Some(r) = self.sched.poll_requeue() {
            match sent.iter().position(|(f, _)| *f == r.first) {
                Some(k) => {
                    let (_, job) = sent.remove(k).expect("found just above");
                    if let Err(e) = self.sched.resubmit(r, job) {
                        drop(e);
                        self.sched.fail_requeue(r, lost.clone());
                    }
                }
                None => self.sched.fail_requeue(r, lost.clone()),
            }
        }
    }
}
