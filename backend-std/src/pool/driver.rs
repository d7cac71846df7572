//! The driver thread: moves bytes between worker sockets and the scheduler, in the manner
//! of quinn's endpoint driver (read, `handle_*`, drain every `poll_*`, write, loop). It
//! never forks (the fork server does) and runs user callbacks outside the pool's lock.

use super::jobs::LentItems;
use super::callbacks::Outstanding;
use super::deferred::Deferred;
use super::deliveries::Deliveries;
use super::starts::Starts;
use super::turn::{Turn, Watch};
use super::transport::Transport;
use super::exits::drain;
use super::lock::lock;
use super::pieces::Pieces;
use super::state::{State, send_unflushed};
use crate::error::Error;
use crate::wire::{Message, RawConn};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::unistd::Pid;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// What the driver thread and the pool's users share.
pub(crate) struct Inner {
    pub state: Mutex<State>,
    wake: EventFd,
    /// Whether the driver is between two waits (shared with the state; see
    /// `State::driver_awake`).
    pub(super) awake: Arc<AtomicBool>,
    /// Whether the pool still takes calls (shared with the state; see `State::running`).
    pub(super) running: Arc<AtomicBool>,
    /// Jobs of `apply_async` calls left for the next holder of the lock (`deferred.rs`).
    pub(super) deferred: Deferred,
    /// Callbacks of calls that have not run yet (`join` waits for them).
    pub(super) callbacks: Arc<Outstanding>,
    /// How the driver ended, once it has (`join` waits on it rather than on the thread's
    /// exit, which takes a while longer).
    end: Mutex<Option<End>>,
    ended: Condvar,
}

/// How the driver loop ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum End {
    /// Every worker is gone.
    Finished,
    /// It panicked.
    Panicked,
}

impl Inner {
    pub(crate) fn new(state: State) -> crate::error::Result<Self> {
        let wake = EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(|e| Error::io("eventfd", e))?;
        Ok(Self {
            awake: Arc::clone(&state.driver_awake),
            running: Arc::clone(&state.running),
            deferred: Deferred::default(),
            callbacks: Arc::default(),
            state: Mutex::new(state),
            wake,
            end: Mutex::new(None),
            ended: Condvar::new(),
        })
    }

    /// Waits until the driver loop has ended.
    pub(crate) fn wait_end(&self) -> End {
        let mut end = lock(&self.end);
        loop {
            if let Some(e) = *end {
                return e;
            }
            end = self.ended.wait(end).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Wakes the driver so it looks at the state again.
    pub(crate) fn wake(&self) {
        let _ = self.wake.write(1);
    }

    /// The pool's lock, with every job a caller left for it submitted first (`deferred.rs`).
    pub(crate) fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        let mut st = lock(&self.state);
        self.deferred.submit_all(&mut st);
        st
    }

    /// Runs `change` on the state, then sends out what the scheduler decides at once (from
    /// the caller's thread, without a detour through the driver), delivers what it
    /// released, and wakes the driver only when it must look.
    pub(crate) fn hand_over<T>(
        &self,
        change: impl FnOnce(&mut State) -> crate::error::Result<T>,
    ) -> crate::error::Result<T> {
        self.hand_over_locked(self.lock_state(), change)
    }

    /// [`hand_over`](Self::hand_over) with the lock already taken.
    pub(crate) fn hand_over_locked<T>(
        &self,
        mut st: std::sync::MutexGuard<'_, State>,
        change: impl FnOnce(&mut State) -> crate::error::Result<T>,
    ) -> crate::error::Result<T> {
        let mut out = Deliveries::new();
        let value = change(&mut st)?;
        let wake = st.pump_from_caller(&mut out);
        let unflushed = st.take_unflushed();
        // Sockets are written, and results delivered, without the lock.
        drop(st);
        let wake = send_unflushed(&unflushed) || wake;
        out.deliver();
        if wake {
            self.wake();
        }
        Ok(value)
    }
}

/// Tells [`Inner::wait_end`] how the loop ended, when it ends (by returning or panicking).
struct Ending<'a>(&'a Inner);

impl Drop for Ending<'_> {
    fn drop(&mut self) {
        let end = if std::thread::panicking() {
            End::Panicked
        } else {
            End::Finished
        };
        *lock(&self.0.end) = Some(end);
        self.0.ended.notify_all();
    }
}

