//! Where a released task goes: to its batch's sink, with the error that fits how it ended;
//! and cancelling a whole batch.

use super::exits::Loss;
use super::sink::Raw;
use super::state::{Deliveries, Phase, State};
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
        let Some((&first, &(batch, index, n))) = self.ranges.range(..=r.seq).next_back() else {
            return;
        };
        let offset = (r.seq - first) as usize;
        if offset >= n {
            return;
        }
        if offset + 1 == n {
            self.ranges.remove(&first);
        }
        let result = match r.outcome {
            Outcome::Done(result) => result,
            Outcome::WorkerLost(w) => Err(match self.lost.get(&w.index()) {
                Some((loss, pid, cause)) => loss.error(*pid, *cause),
                None => Error::WorkerDied {
                    pid: 0,
                    cause: ExitCause::Unknown,
                },
            }),
            Outcome::Cancelled if self.phase == Phase::Terminated => Err(Error::Terminated),
            Outcome::Cancelled if self.sched.is_broken() => Err(match self.last_spawn_error() {
                Some(f) => f.broken(),
                None => Error::PoolBroken {
                    message: "no worker could be started".into(),
                    source: None,
                },
            }),
            Outcome::Cancelled => Err(Error::Cancelled),
        };
        let Some(b) = self.batches.get_mut(&batch) else {
            return;
        };
        b.pending -= 1;
        out.push((Arc::clone(&b.sink), index + offset, result));
        if b.pending == 0 && !b.open {
            self.batches.remove(&batch);
        }
    }
}
