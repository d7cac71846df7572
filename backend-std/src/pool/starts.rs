//! Starting workers without the pool's lock and without holding up the driver: the
//! scheduler's `Spawn` commands are kept in the state; the driver takes them
//! ([`State::take_starts`]) and hands them to a starter thread, which runs them with the
//! lock released (a fork server's round trip, a thread's start), then takes the lock to
//! install the workers ([`State::install`]) and wakes the driver. Starts in progress keep
//! the pool from finishing, so a worker started late is stopped, never left behind.

use super::deliveries::Deliveries;
use super::lock::lock;
use super::departures::StartFailure;
use super::jobs::Jobs;
use super::state::{Slot, State};
use super::transport::{Init, Intro, Started, Transport};
use crate::error::{Error, Result};
use forkpool_core::WorkerId;
use std::sync::{Arc, Mutex};

/// Worker starts taken from the state, to run without its lock.
pub(crate) struct Starts {
    workers: Vec<WorkerId>,
    transport: Arc<dyn Transport>,
    key: u64,
    pub(super) init: Option<Arc<Init>>,
    /// The pool's number of workers.
    size: usize,
}

/// How each of a round of starts went, for [`State::install`]: each slot answered for,
/// then the slots not answered for and why no more could be started.
pub(crate) struct StartedWorkers {
    each: Vec<(WorkerId, Result<Started>)>,
    unanswered: Option<(Error, Vec<WorkerId>)>,
}

impl Starts {
    /// Starts a worker for each slot (all requested at once) and sends each its `INIT`.
    /// Blocks (a fork server's round trip, a thread's start): call it without the lock.
    pub(crate) fn run(self) -> StartedWorkers {
        let intro = Intro {
            key: self.key,
            init: self.init.as_deref(),
            far: self.transport.reads_worker_memory(),
            size: self.size,
        };
        let mut each = Vec::with_capacity(self.workers.len());
        let mut next = self.workers.iter();
        let asked = self.transport.start(self.workers.len(), intro, &mut |s| {
            if let Some(&w) = next.next() {
                each.push((w, s));
            }
        });
        let unanswered = asked.err().map(|e| (e, next.copied().collect()));
        StartedWorkers { each, unanswered }
    }

    /// Runs the starts on a thread of their own, which hands the outcome to `install`
    /// (under the pool's lock, then waking the driver): a start (a fork server's round
    /// trip) holds up neither callers nor the driver. Without a thread to be had, the
    /// calling thread (the driver) runs them itself.
    pub(crate) fn run_aside(self, install: impl FnOnce(StartedWorkers) + Send + 'static) {
        let job = Arc::new(Mutex::new(Some((self, install))));
        let theirs = Arc::clone(&job);
        let spawned = std::thread::Builder::new()
            .name("forkpool-starter".into())
            .spawn(move || {
                if let Some((starts, install)) = lock(&theirs).take() {
                    install(starts.run());
                }
            });
        if spawned.is_err()
            && let Some((starts, install)) = lock(&job).take()
        {
            install(starts.run());
        }
    }
}

impl State {
    /// The starts the scheduler asked for, to run outside the lock ([`Starts::run`]),
    /// then [`install`](Self::install).
    pub(crate) fn take_starts(&mut self) -> Option<Starts> {
        let workers = self.effects.take_starts();
        if workers.is_empty() {
            return None;
        }
        self.starting += workers.len();
        Some(Starts {
            workers,
            transport: Arc::clone(&self.transport),
            key: self.key,
            init: self.init.clone(),
            size: self.slots.len(),
        })
    }

    /// Runs the starts asked for here, under the lock: only while the pool starts (nobody
    /// else can be waiting for the lock then).
    pub(crate) fn start_here(&mut self, out: &mut Deliveries) {
        while let Some(starts) = self.take_starts() {
            let started = starts.run();
            self.install(started);
            self.pump(out);
        }
    }

    /// Puts workers that started in their slots; a slot whose start failed is reported to
    /// the scheduler, and a worker the scheduler no longer waits for (it was aborted while
    /// the start ran) is stopped at once.
    pub(crate) fn install(&mut self, started: StartedWorkers) {
        let answered = started.unanswered.as_ref().map_or(0, |(_, ws)| ws.len());
        self.starting -= started.each.len() + answered;
        for (w, s) in started.each {
            match s {
                Ok(s) => {
                    self.generation += 1;
                    super::events::spawned(
                        s.id.as_raw(),
                        w.index(),
                        self.counts.started >= self.slots.len() as u64,
                    );
                    self.slots[w.index()] = Some(Slot {
                        pid: s.id,
                        conn: Arc::new(s.conn),
                        held: Jobs::default(),
                        exit: s.exit.map(Arc::new),
                        log: None,
                        sent: Default::default(),
                        pieces: Vec::new(),
                        lent: Default::default(),
                        vacated: Default::default(),
                    });
                    self.counts.started += 1;
                    if !self.sched.awaits_start(w) {
                        self.stop(w.index());
                    }
                }
                Err(e) => {
                    self.last_spawn_error = Some(StartFailure::new(&e));
                    let _ = self.sched.handle_spawn_failed(w);
                }
            }
        }
        if let Some((e, ws)) = started.unanswered {
            self.last_spawn_error = Some(StartFailure::new(&e));
            for w in ws {
                let _ = self.sched.handle_spawn_failed(w);
            }
        }
    }
}