/// The driver loop; returns when the pool is finished or terminated. The pool's lock is
/// taken once a turn, only to decide: sockets are written, polled and read without it.
pub(crate) fn run(inner: Arc<Inner>) {
    let ending = Ending(&inner);
    let mut out = Deliveries::new();
    let mut turn = Turn::default();
    let mut watch = Watch::default();
    let mut ready: Vec<(bool, bool)> = Vec::new();
    let mut pieces = Pieces::default();
    loop {
        let turned = decide(&inner, &mut turn, &mut watch, &mut out);
        let (transport, released) = turned.releases;
        if !released.is_empty() {
            transport.release(&released);
        }
        if turned.finished {
            out.deliver();
            // Nothing of the pool's is held past this point (no socket stays open).
            drop(watch);
            drop(ending);
            return;
        }
        send_unflushed(&turned.unflushed);
        out.deliver();
        drop(turned.let_go);
        if let Some(starts) = turned.starts {
            let inner = Arc::clone(&inner);
            starts.run_aside(move |started| {
                inner.lock_state().install(started);
                inner.wake();
            });
        }
        wait(&inner, &watch, pieces.next_deadline(), &mut ready);
        // The next turn pumps under the lock: until then, callers may leave jobs to it.
        inner.awake.store(true, Ordering::Relaxed);
        collect(&watch, &ready, &mut turn, &mut pieces);
    }
}

/// What a turn decided, to carry out without the lock.
struct Decided {
    /// Every worker is gone: the loop ends.
    finished: bool,
    /// Sockets with packets to send.
    unflushed: Vec<Arc<RawConn>>,
    /// Workers to start.
    starts: Option<Starts>,
    /// Workers to collect, and who collects them.
    releases: (Arc<dyn Transport>, Vec<(Pid, bool)>),
    /// Jobs' items workers have read, freed after the rest (64 MiB took 2-5 ms to free).
    let_go: Vec<LentItems>,
}

/// The turn's part under the lock: applies what the last wait brought, collects overdue
/// workers, performs what the scheduler decides; `watch` is refreshed for the next wait.
fn decide(inner: &Inner, turn: &mut Turn, watch: &mut Watch, out: &mut Deliveries) -> Decided {
    let mut st = inner.lock_state();
    turn.apply(&mut st, watch);
    st.reap_overdue();
    st.pump(out);
    st.let_dying_go();
    let finished = st.finished();
    if !finished {
        // From here on, callers send their jobs themselves (sequentially consistent with
        // a caller leaving a job: see `deferred.rs`; the wait looks for jobs left).
        inner.awake.store(false, Ordering::SeqCst);
        watch.refresh(&st);
    }
    Decided {
        finished,
        unflushed: st.take_unflushed(),
        starts: st.take_starts(),
        releases: st.take_releases(),
        let_go: std::mem::take(&mut st.let_go),
    }
}

