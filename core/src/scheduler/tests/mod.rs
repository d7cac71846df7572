extern crate std;

mod cancel;
mod props;
mod restart;
mod sim;

use crate::*;
use sim::*;
use std::vec::Vec;

#[test]
fn seed_schedule_four_workers() {
    // The seed: 5 tasks, 4 workers; the fifth starts on the first worker to finish.
    let mut sim = Sim::new(Config::new(4), OrderedW::starting_at(0), 0);
    for _ in 0..5 {
        assert!(sim.submit(1));
    }
    sim.pump();
    assert_eq!(sim.sched.in_flight(), 4);
    assert_eq!(sim.sched.queued(), 1);
    // Task 0 (factorial of 4) finishes first; task 4 goes to that same worker.
    let w0 = *sim.procs.iter().find(|(_, p)| p.pending == [0]).unwrap().0;
    let seq = sim.procs.get_mut(&w0).unwrap().pending.remove(0);
    sim.sched.handle_result(WorkerId(w0), seq, seq).unwrap();
    sim.pump();
    assert_eq!(sim.procs[&w0].pending, [4]);
    sim.drive_bounded(100);
    let order: Vec<_> = sim.released.iter().map(|r| r.seq).collect();
    assert_eq!(order, [0, 1, 2, 3, 4]);
}

#[test]
fn apply_one_at_a_time_is_serial() {
    let mut sim = Sim::new(Config::new(4), UnorderedW::new(), 0);
    for i in 0..5u16 {
        sim.submit(1);
        sim.drive_once();
        assert_eq!(sim.released.last().unwrap().seq, i);
    }
}

impl<O: ResultOrder<Seq, Settled<Seq, Tag, Cause>>> Sim<O> {
    fn drive_once(&mut self) {
        self.pump();
        while self.step(0) {}
    }
}

#[test]
fn u16_sequences_order_across_wrap_around() {
    let mut sim = Sim::new(Config::new(3), OrderedW::starting_at(65_000), 65_000);
    let mut expected = 65_000u16;
    let mut count = 0usize;
    while count < 70_000 {
        while sim.submit(3) {}
        sim.pump();
        // Answer out of order: the last busy worker first.
        sim.step(usize::MAX);
        for r in sim.released.drain(..) {
            assert_eq!(r.seq, expected);
            expected = expected.wrapping_add(1);
            count += 1;
        }
    }
}

#[test]
fn lost_worker_fails_exactly_its_tasks_and_is_replaced() {
    let mut sim = Sim::new(Config::new(2), UnorderedW::new(), 0);
    sim.submit(3);
    sim.submit(2);
    sim.pump();
    let (victim, held) = sim
        .procs
        .iter()
        .find(|(_, p)| p.pending.len() == 3)
        .map(|(w, p)| (*w, p.pending.clone()))
        .unwrap();
    sim.step(0);
    let before = sim.released.len();
    sim.procs.get_mut(&victim).unwrap().pending.clear();
    sim.sched.handle_worker_lost(WorkerId(victim)).unwrap();
    sim.procs.remove(&victim);
    sim.pump();
    let lost: Vec<_> = sim.released[before..]
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::WorkerLost(v, _) if v == WorkerId(victim)))
        .map(|r| r.seq)
        .collect();
    let answered_by_victim: Vec<_> = held.iter().filter(|s| sim.answered.contains(s)).collect();
    assert_eq!(lost.len() + answered_by_victim.len(), 3);
    assert!(sim.procs.contains_key(&victim), "replacement spawned");
    sim.sched.handle_worker_lost(WorkerId(victim)).ok();
    sim.drive_bounded(100);
}

#[test]
fn max_jobs_per_worker_retires_and_replaces() {
    let mut cfg = Config::new(2);
    cfg.max_jobs_per_worker = Some(2);
    let mut sim = Sim::new(cfg, UnorderedW::new(), 0);
    for _ in 0..9 {
        sim.submit(1);
    }
    sim.drive_bounded(100);
    assert_eq!(sim.released.len(), 9);
    assert!(sim.max_jobs_per_proc <= 2);
    assert!(sim.procs.is_empty(), "every worker stopped after close");
}

