//! Where a released task goes: to its batch's sink, with the error that fits how it ended;
//! and cancelling a whole batch.

use super::deliveries::Deliveries;
use super::departures::Loss;
use super::ledger::BatchId;
use super::sink::Raw;
use super::state::{Phase, State};
use crate::error::{Error, ExitCause, Result};
use forkpool_core::{Outcome, Release, WorkerId};
use std::sync::Arc;

impl State {
    /// Cancels a batch: its queued tasks are dropped, and the workers running any of its
    /// tasks are killed (and replaced); all of them resolve to [`Error::Cancelled`].
    pub(crate) fn cancel_batch(&mut self, batch: BatchId) {
        self.sched.cancel(|job| job.batch == batch);
        let victims: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                self.sched
                    .held_by(WorkerId(i as u16))
                    .any(|(first, _)| self.ledger.batch_of(first) == Some(batch))
            })
            .collect();
        for i in victims {
            self.lose(i, Loss::Cancelled);
        }
    }

    pub(super) fn route(&mut self, r: Release<u64, Result<Raw>>, out: &mut Deliveries) {
        let Some(to) = self.ledger.release(r.seq, r.len) else {
            return;
        };
        match r.outcome {
            Outcome::Done(result) => {
                match &result {
                    Ok(raw) => self.counts.completed += raw.len() as u64,
                    Err(e) => {
                        self.counts.failed += 1;
                        super::events::failed(1, e);
                    }
                }
                out.push(to.sink, to.index, result)
            }
            failed => {
                self.counts.failed += r.len as u64;
                #[cfg(feature = "tracing")]
                super::events::failed(r.len, &self.failure(&failed));
                for k in 0..r.len {
                    out.push(
                        Arc::clone(&to.sink),
                        to.index + k,
                        Err(self.failure(&failed)),
                    );
                }
            }
        }
    }
}

impl State {
    /// The error a task released without a result fails with.
    fn failure(&self, outcome: &Outcome<Result<Raw>>) -> Error {
        match outcome {
            Outcome::WorkerLost(w) => match self.lost.get(&w.index()) {
                Some((loss, pid, cause)) => loss.error(*pid, *cause),
                None => Error::WorkerDied {
                    pid: 0,
                    cause: ExitCause::Unknown,
                },
            },
            Outcome::Cancelled if self.phase == Phase::Terminated => Error::Terminated,
            Outcome::Cancelled if self.sched.is_broken() => self.broken_error(),
            Outcome::Cancelled | Outcome::Done(_) => Error::Cancelled,
        }
    }
}
