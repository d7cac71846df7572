//! Where a released task goes: to its batch's sink, with the error that fits how it ended;
//! and cancelling a whole batch.

use super::deliveries::Deliveries;
use super::exits::Loss;
use super::sink::{Raw, Sink};
use super::state::{Phase, State};
use crate::error::{Error, ExitCause, Result};
use forkpool_core::{Outcome, Release, WorkerId};
use std::sync::Arc;

impl State {
    /// Cancels a batch: its queued tasks are dropped, and the workers running any of its
    /// tasks are killed (and replaced); all of them resolve to [`Error::Cancelled`].
    pub(crate) fn cancel_batch(&mut self, batch: u64) {
        self.sched.cancel(|job| job.batch == batch);
        let victims: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                self.sched
                    .held_by(WorkerId(i as u16))
                    .any(|(first, _)| self.batch_of(first) == Some(batch))
            })
            .collect();
        for i in victims {
            self.lose(i, Loss::Cancelled);
        }
    }

    fn batch_of(&self, seq: u64) -> Option<u64> {
        let (&first, &(batch, _, n)) = self.ranges.range(..=seq).next_back()?;
        (seq - first < n as u64).then_some(batch)
    }

    pub(super) fn route(&mut self, r: Release<u64, Result<Raw>>, out: &mut Deliveries) {
        let hit = self
            .last_route
            .as_ref()
            .is_some_and(|c| r.seq >= c.first && r.seq - c.first < c.n as u64);
        if !hit {
            let Some((&first, &(batch, index, n))) = self.ranges.range(..=r.seq).next_back() else {
                return;
            };
            let Some(b) = self.batches.get(&batch) else {
                return;
            };
            self.last_route = Some(Route {
                first,
                batch,
                index,
                n,
                sink: Arc::clone(&b.sink),
            });
        }
        let Some(route) = self.last_route.as_ref() else {
            return;
        };
        let (first, batch, index, n) = (route.first, route.batch, route.index, route.n);
        let offset = (r.seq - first) as usize;
        if offset >= n || r.len > n - offset {
            return;
        }
        match r.outcome {
            Outcome::Done(result) => out.push(&route.sink, index + offset, result),
            failed => {
                for k in 0..r.len {
                    out.push(&route.sink, index + offset + k, Err(self.failure(&failed)));
                }
            }
        }
        if offset + r.len == n {
            self.ranges.remove(&first);
            self.last_route = None;
        }
        let Some(b) = self.batches.get_mut(&batch) else {
            return;
        };
        b.pending -= r.len;
        if b.pending == 0 && !b.open {
            self.batches.remove(&batch);
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

/// A job range (`n` tasks from sequence `first`, items `index..` of `batch`) and its sink.
pub(crate) struct Route {
    first: u64,
    batch: u64,
    index: usize,
    n: usize,
    sink: Arc<dyn Sink>,
}
