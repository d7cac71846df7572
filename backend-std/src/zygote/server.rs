//! The fork server's side: its loop, which forks workers and reaps them without ever
//! sleeping on one.
//!
//! A worker to reap is rarely gone the moment the driver asks (its socket hangs up a little
//! before it becomes a zombie). Waiting for it in the loop would hold up every request
//! behind it, such as the next pool's forks. So the server blocks `SIGCHLD` and watches it
//! through a `signalfd` next to its control socket: a reap request is noted, and answered
//! when the worker is gone. A worker that does not leave within [`GRACE`] is killed.
//!
//! Between requests it forks workers ahead of demand (`spares.rs`), one at a time, looking
//! for requests after each.

use super::spares::{SPARE_NAME, Spares};
use super::{FAILED, OPS, REAP, RELEASE, SPAWN, SPAWNED, STATUS, cause_of, pid_from};
use crate::error::{Error, ExitCause, Result};
use crate::sys::{self, Forked};
use crate::wire::{RawConn, raw_pair};
use crate::worker;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpid, getppid};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// How long a worker asked to be reaped may take to exit before it is killed.
const GRACE: Duration = Duration::from_secs(2);

/// How often pending reaps are checked when no `signalfd` could be made, or `poll` fails.
const RECHECK: Duration = Duration::from_millis(1);

/// A worker the driver asked to reap that has not exited yet.
struct Reaping {
    pid: Pid,
    /// Whether the driver waits for a `STATUS` answer (`REAP`) or not (`RELEASE`).
    reply: bool,
    /// When it gets `SIGKILL`; `None` once it has.
    kill_at: Option<Instant>,
}

/// The signal set of `SIGCHLD` alone.
fn sigchld() -> SigSet {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    mask
}

/// `SIGCHLD` as a descriptor: blocked, and readable when a child has changed state.
fn child_signals() -> Option<SignalFd> {
    let mask = sigchld();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None).ok()?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC).ok()
}

