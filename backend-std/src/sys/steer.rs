//! Starting the fork server on another CPU than the thread that forks it.
//!
//! The fork server is forked before `main`, and a new process starts on its parent's CPU
//! here (a VM that packs tasks onto busy vCPUs): it then waits for `main` to block before it
//! can set itself up, and a program's first pool waits for that set-up. So the parent
//! narrows the new server's CPUs to the others of its set right after the fork, and widens
//! them back to the whole set before its first request (the server's workers inherit the
//! set it has). With one CPU there is nothing to steer.

use nix::sched::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};
use nix::unistd::Pid;

/// The CPUs this process may run on, taken before the fork.
#[derive(Clone, Copy)]
pub(crate) struct Steer {
    all: CpuSet,
}

impl Steer {
    /// The calling thread's CPU set, if it holds more than one CPU.
    pub(crate) fn new() -> Option<Self> {
        let all = sched_getaffinity(Pid::from_raw(0)).ok()?;
        let n = (0..CpuSet::count())
            .filter(|&c| all.is_set(c).unwrap_or(false))
            .take(2)
            .count();
        (n > 1).then_some(Self { all })
    }

    /// Narrows `child`'s CPUs to the set's others than the one this thread runs on;
    /// whether it did.
    pub(crate) fn away_from_here(&self, child: Pid) -> bool {
        let Ok(here) = sched_getcpu() else {
            return false;
        };
        let mut others = self.all;
        others.is_set(here).unwrap_or(false)
            && others.unset(here).is_ok()
            && sched_setaffinity(child, &others).is_ok()
    }

    /// Widens `child`'s CPUs back to the whole set.
    pub(crate) fn widen(&self, child: Pid) {
        let _ = sched_setaffinity(child, &self.all);
    }
}
