//! Where a released task goes: to its batch's sink, with the error that fits how it ended;
//! and cancelling a whole batch.

use super::deliveries::Deliveries;
use super::departures::Lost;
use super::ledger::{BatchId, Tag};
use super::sink::Raw;
use super::state::State;
use crate::error::{Error, Result};
use forkpool_core::{CancelReason, Outcome, Release};
use std::sync::Arc;

impl State {
    /// Cancels a batch: its queued tasks are dropped, the ones workers hold are released,
    /// and a worker running one of its tasks is killed and replaced (the scheduler decides
    /// which); all of them resolve to [`Error::Cancelled`].
    pub(crate) fn cancel_batch(&mut self, batch: BatchId) {
        self.sched.cancel_tagged(|t| t.batch == batch);
    }

    pub(super) fn route(&mut self, r: Release<u64, Result<Raw>, Tag, Lost>, out: &mut Deliveries) {
        let Some(to) = self.ledger.release(r.tag, r.offset, r.len) else {
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

    /// The error a task released without a result fails with.
    fn failure(&self, outcome: &Outcome<Result<Raw>, Lost>) -> Error {
        match outcome {
            Outcome::WorkerLost(_, lost) => lost.error(),
            Outcome::Cancelled(CancelReason::Aborted) => Error::Terminated,
            Outcome::Cancelled(CancelReason::Broken) => self.broken_error(),
            Outcome::Cancelled(_) | Outcome::Done(_) => Error::Cancelled,
        }
    }
}