/// The server loop: requests one at a time, until the parent goes away.
pub(super) fn serve(ctl: &RawConn) {
    let signals = child_signals();
    let mut reaping: Vec<Reaping> = Vec::new();
    let mut spares = Spares::default();
    loop {
        // Messages first: one read may have brought several (releases go out together).
        loop {
            match ctl.try_recv() {
                Ok(Some(m)) => {
                    let to = (&mut reaping, &mut spares);
                    if handle(ctl, to, m.kind, &m.bytes).is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(_) => return, // the parent is gone
            }
        }
        if settle(ctl, &mut reaping).is_err() {
            return;
        }
        let now = Instant::now();
        reaping.extend(spares.expire(now).into_iter().map(|pid| Reaping {
            pid,
            reply: false,
            kill_at: Some(now + GRACE),
        }));
        if spares.due().is_some_and(|at| at <= now) {
            // One worker ahead, then requests again.
            match fork_worker(true) {
                Ok((pid, fd)) => spares.add(pid, fd),
                Err(_) => spares.stall(),
            }
            continue;
        }
        let wake = spares.expires_at().into_iter().chain(spares.due()).min();
        let timeout = next_check(&reaping, signals.is_some(), wake);
        let mut fds = vec![PollFd::new(ctl.as_fd(), PollFlags::POLLIN)];
        if let Some(s) = &signals {
            fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            // poll(2) refuses more descriptors than RLIMIT_NOFILE, which may have been
            // lowered on this process: wait on the socket alone, or look again shortly.
            Err(_) if reaping.is_empty() => match ctl.recv(None) {
                Ok(m) => {
                    let to = (&mut reaping, &mut spares);
                    if handle(ctl, to, m.kind, &m.bytes).is_err() {
                        return;
                    }
                }
                Err(_) => return,
            },
            Err(_) => std::thread::sleep(RECHECK),
        }
        if let Some(s) = &signals {
            let mut signalled = false;
            while let Ok(Some(_)) = s.read_signal() {
                signalled = true;
            }
            if signalled {
                spares.reap_dead();
            }
        }
    }
}

/// Acts on one request; `Err` when the answer cannot be sent or the request is unknown.
fn handle(
    ctl: &RawConn,
    (reaping, spares): (&mut Vec<Reaping>, &mut Spares),
    kind: u8,
    bytes: &[u8],
) -> std::result::Result<(), ()> {
    match kind {
        // The size of the asking pool: how many workers to keep forked ahead.
        SPAWN if bytes.len() == 4 => {
            let pool_size = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            let started = match spares.take(pool_size as usize) {
                Some(ready) => Ok(ready),
                None => fork_worker(false),
            };
            match started {
                Ok((pid, fd)) => ctl.send(SPAWNED, &pid.as_raw().to_le_bytes(), &[fd]),
                Err(e) => {
                    spares.released(Instant::now());
                    ctl.send(FAILED, &encode_failure(&e), &[])
                }
            }
            .map_err(drop)
        }
        // One worker to reap and answer for, or any number to reap (5 bytes each).
        REAP | RELEASE
            if bytes.len() == 5 || (kind == RELEASE && !bytes.is_empty() && bytes.len().is_multiple_of(5)) =>
        {
            for one in bytes.chunks_exact(5) {
                spares.released(Instant::now());
                let pid = pid_from(one);
                let kill_at = if one[4] != 0 {
                    let _ = kill(pid, Signal::SIGKILL);
                    None
                } else {
                    Some(Instant::now() + GRACE)
                };
                reaping.push(Reaping {
                    pid,
                    reply: kind == REAP,
                    kill_at,
                });
            }
            Ok(())
        }
        _ => Err(()),
    }
}

/// Reaps every pending worker that has exited (answering those the driver waits for) and
/// kills those whose grace has run out.
fn settle(ctl: &RawConn, reaping: &mut Vec<Reaping>) -> std::result::Result<(), ()> {
    let now = Instant::now();
    let mut i = 0;
    while i < reaping.len() {
        let r = &mut reaping[i];
        let cause = match waitpid(r.pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => None,
            Ok(status) => cause_of(status),
            Err(Errno::EINTR) => continue,
            Err(_) => Some(ExitCause::Unknown),
        };
        let Some(cause) = cause else {
            if r.kill_at.is_some_and(|at| at <= now) {
                let _ = kill(r.pid, Signal::SIGKILL);
                r.kill_at = None;
            }
            i += 1;
            continue;
        };
        let done = reaping.swap_remove(i);
        if done.reply {
            ctl.send(STATUS, &encode_cause(cause), &[]).map_err(drop)?;
        }
    }
    Ok(())
}

/// How long the loop may wait for a request or a child's exit before it must look again
/// (or at `wake`, when the workers forked ahead need it: see `spares.rs`).
fn next_check(reaping: &[Reaping], watching: bool, wake: Option<Instant>) -> PollTimeout {
    let now = Instant::now();
    let wake = wake.map(|at| at.saturating_duration_since(now));
    if reaping.is_empty() {
        return wake.map_or(PollTimeout::NONE, timeout_of);
    }
    let soonest = reaping
        .iter()
        .filter_map(|r| r.kill_at)
        .map(|at| at.saturating_duration_since(now))
        .chain(wake)
        .min();
    let wait = match (soonest, watching) {
        (k, false) => k.map_or(RECHECK, |k| k.min(RECHECK)),
        (Some(k), true) => k,
        // Every pending worker was killed: its exit arrives as a signal.
        (None, true) => return PollTimeout::NONE,
    };
    timeout_of(wait)
}

/// `wait`, rounded up to whole milliseconds, at most a minute.
fn timeout_of(wait: Duration) -> PollTimeout {
    PollTimeout::try_from(wait.as_millis().min(60_000) as i32 + 1).unwrap_or(PollTimeout::MAX)
}

/// Forks a worker: on a request, or `ahead` of one (it goes by [`SPARE_NAME`] until its
/// `INIT` comes).
fn fork_worker(ahead: bool) -> Result<(Pid, OwnedFd)> {
    let (driver_end, worker_end) = raw_pair()?;
    let server = getpid();
    match sys::fork().map_err(|e| Error::io("fork", e))? {
        Forked::Child => {
            // The worker keeps only its own socket (and stdio): the server's control socket
            // closes so the server sees the parent's death, the drivers' ends (its own, and
            // those of the workers forked ahead and waiting) so EOF works, and the server's
            // signal descriptor. Its tasks get the usual signal mask back.
            std::mem::forget(driver_end);
            sys::close_inherited(worker_end.as_fd().as_raw_fd());
            let _ = sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&sigchld()), None);
            let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
            if getppid() != server {
                sys::exit_now(0);
            }
            let name = ahead.then(spare_name).flatten();
            worker::run(worker_end, server, name)
        }
        Forked::Parent(pid) => {
            drop(worker_end);
            Ok((pid, driver_end.into_fd()))
        }
    }
}

/// Renames this process [`SPARE_NAME`]; returns its name before, to take back.
fn spare_name() -> Option<worker::Name> {
    let was = nix::sys::prctl::get_name().ok()?;
    let mut name = [0; 16];
    let bytes = was.as_bytes();
    let n = bytes.len().min(15);
    name[..n].copy_from_slice(&bytes[..n]);
    nix::sys::prctl::set_name(SPARE_NAME).ok()?;
    Some(name)
}

/// A failed start as `[op index][errno: i32 LE]` (errno 0: no OS error), then the message.
fn encode_failure(e: &Error) -> Vec<u8> {
    let (op, errno) = match e {
        Error::Io { op, source } => (
            OPS.iter().position(|o| o == op).unwrap_or(0) as u8,
            source.raw_os_error().unwrap_or(0),
        ),
        _ => (0, 0),
    };
    let mut out = vec![op];
    out.extend_from_slice(&errno.to_le_bytes());
    out.extend_from_slice(e.to_string().as_bytes());
    out
}

pub(crate) fn encode_cause(c: ExitCause) -> [u8; 9] {
    let (tag, val, core) = match c {
        ExitCause::Exited(code) => (1u8, code, false),
        ExitCause::Signaled {
            signal,
            core_dumped,
            ..
        } => (2, signal, core_dumped),
        ExitCause::Unknown => (0, 0, false),
    };
    let v = val.to_le_bytes();
    [tag, v[0], v[1], v[2], v[3], u8::from(core), 0, 0, 0]
}
