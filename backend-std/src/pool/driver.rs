//! The driver thread: moves bytes between worker sockets and the scheduler, in the manner
//! of quinn's endpoint driver (read, `handle_*`, drain every `poll_*`, write, loop). It
//! never forks (the fork server does) and runs user callbacks outside the pool's lock.

use super::deliveries::Deliveries;
use super::exits::{Loss, drain};
use super::sink::lock;
use super::state::{State, send_unflushed};
use crate::error::Error;
use crate::wire::{Message, RawConn};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::unistd::Pid;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What the driver thread and the pool's users share.
pub(crate) struct Inner {
    pub state: Mutex<State>,
    wake: EventFd,
    /// Whether the driver is between two waits (shared with the state; see
    /// `State::driver_awake`).
    awake: Arc<AtomicBool>,
}

impl Inner {
    pub(crate) fn new(state: State) -> crate::error::Result<Self> {
        let wake = EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(|e| Error::io("eventfd", e))?;
        Ok(Self {
            awake: Arc::clone(&state.driver_awake),
            state: Mutex::new(state),
            wake,
        })
    }

    /// Wakes the driver so it looks at the state again.
    pub(crate) fn wake(&self) {
        let _ = self.wake.write(1);
    }

    /// Runs `change` on the state, then sends out what the scheduler decides at once (from
    /// the caller's thread, without a detour through the driver), delivers what it
    /// released, and wakes the driver only when it must look.
    pub(crate) fn hand_over<T>(
        &self,
        change: impl FnOnce(&mut State) -> crate::error::Result<T>,
    ) -> crate::error::Result<T> {
        let mut out = Deliveries::new();
        let (value, wake, unflushed) = {
            let mut st = lock(&self.state);
            let value = change(&mut st)?;
            let wake = st.pump_from_caller(&mut out);
            (value, wake, st.take_unflushed())
        };
        let wake = send_unflushed(&unflushed) || wake;
        out.deliver();
        if wake {
            self.wake();
        }
        Ok(value)
    }
}

/// What the driver waits on: worker sockets, the sockets of dying processes (for their
/// hang-up), and how long it may wait.
struct Watch {
    watched: Vec<(usize, Arc<RawConn>)>,
    dying: Vec<(Pid, Arc<RawConn>)>,
    timeout: Option<std::time::Duration>,
}

impl Watch {
    fn of(st: &State) -> Self {
        let watched = st
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i, Arc::clone(&s.conn))))
            .collect();
        let dying = st
            .dying
            .iter()
            .map(|d| (d.pid, Arc::clone(&d.conn)))
            .collect();
        let kill = st
            .next_kill()
            .map(|at| at.saturating_duration_since(std::time::Instant::now()));
        let timeout = match (st.until_next_deadline(), kill) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Self {
            watched,
            dying,
            timeout,
        }
    }
}

/// What one wait brought: processes that exited, and each watched socket's messages and
/// error; applied under the lock at the start of the next turn.
#[derive(Default)]
struct Turn {
    gone: Vec<(Pid, bool)>,
    watched: Vec<(usize, Arc<RawConn>)>,
    inbox: Vec<(Vec<Message>, Option<Error>)>,
}

impl Turn {
    fn apply(self, st: &mut State) {
        st.reap_dying(&self.gone);
        let same = |st: &State, i: usize, conn: &Arc<RawConn>| {
            st.slots[i]
                .as_ref()
                .is_some_and(|s| Arc::ptr_eq(&s.conn, conn))
        };
        for ((i, conn), (messages, error)) in self.watched.iter().zip(self.inbox) {
            for m in messages {
                if !same(st, *i, conn) {
                    break;
                }
                st.on_message(*i, m);
            }
            if let Some(e) = error
                && same(st, *i, conn)
            {
                st.lose(*i, Loss::from_io(e));
            }
        }
    }
}

/// The driver loop; returns when the pool is finished or terminated. The pool's lock is
/// taken once a turn, only to decide: sockets are written, polled and read without it.
pub(crate) fn run(inner: Arc<Inner>) {
    let mut out = Deliveries::new();
    let mut turn = Turn::default();
    loop {
        let (
            Watch {
                watched,
                dying,
                timeout,
            },
            unflushed,
        ) = {
            let mut st = lock(&inner.state);
            std::mem::take(&mut turn).apply(&mut st);
            st.reap_overdue();
            st.pump(&mut out);
            if st.finished() {
                drop(st);
                out.deliver();
                return;
            }
            // From here on, callers send their jobs themselves.
            inner.awake.store(false, Ordering::Relaxed);
            (Watch::of(&st), st.take_unflushed())
        };
        send_unflushed(&unflushed);
        out.deliver();

        // A socket with packets still queued (full, or filled by a caller since) is
        // watched for room as well.
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
        fds.extend(
            dying
                .iter()
                .map(|(_, c)| PollFd::new(c.as_fd(), PollFlags::POLLIN)),
        );
        fds.push(PollFd::new(inner.wake.as_fd(), PollFlags::POLLIN));
        let timeout = match timeout {
            None => PollTimeout::NONE,
            Some(t) => PollTimeout::try_from(t.as_millis().min(60_000) as i32 + 1)
                .unwrap_or(PollTimeout::MAX),
        };
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
        }
        // The next turn pumps under the lock: until then, callers may leave jobs to it.
        inner.awake.store(true, Ordering::Relaxed);
        let ready: Vec<(bool, bool)> = fds
            .iter()
            .map(|f| {
                let r = f.revents().unwrap_or(PollFlags::POLLIN);
                (
                    !(r - PollFlags::POLLOUT).is_empty(),
                    r.contains(PollFlags::POLLOUT),
                )
            })
            .collect();
        let woken = ready.last().is_some_and(|r| r.0);
        drop(fds);
        if woken {
            let _ = inner.wake.read();
        }

        // A dying process's socket hangs up when it exits; what it still says is dropped.
        // Anything else it sends that is not a message gets it killed now.
        let gone = dying
            .iter()
            .zip(&ready[watched.len()..])
            .filter(|(_, r)| r.0)
            .filter_map(|((pid, conn), _)| match drain(conn) {
                Ok(()) => None,
                Err(Error::Disconnected) => Some((*pid, true)),
                Err(_) => Some((*pid, false)),
            })
            .collect();

        // Workers' sockets are written and read without the lock: callers keep submitting
        // while the driver waits on the kernel.
        let inbox = watched
            .iter()
            .zip(&ready)
            .map(|((_, conn), &(readable, writable))| {
                let sent = match writable {
                    true => conn.flush().err(),
                    false => None,
                };
                let (messages, error) = match readable {
                    true => read_some(conn),
                    false => (Vec::new(), None),
                };
                (messages, error.or(sent))
            })
            .collect();
        turn = Turn {
            gone,
            watched,
            inbox,
        };
    }
}

/// Most messages read from one socket per turn of the driver, so one busy worker cannot
/// keep the others waiting.
const MAX_READ: usize = 64;

/// What a worker's socket holds now (up to [`MAX_READ`] messages), and the error that
/// ended reading, if one did.
fn read_some(conn: &RawConn) -> (Vec<Message>, Option<Error>) {
    let mut messages = Vec::new();
    while messages.len() < MAX_READ {
        match conn.try_recv() {
            Ok(Some(m)) => messages.push(m),
            Ok(None) => break,
            Err(e) => return (messages, Some(e)),
        }
    }
    (messages, None)
}
