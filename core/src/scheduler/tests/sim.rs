//! A deterministic simulation of fake workers driving the scheduler (after quinn-proto's
//! test `Pair`): `pump` moves every output to its destination, `step` lets one fake worker
//! answer one task, and `drive_bounded` runs to the end or fails loudly.

extern crate std;

use crate::*;
use std::collections::BTreeMap;
use std::vec::Vec;

pub type Seq = u16;
pub const WINDOW: usize = 16;
/// A job's tag: its number.
pub type Tag = u32;
/// A loss's cause: which kill it was (the n-th).
pub type Cause = u8;
pub type Sched<O> = Scheduler<u32, Seq, Seq, FifoQueue<Job<u32, Seq, Tag>, 64>, O, 6, Tag, Cause>;
pub type OrderedW = Ordered<Seq, Settled<Seq, Tag, Cause>, WINDOW>;
pub type UnorderedW = Unordered<Seq, Settled<Seq, Tag, Cause>, WINDOW>;
pub type Rel = Release<Seq, Seq, Tag, Cause>;

/// One fake worker process: the tasks it was sent and has not answered, oldest first.
#[derive(Default, Debug)]
pub struct Fake {
    pub pending: Vec<Seq>,
    pub jobs_taken: u32,
}

pub struct Sim<O> {
    pub sched: Sched<O>,
    /// Live fake processes by slot.
    pub procs: BTreeMap<u16, Fake>,
    /// Every task submitted, in submission order.
    pub submitted: Vec<Seq>,
    /// Every release, one per task (runs expanded), in release order.
    pub released: Vec<Rel>,
    /// Releases as the scheduler made them (runs whole), in release order.
    pub releases: Vec<Rel>,
    /// The job (payload) each dispatched task belongs to.
    pub job_of: BTreeMap<Seq, u32>,
    /// Each job's first task, from its submission.
    pub first_of: BTreeMap<Tag, Seq>,
    /// Jobs cancelled by tag (`cancel_tagged`): answers for their held tasks are dropped.
    pub cancelled: std::collections::BTreeSet<Tag>,
    /// Workers killed because their running job was cancelled.
    pub kills: Vec<WorkerId>,
    /// Tasks given back by workers lost exactly, and queued again.
    pub requeued: usize,
    /// Tasks answered by workers, in the order they were answered.
    pub answered: Vec<Seq>,
    /// For each kill: the tasks the killed process still held.
    pub killed_with: Vec<(WorkerId, Vec<Seq>)>,
    /// Most jobs any one process took.
    pub max_jobs_per_proc: u32,
    pub next_job: u32,
}

impl<O: ResultOrder<Seq, Settled<Seq, Tag, Cause>>> Sim<O> {
    pub fn new(config: Config, order: O, first: Seq) -> Self {
        let sched = Sched::new(config, FifoQueue::new(), order, first).expect("valid config");
        let mut sim = Self {
            sched,
            procs: BTreeMap::new(),
            submitted: Vec::new(),
            released: Vec::new(),
            releases: Vec::new(),
            job_of: BTreeMap::new(),
            first_of: BTreeMap::new(),
            cancelled: Default::default(),
            kills: Vec::new(),
            requeued: 0,
            answered: Vec::new(),
            killed_with: Vec::new(),
            max_jobs_per_proc: 0,
            next_job: 0,
        };
        sim.pump();
        sim
    }