#[test]
fn spawn_failures_break_the_scheduler_and_cancel_pending() {
    let mut sched: Sched<UnorderedW> =
        Sched::new(Config::new(1), FifoQueue::new(), UnorderedW::new(), 0).unwrap();
    sched.submit(7, 2).unwrap();
    for _ in 0..5 {
        let Some(WorkerCommand::Spawn(w)) = sched.poll_worker() else {
            panic!("expected a spawn request")
        };
        sched.handle_spawn_failed(w).unwrap();
    }
    assert!(sched.is_broken());
    assert_eq!(sched.poll_worker(), None, "no endless respawn loop");
    assert!(sched.poll_dispatch().is_none());
    let outcomes: Vec<_> = core::iter::from_fn(|| sched.poll_release()).collect();
    assert_eq!(outcomes.len(), 1, "the queued job is cancelled as one run");
    assert_eq!((outcomes[0].seq, outcomes[0].len), (0, 2));
    assert!(
        outcomes
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Cancelled(_)))
    );
    assert!(sched.is_finished());
    assert!(matches!(sched.submit(8, 1), Err(SubmitError::Closed(8))));
}

#[test]
fn abort_cancels_everything_once() {
    let mut sim = Sim::new(Config::new(2), OrderedW::starting_at(0), 0);
    for _ in 0..6 {
        sim.submit(2);
    }
    sim.step(0);
    sim.sched.abort();
    sim.procs.values_mut().for_each(|p| p.pending.clear());
    sim.pump();
    assert!(sim.procs.is_empty(), "abort stops every worker");
    let mut seqs: Vec<_> = sim.released.iter().map(|r| r.seq).collect();
    seqs.dedup();
    assert_eq!(seqs, sim.submitted);
    assert!(sim.sched.is_finished());
}

#[test]
fn rejects_bad_configs_and_lengths() {
    let q = FifoQueue::new;
    assert!(Sched::new(Config::new(0), q(), UnorderedW::new(), 0).is_err());
    assert!(Sched::new(Config::new(7), q(), UnorderedW::new(), 0).is_err());
    let mut cfg = Config::new(1);
    cfg.depth = 0;
    assert!(Sched::new(cfg, q(), UnorderedW::new(), 0).is_err());
    let mut s = Sched::new(Config::new(1), q(), UnorderedW::new(), 0).unwrap();
    assert!(matches!(s.submit(1, 0), Err(SubmitError::BadLength(1))));
    assert!(matches!(
        s.submit(1, WINDOW + 1),
        Err(SubmitError::BadLength(1))
    ));
    assert_eq!(
        s.handle_result(WorkerId(9), 0, 0),
        Err(SchedulerError::UnknownWorker(WorkerId(9)))
    );
    assert_eq!(
        s.handle_result(WorkerId(0), 0, 0),
        Err(SchedulerError::UnexpectedResult(WorkerId(0)))
    );
}

#[test]
fn pipelines_only_while_the_queue_is_deep() {
    let mut cfg = Config::new(2);
    cfg.depth = 4;
    let mut sim = Sim::new(cfg, UnorderedW::new(), 0);
    for _ in 0..3 {
        sim.submit(1);
    }
    sim.pump();
    // 3 jobs, 2 workers: one each, the third waits for a free worker.
    assert_eq!(sim.sched.in_flight(), 2);
    for _ in 0..40 {
        sim.submit(1);
    }
    sim.pump();
    assert_eq!(
        sim.sched.in_flight(),
        8,
        "deep queue: both workers pipeline to depth 4"
    );
    sim.drive_bounded(1000);
    assert_eq!(sim.released.len(), 43);
}

#[test]
fn a_job_past_its_deadline_expires_its_worker_only() {
    let mut sim = Sim::new(Config::new(2), UnorderedW::new(), 0);
    sim.sched.handle_time(1000);
    sim.sched.submit_with_timeout(0, 1, Some(50)).unwrap();
    sim.sched.submit_with_timeout(1, 1, None).unwrap();
    sim.pump();
    assert_eq!(sim.sched.next_deadline(), Some(1050));
    sim.sched.handle_time(1049);
    assert_eq!(sim.sched.poll_expired(), None);
    sim.sched.handle_time(1050);
    let w = sim.sched.poll_expired().expect("the timed job expired");
    assert!(sim.procs[&w.0].pending.contains(&0));
    let p = sim.procs.remove(&w.0).unwrap();
    sim.killed_with.push((w, p.pending));
    sim.sched.handle_worker_lost(w).unwrap();
    sim.pump();
    assert_eq!(sim.sched.poll_expired(), None);
    assert_eq!(sim.sched.next_deadline(), None);
    sim.drive_bounded(100);
    assert_eq!(sim.released.len(), 2);
    assert!(
        sim.released
            .iter()
            .any(|r| r.seq == 0 && matches!(r.outcome, Outcome::WorkerLost(v, _) if v == w))
    );
    assert!(
        sim.released
            .iter()
            .any(|r| r.seq == 1 && r.outcome == Outcome::Done(1))
    );
}

