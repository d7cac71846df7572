//! Property tests: random interleavings of submit / answer / worker loss / cancel events,
//! random worker counts, depths, chunk sizes, budgets and starting sequence numbers.

extern crate std;

use super::sim::*;
use crate::*;
use proptest::prelude::*;
use std::vec::Vec;

#[derive(Clone, Debug)]
enum Event {
    Submit(usize),
    Step(usize),
    Run(usize, usize),
    Kill(usize),
    Cancel(u32),
    CancelTagged(u32),
    LoseExact(usize),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => (1usize..=4).prop_map(Event::Submit),
        6 => any::<usize>().prop_map(Event::Step),
        2 => (any::<usize>(), 1usize..=4).prop_map(|(p, n)| Event::Run(p, n)),
        1 => any::<usize>().prop_map(Event::Kill),
        1 => (0u32..3).prop_map(Event::Cancel),
        1 => (0u32..3).prop_map(Event::CancelTagged),
        1 => any::<usize>().prop_map(Event::LoseExact),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    (1usize..=6, 1usize..=3, proptest::option::of(1u32..4)).prop_map(|(w, d, budget)| {
        let mut c = Config::new(w);
        c.depth = d;
        c.max_jobs_per_worker = budget;
        c
    })
}

fn run<O: ResultOrder<Seq, Settled<Seq, Tag, Cause>>>(sim: &mut Sim<O>, events: &[Event]) {
    for e in events {
        match *e {
            Event::Submit(len) => {
                sim.submit(len);
                sim.pump();
            }
            Event::Step(pick) => {
                sim.step(pick);
            }
            Event::Run(pick, n) => {
                sim.step_run(pick, n);
            }
            Event::Kill(pick) => sim.kill(pick),
            Event::Cancel(k) => {
                sim.sched.cancel(|job| job % 3 == k);
                sim.pump();
            }
            Event::CancelTagged(k) => sim.cancel_tagged(k),
            Event::LoseExact(pick) => sim.lose_exact(pick),
        }
    }
    sim.drive_bounded(10_000);
}

/// The checks shared by both orders: exactly once, correct values, exact loss accounting.
fn check_common<O: ResultOrder<Seq, Settled<Seq, Tag, Cause>>>(
    sim: &Sim<O>,
) -> Result<(), TestCaseError> {
    let mut released: Vec<Seq> = sim.released.iter().map(|r| r.seq).collect();
    let mut submitted = sim.submitted.clone();
    released.sort_unstable();
    submitted.sort_unstable();
    prop_assert_eq!(released, submitted, "every task released exactly once");
    for r in &sim.releases {
        if let Outcome::Done(v) = r.outcome {
            prop_assert_eq!(v, r.seq, "result delivered for its own task (or run)");
        }
    }
    let lost: usize = sim
        .released
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::WorkerLost(..)))
        .count();
    let held: usize = sim.killed_with.iter().map(|(_, h)| h.len()).sum();
    prop_assert_eq!(lost, held, "a lost worker fails exactly the tasks it held");
    for (n, (w, held)) in sim.killed_with.iter().enumerate() {
        for seq in held {
            let r = sim.released.iter().find(|r| r.seq == *seq).unwrap();
            prop_assert_eq!(&r.outcome, &Outcome::WorkerLost(*w, n as Cause));
        }
    }
    for r in &sim.released {
        // The tag and offset name the task's job and place, with no table on the side.
        let first = sim.first_of[&r.tag];
        prop_assert_eq!(
            r.seq,
            first.wrapping_add(r.offset as Seq),
            "offset into its job"
        );
        if sim.cancelled.contains(&r.tag) {
            prop_assert!(
                matches!(
                    r.outcome,
                    Outcome::Done(_) | Outcome::Cancelled(_) | Outcome::WorkerLost(..)
                ),
                "a cancelled job's tasks end done (before), cancelled or lost (before)"
            );
        }
    }
    // A task of a job cancelled by tag is never answered after its cancel: it is released
    // once, as cancelled (checked by exactly-once above and the answered list).
    if let Some(budget) = sim.sched.config().max_jobs_per_worker {
        prop_assert!(sim.max_jobs_per_proc <= budget);
    }
    prop_assert!(sim.procs.is_empty(), "every worker stopped at the end");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ordered_releases_in_submission_order(
        cfg in config(),
        first in any::<u16>(),
        events in proptest::collection::vec(event(), 0..200),
    ) {
        let mut sim = Sim::new(cfg, OrderedW::starting_at(first), first);
        run(&mut sim, &events);
        check_common(&sim)?;
        let order: Vec<Seq> = sim.released.iter().map(|r| r.seq).collect();
        prop_assert_eq!(order, sim.submitted.clone());
    }

    #[test]
    fn unordered_releases_in_completion_order(
        cfg in config(),
        first in any::<u16>(),
        events in proptest::collection::vec(event(), 0..200),
    ) {
        let mut sim = Sim::new(cfg, UnorderedW::new(), first);
        run(&mut sim, &events);
        check_common(&sim)?;
        let done: Vec<Seq> = sim
            .released
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Done(_)))
            .map(|r| r.seq)
            .collect();
        prop_assert_eq!(done, sim.answered.clone());
    }
}
