//! Restart intensity: back-off between failed starts, and the window they must fall in.

use super::sim::*;
use crate::*;

fn one_worker(config: Config) -> Sched<UnorderedW> {
    let mut sched = Sched::new(config, FifoQueue::new(), UnorderedW::new(), 0).unwrap();
    sched.submit(7, 1).unwrap();
    sched
}

fn expect_spawn(sched: &mut Sched<UnorderedW>) -> WorkerId {
    match sched.poll_worker() {
        Some(WorkerCommand::Spawn(w)) => w,
        other => panic!("expected a spawn request, got {other:?}"),
    }
}

#[test]
fn failed_starts_back_off_doubling() {
    let mut config = Config::new(1);
    config.restart_backoff = 10;
    let mut sched = one_worker(config);
    let w = expect_spawn(&mut sched);
    let mut now = 0;
    for wait in [10, 20, 40, 80] {
        sched.handle_spawn_failed(w).unwrap();
        assert_eq!(sched.poll_worker(), None, "no retry before the back-off");
        assert_eq!(sched.next_deadline(), Some(now + wait));
        sched.handle_time(now + wait - 1);
        assert_eq!(sched.poll_worker(), None);
        now += wait;
        sched.handle_time(now);
        assert_eq!(expect_spawn(&mut sched), w);
    }
    sched.handle_spawn_failed(w).unwrap();
    assert!(sched.is_broken(), "5 failures in a row");
    assert_eq!(sched.next_deadline(), None);
}

#[test]
fn failures_further_apart_than_the_window_do_not_break() {
    let mut config = Config::new(1);
    config.max_spawn_failures = 3;
    config.restart_window = Some(100);
    let mut sched = one_worker(config);
    for round in 0..10u64 {
        let w = expect_spawn(&mut sched);
        sched.handle_time(round * 60);
        sched.handle_spawn_failed(w).unwrap();
        assert!(!sched.is_broken(), "round {round}: only two within any 100");
    }
    // The last two failed at 480 and 540: a third at 540 makes three within 100.
    let w = expect_spawn(&mut sched);
    sched.handle_spawn_failed(w).unwrap();
    assert!(sched.is_broken(), "three within the window");
}

#[test]
fn a_successful_start_ends_the_run() {
    let mut config = Config::new(1);
    config.max_spawn_failures = 2;
    let mut sched = one_worker(config);
    for _ in 0..10 {
        let w = expect_spawn(&mut sched);
        sched.handle_spawn_failed(w).unwrap();
        let w = expect_spawn(&mut sched);
        sched.handle_worker_idle(w).unwrap();
        sched.handle_worker_lost(w).unwrap();
        assert!(!sched.is_broken());
    }
}

/// A budget of no jobs per worker, or no allowed failed start, is refused up front.
#[test]
fn configurations_that_could_never_run_are_refused() {
    let mut c = Config::new(1);
    c.max_jobs_per_worker = Some(0);
    let refused = Sched::<UnorderedW>::new(c, FifoQueue::new(), UnorderedW::new(), 0).err();
    assert_eq!(refused, Some(ConfigError::NoJobsPerWorker));
    let mut c = Config::new(1);
    c.max_spawn_failures = 0;
    let refused = Sched::<UnorderedW>::new(c, FifoQueue::new(), UnorderedW::new(), 0).err();
    assert_eq!(refused, Some(ConfigError::NoSpawnFailures));
}

/// A start asked for before the scheduler breaks down may have made a process: it is not
/// forgotten. Once it reports ready, the broken (closed) scheduler stops it; an abort stops
/// it even before. Only starts not asked for yet are dropped.
#[test]
fn a_start_already_asked_for_is_stopped_after_a_break_down() {
    for abort_first in [false, true] {
        let mut config = Config::new(2);
        config.max_spawn_failures = 1;
        let mut sched = Sched::new(config, FifoQueue::new(), UnorderedW::new(), 0).unwrap();
        let (a, b) = (expect_spawn(&mut sched), expect_spawn(&mut sched));
        sched.handle_spawn_failed(b).unwrap();
        assert!(sched.is_broken());
        if abort_first {
            sched.abort();
            assert_eq!(sched.poll_worker(), Some(WorkerCommand::Stop(a)));
        } else {
            sched.handle_worker_idle(a).unwrap();
            assert_eq!(sched.poll_worker(), Some(WorkerCommand::Stop(a)));
        }
        assert_eq!(
            sched.poll_worker(),
            None,
            "nothing for the start that failed"
        );
        assert!(sched.is_finished());
    }
}