#[test]
fn a_queued_job_deadline_starts_when_it_starts() {
    let mut cfg = Config::new(1);
    cfg.depth = 2;
    let mut sim = Sim::new(cfg, UnorderedW::new(), 0);
    for _ in 0..3 {
        sim.sched.submit_with_timeout(0, 1, Some(10)).unwrap();
    }
    sim.pump();
    assert_eq!(sim.sched.next_deadline(), Some(10));
    sim.sched.handle_time(8);
    sim.step(0);
    assert_eq!(
        sim.sched.next_deadline(),
        Some(18),
        "the second job started at 8"
    );
}

/// A retirement decided but not yet polled must still stop its process when the scheduler
/// is aborted in between (a pool terminated right as a worker reached maxtasksperchild).
#[test]
fn abort_between_retirement_and_poll_still_stops_the_worker() {
    let mut cfg = Config::new(1);
    cfg.max_jobs_per_worker = Some(1);
    let mut sim = Sim::new(cfg, UnorderedW::new(), 0);
    sim.submit(1);
    sim.pump();
    let w = WorkerId(0);
    let seq = sim.procs.get_mut(&0).unwrap().pending.remove(0);
    sim.sched.handle_result(w, seq, seq).unwrap(); // budget spent: retirement pending
    sim.sched.abort();
    assert_eq!(sim.sched.poll_worker(), Some(WorkerCommand::Stop(w)));
    assert_eq!(sim.sched.poll_worker(), None, "no replacement after abort");
}

#[test]
fn a_run_stays_within_its_job_and_releases_whole() {
    let mut config = Config::new(1);
    config.depth = 2;
    let mut sim = Sim::new(config, OrderedW::starting_at(65534), 65534);
    for _ in 0..4 {
        sim.submit(3); // deep enough that the one worker holds two jobs
    }
    sim.pump();
    let w = WorkerId(0);
    assert_eq!(sim.sched.in_flight(), 2);
    let refused =
        |s: &mut Sim<OrderedW>, first, len| s.sched.handle_results(w, first, len, first).is_err();
    assert!(refused(&mut sim, 65534, 0), "an empty run");
    assert!(refused(&mut sim, 65535, 1), "out of turn");
    assert!(refused(&mut sim, 65534, 4), "crosses into the next job");
    sim.sched.handle_results(w, 65534, 2, 65534).unwrap();
    assert!(refused(&mut sim, 0, 2), "crosses into the next job");
    sim.procs.get_mut(&0).unwrap().pending.drain(..2);
    sim.answered.extend([65534, 65535]);
    sim.pump();
    assert_eq!(
        (sim.releases[0].seq, sim.releases[0].len),
        (65534, 2),
        "one release for the run"
    );
    sim.drive_bounded(100);
    let order: Vec<_> = sim.released.iter().map(|r| r.seq).collect();
    assert_eq!(order, sim.submitted);
}

#[test]
fn a_slot_table_that_is_full_is_a_config_error() {
    type Small = heapless::Vec<WorkerSlot<Seq, Tag>, 2>;
    type S = Scheduler<
        u32,
        Seq,
        Seq,
        FifoQueue<Job<u32, Seq, Tag>, 4>,
        UnorderedW,
        6,
        Tag,
        Cause,
        Small,
    >;
    let err = S::new(Config::new(3), FifoQueue::new(), UnorderedW::new(), 0).err();
    assert_eq!(err, Some(ConfigError::Workers { asked: 3, max: 2 }));
    assert!(S::new(Config::new(2), FifoQueue::new(), UnorderedW::new(), 0).is_ok());
}
