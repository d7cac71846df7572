//! forkpool's `no_std` core on a bare-metal Cortex-M3 (run under QEMU): the same
//! `Scheduler` that drives forked worker processes on Linux here drives three cooperative
//! tasks. Each task computes a factorial one multiplication per step (the seed's job); the
//! scheduler hands out the jobs as tasks become idle, and its `Ordered` window releases the
//! results in input order although the tasks finish out of order. Results travel from the
//! tasks to the driver through the core's `Channel`. No allocator, no OS.
//!
//! `cargo run --release` in this folder (needs `qemu-system-arm` and the
//! `thumbv7m-none-eabi` target).
#![no_std]
#![no_main]

use core::cell::RefCell;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use forkpool_core::{
    Channel, ChannelState, Config, FifoQueue, Job, Ordered, Outcome, Scheduler, Settled, TryRecv,
    TrySend, WorkerCommand, WorkerId,
};

/// Cooperative tasks (the scheduler's workers).
const TASKS: usize = 3;
/// The jobs: factorials of these.
const INPUTS: [u32; 7] = [4, 8, 12, 20, 16, 5, 10];

/// Sequence numbers are `u16`: the core orders them with wrap-around arithmetic.
type Sched =
    Scheduler<u32, u64, u16, FifoQueue<Job<u32, u16>, 8>, Ordered<u16, Settled<u64>, 8>, TASKS>;

/// What a task sends the driver when it finishes a job: (task, sequence number, value).
type Done = (usize, u16, u64);

/// A cooperative task: at most one job, advanced one multiplication per step.
#[derive(Clone, Copy, Default)]
struct Task {
    /// The job's sequence number, the factor left to multiply by, and the product so far.
    job: Option<(u16, u32, u64)>,
}

impl Task {
    /// One step; the job's sequence number and value when it is finished.
    fn step(&mut self) -> Option<(u16, u64)> {
        let (seq, k, acc) = self.job.as_mut()?;
        if *k > 1 {
            *acc *= u64::from(*k);
            *k -= 1;
            return None;
        }
        let done = (*seq, *acc);
        self.job = None;
        Some(done)
    }
}

#[entry]
fn main() -> ! {
    let mut sched = match Sched::new(
        Config::new(TASKS),
        FifoQueue::new(),
        Ordered::starting_at(0),
        0,
    ) {
        Ok(s) => s,
        Err(_) => fail("bad configuration"),
    };
    let channel: Channel<Done, 4, RefCell<ChannelState<Done, 4>>> = Channel::new();
    let (to_driver, from_tasks) = channel.split();
    for n in INPUTS {
        if sched.submit(n, 1).is_err() {
            fail("the queue is full");
        }
    }
    sched.close();
    let mut tasks = [Task::default(); TASKS];
    let mut tick = 0u32;
    loop {
        // The driver: perform what the scheduler decided.
        while let Some(cmd) = sched.poll_worker() {
            match cmd {
                WorkerCommand::Spawn(w) => {
                    let _ = sched.handle_worker_idle(w);
                }
                WorkerCommand::Stop(w) => hprintln!("tick {}: task {} stops", tick, w.index()),
                // Nothing is cancelled here; a cooperative task would drop its job.
                WorkerCommand::Kill(w) => {
                    tasks[w.index()].job = None;
                    let _ = sched.handle_worker_lost(w);
                }
            }
        }
        while let Some(d) = sched.poll_dispatch() {
            hprintln!(
                "tick {}: task {} starts {}!",
                tick,
                d.worker.index(),
                d.payload
            );
            tasks[d.worker.index()].job = Some((d.first, d.payload, 1));
        }
        while let Some(r) = sched.poll_release() {
            match r.outcome {
                Outcome::Done(v) => hprintln!(
                    "tick {}: result #{}: {}! = {}",
                    tick,
                    r.seq,
                    INPUTS[usize::from(r.seq)],
                    v
                ),
                _ => hprintln!("tick {}: result #{} failed", tick, r.seq),
            }
        }
        if sched.is_finished() {
            hprintln!(
                "all {} results in input order after {} ticks",
                INPUTS.len(),
                tick
            );
            debug::exit(debug::EXIT_SUCCESS);
            loop {}
        }
        // The tasks: one step each, in turn; a finished job goes to the driver.
        for (i, task) in tasks.iter_mut().enumerate() {
            if let Some((seq, value)) = task.step() {
                if to_driver.try_send((i, seq, value)).is_err() {
                    fail("the channel is full");
                }
            }
        }
        while let Ok((i, seq, value)) = from_tasks.try_recv() {
            if sched.handle_result(WorkerId(i as u16), seq, value).is_err() {
                fail("a result the scheduler did not expect");
            }
        }
        tick += 1;
    }
}

/// Reports `why` and ends the emulation with a failure.
fn fail(why: &str) -> ! {
    hprintln!("error: {}", why);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}
