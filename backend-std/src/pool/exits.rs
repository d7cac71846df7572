//! How workers leave the pool: asked to exit, or stopped at once (a process gets `SIGTERM`
//! and `SIGKILL` after a grace period, see the `Transport`); and collected, always, so no
//! zombie is left (a process is reaped by the fork server, which the driver waits on only
//! when it needs a dead worker's exit cause). A leaving process is kept in [`State::dying`] until it is
//! gone: the driver watches its socket for the hang-up and kills it when the grace runs out,
//! so a slow exit never holds up the rest of the pool.

use super::departures::{Dying, Loss, Lost, Pending, StartFailure};
use super::state::{Phase, Slot, State};
use crate::error::{Error, ExitCause};
use crate::protocol::EXIT;
use crate::wire::RawConn;
use forkpool_core::WorkerId;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// How long a process asked to exit (`EXIT`) may take before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

impl State {
    /// The error pending work fails with once the pool is broken.
    pub(crate) fn broken_error(&self) -> Error {
        match self.last_spawn_error() {
            Some(f) => f.broken(),
            None => Error::PoolBroken {
                message: "no worker could be started".into(),
                source: None,
            },
        }
    }

    /// Stops the process in slot `i` (it holds no task): asked to exit, or terminated.
    pub(super) fn stop(&mut self, i: usize) {
        let Some(slot) = self.take_slot(i) else {
            return;
        };
        // A worker idle when its pool was dropped needs no signal: it leaves on `EXIT`, or
        // when its socket closes as it is let go.
        let idle_at_drop = self.dropped.as_ref().is_some_and(|idle| idle[i]);
        if self.phase == Phase::Terminated && !idle_at_drop {
            self.terminate_process(slot, None);
        } else {
            // Sent once the lock is released, like jobs; a worker that does not take it
            // is killed when its grace runs out.
            if slot.conn.enqueue(EXIT, &[], Vec::new()).is_ok() {
                self.mark_unflushed(&slot.conn);
            }
            self.dying.push(Dying {
                pid: slot.pid,
                conn: slot.conn,
                exit: slot.exit,
                kill_at: Instant::now() + EXIT_GRACE,
                pending: None,
                told_to_exit: true,
            });
        }
    }

    /// Slot `i`'s worker is gone, broke the protocol, or must be stopped: tell the
    /// scheduler, which releases its tasks (failing with `loss`'s error) and asks for a
    /// replacement. A worker that died was collected by whoever saw it die (outside the
    /// lock, see `driver::collect`); any other is stopped, and collected later.
    pub(crate) fn lose(&mut self, i: usize, loss: Loss) {
        let Some(mut slot) = self.take_slot(i) else {
            return;
        };
        let pid = slot.pid.as_raw() as u32;
        if matches!(loss, Loss::Died(_) | Loss::Broke(_)) {
            self.last_spawn_error = Some(StartFailure::new(&loss.error(pid)));
        }
        let cause = loss.cause();
        super::events::lost(pid, i, &format!("{loss:?}"), cause);
        let w = WorkerId(i as u16);
        let lost = Lost { loss, pid };
        match (&lost.loss, slot.log.take()) {
            // It died: its log says what it finished and what it started (the loss is
            // exact: see `requeue.rs`).
            (Loss::Died(_), Some(log)) => {
                let sent = std::mem::take(&mut slot.sent);
                self.settle(Pending {
                    worker: w,
                    lost,
                    log,
                    sent,
                });
            }
            (Loss::Died(_), None) => {
                let _ = self.sched.handle_worker_lost_because(w, lost);
            }
            // Stopped on purpose (deadline, cancel, garbage on its socket): a job past its
            // deadline fails now; the rest is settled from its log once it is gone (it may
            // start a job before the signal lands).
            (Loss::TimedOut | Loss::Cancelled | Loss::Broke(_), Some(log)) => {
                if let Loss::TimedOut = lost.loss {
                    let _ = self.sched.expire(w, lost.clone());
                }
                let sent = std::mem::take(&mut slot.sent);
                let pending = Pending {
                    worker: w,
                    lost,
                    log,
                    sent,
                };
                self.terminate_process(slot, Some(pending));
            }
            _ => {
                self.terminate_process(slot, None);
                let _ = self.sched.handle_worker_lost_because(w, lost);
            }
        }
        let interrupted =
            matches!(cause, ExitCause::Signaled { signal, .. } if signal == Signal::SIGINT as i32);
        if interrupted && self.interrupt {
            // Ctrl-C, and the owner asked that it end the pool's work.
            self.terminate();
        }
    }

