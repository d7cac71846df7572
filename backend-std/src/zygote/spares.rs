//! Workers forked ahead of demand, so a pool starts without waiting for forks.
//!
//! Forking a worker and its first page faults cost about 0.1 ms each, one after another
//! in the server: most of a 4-worker pool's start-up. Once a pool has asked for workers,
//! the server keeps as many as that pool has (at most [`MAX_KEEP`]) forked and waiting,
//! forking them one at a time once it has had no request for [`QUIET`]; a `SPAWN` takes
//! a waiting one when there is one. A waiting worker is exactly a worker that has not been
//! sent its `INIT` yet (it takes on its owner's identity from `INIT`, as any worker does),
//! named [`SPARE_NAME`] until then. They are let go [`LINGER`] after the last worker handed out
//! was released, and not forked again until the next request; a failed fork also stops
//! them until the next request, so a server that cannot fork never spins.

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

/// The most workers kept waiting.
pub(super) const MAX_KEEP: usize = 8;

/// How long the server waits after a request before it forks ahead: a pool that just
/// took its workers is starting them (and the next one may be asked for), and on a
/// machine with few cores the forks would compete with that.
pub(super) const QUIET: Duration = Duration::from_millis(1);

/// How long waiting workers are kept once no worker handed out is left.
pub(super) const LINGER: Duration = Duration::from_secs(10);

/// A waiting worker's process name (`/proc/PID/comm`), until its `INIT` comes.
pub(super) const SPARE_NAME: &std::ffi::CStr = c"forkpool-spare";

/// The workers forked ahead and the server's count of those handed out.
#[derive(Default)]
pub(super) struct Spares {
    /// Waiting workers, oldest first: pid and the driver's end of its socket.
    ready: Vec<(Pid, OwnedFd)>,
    /// How many to keep waiting: the size of the pool that last asked, at most
    /// [`MAX_KEEP`].
    keep: usize,
    /// Workers handed out and not released yet.
    out: usize,
    /// Since when none is out (`None` while some are, or before any request).
    idle_since: Option<Instant>,
    /// A fork ahead failed: no more until the next request.
    stalled: bool,
    /// When the last request came.
    last_request: Option<Instant>,
}

impl Spares {
    /// A request for a worker of a pool of `pool_size`: a waiting worker that is still
    /// alive, if any (the caller forks one otherwise), counted as handed out either way.
    pub(super) fn take(&mut self, pool_size: usize) -> Option<(Pid, OwnedFd)> {
        self.keep = pool_size.min(MAX_KEEP);
        self.stalled = false;
        self.last_request = Some(Instant::now());
        self.out += 1;
        self.idle_since = None;
        while !self.ready.is_empty() {
            let (pid, fd) = self.ready.remove(0);
            if alive(pid) {
                return Some((pid, fd));
            }
            // It died while it waited: reaped, its socket closed with `fd`.
        }
        None
    }

    /// Reaps the waiting workers that have died (killed while they waited).
    pub(super) fn reap_dead(&mut self) {
        self.ready.retain(|(pid, _)| alive(*pid));
    }

    /// A worker handed out was released (or its start undone).
    pub(super) fn released(&mut self, now: Instant) {
        self.last_request = Some(now);
        self.out = self.out.saturating_sub(1);
        if self.out == 0 {
            self.idle_since = Some(now);
        }
    }

    /// Whether another worker should be forked ahead now.
    pub(super) fn wanted(&self) -> bool {
        !self.stalled && self.ready.len() < self.keep
    }

    /// When the next worker is to be forked ahead, if one is wanted: once the server has
    /// been free of requests for [`QUIET`].
    pub(super) fn due(&self) -> Option<Instant> {
        if !self.wanted() {
            return None;
        }
        Some(self.last_request.map_or_else(Instant::now, |at| at + QUIET))
    }

    /// Keeps a worker just forked ahead.
    pub(super) fn add(&mut self, pid: Pid, fd: OwnedFd) {
        self.ready.push((pid, fd));
    }

    /// A fork ahead failed: none until the next request.
    pub(super) fn stall(&mut self) {
        self.stalled = true;
    }

    /// When the waiting workers are to be let go, if they are.
    pub(super) fn expires_at(&self) -> Option<Instant> {
        match (self.ready.is_empty(), self.idle_since) {
            (false, Some(since)) => Some(since + LINGER),
            _ => None,
        }
    }

    /// Lets the waiting workers go once [`LINGER`] has passed with none handed out: their
    /// sockets close (each exits when it sees that), and their pids are returned to reap.
    pub(super) fn expire(&mut self, now: Instant) -> Vec<Pid> {
        if self.expires_at().is_none_or(|at| at > now) {
            return Vec::new();
        }
        self.keep = 0;
        self.ready.drain(..).map(|(pid, _fd)| pid).collect()
    }
}

/// Whether waiting worker `pid` is alive; one that is not is reaped.
fn alive(pid: Pid) -> bool {
    matches!(
        waitpid(pid, Some(WaitPidFlag::WNOHANG)),
        Ok(WaitStatus::StillAlive)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd() -> OwnedFd {
        std::fs::File::open("/dev/null").unwrap().into()
    }

    #[test]
    fn keeps_as_many_as_the_last_pool_had_up_to_the_cap() {
        let mut s = Spares::default();
        assert!(!s.wanted(), "none before any request");
        assert!(s.take(3).is_none());
        for _ in 0..3 {
            assert!(s.wanted());
            s.add(Pid::from_raw(i32::MAX), fd());
        }
        assert!(!s.wanted());
        s.take(100);
        assert_eq!(s.keep, MAX_KEEP);
    }

    #[test]
    fn a_failed_fork_stops_forks_ahead_until_the_next_request() {
        let mut s = Spares::default();
        s.take(2);
        s.stall();
        assert!(!s.wanted());
        s.take(2);
        assert!(s.wanted());
    }

    #[test]
    fn waiting_workers_are_let_go_only_after_the_linger_with_none_out() {
        let mut s = Spares::default();
        let t0 = Instant::now();
        s.take(2);
        s.add(Pid::from_raw(i32::MAX), fd());
        assert_eq!(s.expires_at(), None, "one is out");
        s.released(t0);
        assert_eq!(s.expires_at(), Some(t0 + LINGER));
        assert!(s.expire(t0 + LINGER / 2).is_empty());
        assert_eq!(s.expire(t0 + LINGER).len(), 1);
        assert!(!s.wanted(), "not forked again until the next request");
        assert_eq!(s.expires_at(), None);
    }
}