/// Waits until a watched descriptor is ready, the driver is woken, or the next deadline,
/// kill or piece (`piece_due`) is due; `ready` gets each descriptor's (readable,
/// writable), in the order of [`Watch`]: workers' sockets, the dying, workers' exit
/// descriptors, the wake-up.
fn wait(inner: &Inner, watch: &Watch, piece_due: Option<Instant>, ready: &mut Vec<(bool, bool)>) {
    let Watch {
        watched,
        exits,
        dying,
        timeout,
        ..
    } = watch;
    // A socket with packets still queued (full, or filled by a caller since) is watched
    // for room as well.
    let mut fds: Vec<PollFd> = watched
        .iter()
        .map(|(_, c)| {
            let flags = if c.has_queued() {
                PollFlags::POLLIN | PollFlags::POLLOUT
            } else {
                PollFlags::POLLIN
            };
            PollFd::new(c.as_fd(), flags)
        })
        .collect();
    fds.extend(dying.iter().map(|d| PollFd::new(d.first(), PollFlags::POLLIN)));
    fds.extend(
        dying
            .iter()
            .filter_map(|d| d.exit_too())
            .map(|e| PollFd::new(e.as_fd(), PollFlags::POLLIN)),
    );
    fds.extend(
        exits
            .iter()
            .map(|(_, e)| PollFd::new(e.as_fd(), PollFlags::POLLIN)),
    );
    fds.push(PollFd::new(inner.wake.as_fd(), PollFlags::POLLIN));
    let piece = piece_due.map(|at| at.saturating_duration_since(Instant::now()));
    let timeout = match (*timeout, piece) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let timeout = match timeout {
        // Jobs left by a caller that saw this thread awake: the next turn submits them.
        _ if inner.deferred.any() => PollTimeout::ZERO,
        None => PollTimeout::NONE,
        Some(t) => PollTimeout::try_from(t.as_millis().min(60_000) as i32 + 1)
            .unwrap_or(PollTimeout::MAX),
    };
    match poll(&mut fds, timeout) {
        Ok(_) | Err(Errno::EINTR) => {}
        Err(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
    }
    ready.clear();
    ready.extend(fds.iter().map(|f| {
        let r = f.revents().unwrap_or(PollFlags::POLLIN);
        (
            !(r - PollFlags::POLLOUT).is_empty(),
            r.contains(PollFlags::POLLOUT),
        )
    }));
    if ready.last().is_some_and(|r| r.0) {
        let _ = inner.wake.read();
    }
}

/// The turn's part without the lock: what the wait found, read into `turn` for the next
/// [`decide`]; pieces asked for are taken as their answers come (`pieces`).
fn collect(watch: &Watch, ready: &[(bool, bool)], turn: &mut Turn, pieces: &mut Pieces) {
    let Watch {
        watched,
        pids,
        vacated,
        transport,
        exits,
        dying,
        ..
    } = watch;
    // A dying process is gone when its exit descriptor is readable, or, told to exit (it
    // closes everything it holds first, see `sys::leave_in_background`) or without an exit
    // descriptor, when its socket hangs up; what it still says is dropped. Anything else
    // it sends that is not a message gets it killed now.
    let (ready_first, rest) = ready[watched.len()..].split_at(dying.len());
    let also_exit = dying.iter().filter(|d| d.exit_too().is_some()).count();
    let (ready_ended, ready_exits) = rest.split_at(also_exit);
    let mut ended = ready_ended.iter();
    turn.gone.extend(dying.iter().zip(ready_first).filter_map(|(d, r)| {
        let ended = d.exit_too().is_some() && ended.next().is_some_and(|e| e.0);
        if ended || (r.0 && !d.hangup_ends) {
            return Some((d.pid, true)); // its exit descriptor: it has exited
        }
        if !r.0 {
            return None;
        }
        match drain(&d.conn) {
            Err(Error::Disconnected) => Some((d.pid, true)),
            Ok(()) => None,
            Err(_) => Some((d.pid, false)),
        }
    }));
    // A dying process that ended writes no piece any more (one seen gone by its hang-up
    // was told to exit: it held no task, so no piece).
    for &(pid, _) in &turn.gone {
        pieces.gone(None, Some(pid));
    }
    // A worker that exited is lost once what it sent is read, even though its socket may
    // stay open (held by a process it forked).
    let exited = &mut turn.exited;
    exited.clear();
    exited.resize(watched.len(), false);
    for ((k, _), r) in exits.iter().zip(ready_exits) {
        exited[*k] |= r.0;
    }
    // Workers' sockets are written and read without the lock: callers keep submitting
    // while the driver waits on the kernel.
    turn.inbox.resize_with(watched.len(), Default::default);
    let each = watched.iter().zip(ready).zip(&mut turn.inbox).zip(&turn.exited);
    for (((((_, conn), &(readable, writable)), (messages, error, cause)), &gone), (&pid, left)) in
        each.zip(pids.iter().zip(vacated))
    {
        let sent = match writable && !gone {
            true => conn.flush().err(),
            false => None,
        };
        // A send that found it gone (its end closed) reads what it sent before it went,
        // as an exit does: its last results are in there, and nothing else will read them.
        let gone = gone || matches!(sent, Some(Error::Disconnected));
        let read = match (readable, gone) {
            (_, true) => read_some(conn, messages, MAX_LEFT).or(Some(Error::Disconnected)),
            (true, false) => read_some(conn, messages, MAX_READ),
            (false, false) => None,
        };
        if transport.as_ref().is_some_and(|t| t.reads_worker_memory()) {
            // A worker may answer for its piece and then exit (its results sent).
            pieces.answered(conn, messages);
            if gone {
                pieces.gone(Some(conn), Some(pid));
            } else {
                super::far::take_offers(conn, pid, messages, pieces);
            }
        }
        *error = read.or(sent);
        // It hung up or exited: collected here, without the lock (a process's reap waits
        // for it to be gone). Unless it left its slot meanwhile (a caller stopped it, and
        // told to exit it hangs up first): then it is dying, and watched as such.
        if matches!(error, Some(Error::Disconnected)) && !left.load(Ordering::SeqCst) {
            *cause = transport.as_ref().map(|t| t.exit_cause(pid));
        }
    }
    pieces.expire();
}

/// Most messages read from one socket per turn of the driver, so one busy worker cannot
/// keep the others waiting.
const MAX_READ: usize = 64;

/// Appends what a worker's socket holds now (up to `most` messages: [`MAX_READ`], or
/// [`MAX_LEFT`] for a worker that exited) to `messages`; the error that ended reading, if
/// one did.
fn read_some(conn: &RawConn, messages: &mut Vec<Message>, most: usize) -> Option<Error> {
    for _ in 0..most {
        match conn.try_recv() {
            Ok(Some(m)) => messages.push(m),
            Ok(None) => break,
            Err(e) => return Some(e),
        }
    }
    None
}

/// Most messages read from the socket of a worker that has exited: all it sent before it
/// died, but not an endless stream from a process it forked that still holds the socket.
const MAX_LEFT: usize = 1 << 16;

