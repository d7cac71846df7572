//! Cancelling what workers already hold, aborting, and exact losses (a lost worker's jobs
//! that never started run again).

extern crate std;

use super::sim::*;
use crate::*;
use std::vec::Vec;

/// Cancelling by tag reaches work already dispatched: a job held behind the running one is
/// released as cancelled at once and its answer dropped; a cancelled *running* job gets its
/// worker killed, and what else that worker held comes back lost with the driver's cause.
#[test]
fn cancel_tagged_releases_held_work_and_kills_only_for_a_running_job() {
    let mut c = Config::new(1);
    c.depth = 2;
    let mut sim = Sim::new(c, UnorderedW::new(), 0);
    assert!(sim.submit(1) && sim.submit(1)); // jobs 0 and 1, both on the one worker
    sim.pump();
    assert_eq!(sim.procs[&0].pending, [0, 1]);
    sim.cancel_tagged(1); // job 1: held, not running
    assert!(sim.kills.is_empty());
    let r = sim.released.last().unwrap();
    assert_eq!(
        (r.seq, r.tag, &r.outcome),
        (1, 1, &Outcome::Cancelled(CancelReason::Cancelled))
    );
    assert!(sim.step(0) && sim.step(0)); // job 0 answered, job 1's answer dropped
    assert_eq!(sim.answered, [0]);
    assert_eq!(sim.released.len(), 2);

    assert!(sim.submit(2) && sim.submit(1)); // jobs 2 (tasks 2, 3) and 3 (task 4)
    sim.pump();
    assert!(sim.step(0)); // task 2 done: job 2 runs on
    sim.cancel_tagged(2); // job 2 is running: its worker is killed
    assert_eq!(sim.kills, [WorkerId(0)]);
    let outcome = |seq: Seq| {
        sim.released
            .iter()
            .find(|r| r.seq == seq)
            .map(|r| r.outcome.clone())
    };
    assert_eq!(outcome(2), Some(Outcome::Done(2)));
    assert_eq!(
        outcome(3),
        Some(Outcome::Cancelled(CancelReason::Cancelled))
    );
    // Job 3 was held behind it: lost, with the cause given for this loss (the first).
    assert_eq!(outcome(4), Some(Outcome::WorkerLost(WorkerId(0), 0)));
    let r = sim.released.iter().find(|r| r.seq == 3).unwrap();
    assert_eq!((r.tag, r.offset), (2, 1));
    sim.drive_bounded(100);
    assert_eq!(sim.released.len(), sim.submitted.len());
}

#[test]
fn abort_says_why_tasks_were_cancelled() {
    let mut sim = Sim::new(Config::new(1), UnorderedW::new(), 0);
    sim.submit(1);
    sim.submit(1);
    sim.pump();
    sim.sched.abort();
    // The driver stops its processes whatever they hold.
    sim.procs.values_mut().for_each(|p| p.pending.clear());
    sim.pump();
    assert_eq!(sim.released.len(), 2);
    assert!(
        sim.released
            .iter()
            .all(|r| r.outcome == Outcome::Cancelled(CancelReason::Aborted))
    );
}

/// An exact loss fails only the running job; the jobs behind it run again, once, in their
/// turn, and ordered release keeps submission order.
#[test]
fn an_exact_loss_fails_only_the_running_job_and_requeues_the_rest() {
    let mut c = Config::new(1);
    c.depth = 3;
    let mut sim = Sim::new(c, OrderedW::starting_at(0), 0);
    for _ in 0..3 {
        assert!(sim.submit(1));
    }
    sim.pump();
    // Two held (the pipeline deepens with the queue), one still queued.
    assert_eq!(sim.procs[&0].pending, [0, 1]);
    sim.lose_exact(0);
    assert_eq!(sim.requeued, 1);
    sim.drive_bounded(100);
    let outcomes: Vec<_> = sim
        .released
        .iter()
        .map(|r| (r.seq, r.outcome.clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (0, Outcome::WorkerLost(WorkerId(0), 0)),
            (1, Outcome::Done(1)),
            (2, Outcome::Done(2)),
        ]
    );
}