    /// Submits a job of `len` tasks; returns whether it was accepted.
    pub fn submit(&mut self, len: usize) -> bool {
        let job = self.next_job;
        match self.sched.submit_tagged(job, len, job, None) {
            Ok(first) => {
                self.next_job += 1;
                self.first_of.insert(job, first);
                for k in 0..len {
                    self.submitted.push(first.wrapping_add(k as Seq));
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Moves every scheduler output to where it goes, until nothing moves.
    pub fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(r) = self.sched.poll_requeue() {
                moved = true;
                self.requeued += r.len;
                self.sched.resubmit(r, r.tag).unwrap();
            }
            while let Some(cmd) = self.sched.poll_worker() {
                moved = true;
                match cmd {
                    WorkerCommand::Spawn(w) => {
                        assert!(!self.procs.contains_key(&w.0), "spawn over a live process");
                        self.procs.insert(w.0, Fake::default());
                        self.sched.handle_worker_idle(w).unwrap();
                    }
                    WorkerCommand::Stop(w) => {
                        let p = self.procs.remove(&w.0).expect("stop of a missing process");
                        assert!(p.pending.is_empty(), "stopped a worker holding tasks");
                    }
                    WorkerCommand::Kill(w) => {
                        let front = self.procs[&w.0].pending.first().copied();
                        let front = front.expect("kill of a worker running nothing");
                        assert!(
                            self.cancelled.contains(&self.job_of[&front]),
                            "killed a worker whose running job was not cancelled"
                        );
                        self.kills.push(w);
                        self.lose(w);
                    }
                }
            }
            while let Some(d) = self.sched.poll_dispatch() {
                moved = true;
                let p = self
                    .procs
                    .get_mut(&d.worker.0)
                    .expect("dispatch to a missing process");
                p.jobs_taken += 1;
                self.max_jobs_per_proc = self.max_jobs_per_proc.max(p.jobs_taken);
                for k in 0..d.len {
                    let seq = d.first.wrapping_add(k as Seq);
                    p.pending.push(seq);
                    self.job_of.insert(seq, d.payload);
                }
            }
            while let Some(r) = self.sched.poll_release() {
                moved = true;
                assert!(r.len >= 1, "empty release");
                for k in 0..r.len {
                    self.released.push(Release {
                        seq: r.seq.wrapping_add(k as Seq),
                        len: 1,
                        outcome: r.outcome.clone(),
                        tag: r.tag,
                        offset: r.offset + k,
                    });
                }
                self.releases.push(r);
            }
            let o = self.sched.order();
            assert!(
                o.held() + o.reserved() <= o.capacity(),
                "window over capacity"
            );
            if !moved {
                return;
            }
        }
    }

    /// The `pick`-th process (modulo their number) that holds a task.
    fn busy(&self, pick: usize) -> Option<u16> {
        let busy: Vec<u16> = self
            .procs
            .iter()
            .filter(|(_, p)| !p.pending.is_empty())
            .map(|(w, _)| *w)
            .collect();
        (!busy.is_empty()).then(|| busy[pick % busy.len()])
    }

    /// Lets the `pick`-th live process (modulo their number) answer its oldest task.
    pub fn step(&mut self, pick: usize) -> bool {
        let Some(w) = self.busy(pick) else {
            return false;
        };
        let seq = self.procs.get_mut(&w).unwrap().pending.remove(0);
        self.sched.handle_result(WorkerId(w), seq, seq).unwrap();
        if !self.cancelled.contains(&self.job_of[&seq]) {
            self.answered.push(seq);
        }
        self.pump();
        true
    }

    /// Lets the `pick`-th busy process answer up to `n` of its oldest tasks at once, as one
    /// run (its value is the run's first sequence number), staying within one job.
    pub fn step_run(&mut self, pick: usize, n: usize) -> bool {
        let Some(w) = self.busy(pick) else {
            return false;
        };
        let pending = &self.procs[&w].pending;
        let first = pending[0];
        let job = self.job_of[&first];
        let len = (0..pending.len().min(n.max(1)))
            .take_while(|&k| {
                pending[k] == first.wrapping_add(k as Seq) && self.job_of[&pending[k]] == job
            })
            .count();
        self.procs.get_mut(&w).unwrap().pending.drain(..len);
        self.sched
            .handle_results(WorkerId(w), first, len, first)
            .unwrap();
        if !self.cancelled.contains(&job) {
            for k in 0..len {
                self.answered.push(first.wrapping_add(k as Seq));
            }
        }
        self.pump();
        true
    }

    /// Kills the `pick`-th live process (modulo their number).
    pub fn kill(&mut self, pick: usize) {
        let Some(&w) = self.procs.keys().nth(pick % self.procs.len().max(1)) else {
            return;
        };
        self.lose(WorkerId(w));
        self.pump();
    }

    /// Loses the `pick`-th live process (modulo their number) exactly: it had started
    /// nothing after its front job, so only that job's unanswered tasks may come back lost;
    /// the jobs behind it run again elsewhere.
    pub fn lose_exact(&mut self, pick: usize) {
        let Some(&w) = self.procs.keys().nth(pick % self.procs.len().max(1)) else {
            return;
        };
        let p = self.procs.remove(&w).unwrap();
        let front = p.pending.first().map(|s| self.job_of[s]);
        let held = p
            .pending
            .into_iter()
            .filter(|s| Some(self.job_of[s]) == front && !self.cancelled.contains(&self.job_of[s]))
            .collect();
        self.killed_with.push((WorkerId(w), held));
        let cause = (self.killed_with.len() - 1) as Cause;
        let started = self.sched.held_by(WorkerId(w)).next().map(|(s, _)| s);
        // The running job is the front one; its first task is `started` when none of it
        // was answered (else the front's `first` is before the next unanswered task).
        let started = started.map(|next| self.first_of[&self.job_of[&next]]);
        self.sched
            .handle_worker_lost_exact(WorkerId(w), cause, started)
            .unwrap();
        self.pump();
    }

    /// Cancels every job whose number is `k` modulo 3, wherever it is.
    pub fn cancel_tagged(&mut self, k: u32) {
        let hit: Vec<Tag> = self
            .first_of
            .keys()
            .copied()
            .filter(|t| t % 3 == k)
            .collect();
        self.cancelled.extend(hit);
        self.sched.cancel_tagged(|t| t % 3 == k);
        self.pump();
    }

    /// Process `w` is gone: it is reported lost with the number of this loss as the cause;
    /// what it held, but for the tasks of cancelled jobs, must come back lost.
    fn lose(&mut self, w: WorkerId) {
        let p = self.procs.remove(&w.0).unwrap();
        let held = p
            .pending
            .into_iter()
            .filter(|s| !self.cancelled.contains(&self.job_of[s]))
            .collect();
        self.killed_with.push((w, held));
        let cause = (self.killed_with.len() - 1) as Cause;
        self.sched.handle_worker_lost_because(w, cause).unwrap();
    }

    /// Closes the scheduler and runs every worker until all is released; panics after
    /// `bound` steps (a deadlock is a failure, never a hang).
    pub fn drive_bounded(&mut self, bound: usize) {
        self.sched.close();
        self.pump();
        for i in 0..bound {
            if self.sched.is_finished() {
                return;
            }
            assert!(self.step(i), "deadlock: nothing runnable, not finished");
        }
        panic!("not finished after {bound} steps");
    }
}