    /// `SIGTERM` now (and `SIGCONT`, in case it is stopped), `SIGKILL` after the grace;
    /// what it held is settled when it is gone, if `pending`.
    fn terminate_process(&mut self, slot: Slot, pending: Option<Pending>) {
        self.transport.stop_now(slot.pid);
        self.dying.push(Dying {
            pid: slot.pid,
            conn: slot.conn,
            exit: slot.exit,
            kill_at: Instant::now() + self.kill_grace,
            pending,
            told_to_exit: false,
        });
    }

    /// Worker `pid` was collected (its exit cause read) after it left its slot by another
    /// way: it is not collected again.
    pub(crate) fn collected(&mut self, pid: Pid) {
        if let Some(at) = self.dying.iter().position(|d| d.pid == pid) {
            // Seen gone: what it held is settled from its log.
            if let Some(p) = self.dying.swap_remove(at).pending {
                self.settle(p);
            }
        }
    }

    /// When the next dying process must be killed.
    pub(crate) fn next_kill(&self) -> Option<Instant> {
        self.dying.iter().map(|d| d.kill_at).min()
    }

    /// Reaps dying processes, each `(pid, exited)`: one whose socket hung up (it exited),
    /// or one that sent garbage instead of leaving, which is killed first.
    pub(crate) fn reap_dying(&mut self, gone: &[(Pid, bool)]) {
        let mut reap = Vec::with_capacity(gone.len());
        for &(pid, exited) in gone {
            if let Some(at) = self.dying.iter().position(|d| d.pid == pid) {
                let d = self.dying.swap_remove(at);
                reap.push((pid, !exited));
                match d.pending {
                    Some(p) if exited => self.settle(p),
                    Some(p) => self.settle_blind(p),
                    None => {}
                }
            }
        }
        self.effects.release(reap);
    }

    /// Kills and reaps every dying process whose grace has run out.
    pub(crate) fn reap_overdue(&mut self) {
        let now = Instant::now();
        let (overdue, alive) = std::mem::take(&mut self.dying)
            .into_iter()
            .partition(|d| d.kill_at <= now);
        self.dying = alive;
        let overdue: Vec<Dying> = overdue;
        self.effects.release(overdue.iter().map(|d| (d.pid, true)));
        // Not seen gone. A thread (it cannot be killed) is marked stopped in its log
        // before the log is read, so it starts nothing more, and what it held is settled
        // exactly; for a process, what it held cannot be told apart, and fails.
        let exact = self.transport.settles_from_log_alive();
        for p in overdue.into_iter().filter_map(|d| d.pending) {
            if exact {
                self.settle(p);
            } else {
                self.settle_blind(p);
            }
        }
    }

    /// For a dropped pool: hands every dying worker (told to stop) to a transport that reaps
    /// on its own (the fork server, which kills it after its grace), instead of the driver
    /// waiting for each to exit. Nothing of its is open here afterwards.
    pub(crate) fn let_dying_go(&mut self) {
        if self.dropped.is_none() {
            return;
        }
        for d in std::mem::take(&mut self.dying) {
            if let Some(p) = d.pending {
                self.settle_blind(p);
            }
            self.effects.release([(d.pid, false)]);
        }
    }

    /// Terminates every worker and reaps it, waiting out the grace here: for when no driver
    /// thread will do it (a pool that failed to start).
    pub(crate) fn abandon(&mut self) {
        self.terminate();
        self.pump(&mut super::deliveries::Deliveries::new());
        self.reap_all_dying();
    }

    /// Waits for every dying process to exit or its grace to run out, and has it reaped.
    /// What is still to be sent goes first: a worker told to exit must get its `EXIT` (no
    /// driver sends it here), or it would be waited for until its grace runs out.
    fn reap_all_dying(&mut self) {
        super::state::send_unflushed(&self.take_unflushed());
        let released = self.effects.take_releases();
        self.transport.release(&released);
        while let Some(mut d) = self.dying.pop() {
            if let Some(p) = d.pending.take() {
                self.settle_blind(p);
            }
            let left = d.kill_at.saturating_duration_since(Instant::now());
            let exited = match &d.exit {
                Some(exit) => crate::sys::wait_readable(exit, left),
                None => {
                    d.conn.poll(left).is_ok_and(|ready| ready)
                        && matches!(drain(&d.conn), Err(Error::Disconnected))
                }
            };
            self.transport.release(&[(d.pid, !exited)]);
        }
    }
}

/// Reads and drops whatever a dying process still sends; `Err(Disconnected)` once it hung up.
pub(crate) fn drain(conn: &RawConn) -> crate::error::Result<()> {
    while conn.try_recv()?.is_some() {}
    Ok(())
}
