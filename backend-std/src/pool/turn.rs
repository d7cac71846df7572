//! A turn of the driver: what it waits on ([`Watch`], refreshed under the lock) and what
//! a wait brought ([`Turn`], read without the lock and applied under it at the start of
//! the next turn).

use super::departures::Loss;
use super::state::State;
use super::transport::Transport;
use crate::error::{Error, ExitCause};
use crate::wire::{Message, RawConn};
use nix::unistd::Pid;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// What the driver waits on: worker sockets, the sockets of dying processes (for their
/// hang-up), and how long it may wait. Kept from turn to turn (refilled, not reallocated).
#[derive(Default)]
pub(super) struct Watch {
    pub(super) watched: Vec<(usize, Arc<RawConn>)>,
    /// The id of each watched worker, by its place in `watched`.
    pub(super) pids: Vec<Pid>,
    /// Whether each watched worker has left its slot since (see `Slot::vacated`), by its
    /// place in `watched`.
    pub(super) vacated: Vec<Arc<AtomicBool>>,
    /// How workers are collected (the state's transport; `None` before the first turn).
    pub(super) transport: Option<Arc<dyn Transport>>,
    /// The exit descriptors of watched workers, by their place in `watched`.
    pub(super) exits: Vec<(usize, Arc<OwnedFd>)>,
    /// Dying processes.
    pub(super) dying: Vec<Leaving>,
    pub(super) timeout: Option<std::time::Duration>,
}

/// A dying process as the driver watches it.
pub(super) struct Leaving {
    pub(super) pid: Pid,
    pub(super) conn: Arc<RawConn>,
    /// Readable once it has exited (where the kernel has pidfds).
    pub(super) exit: Option<Arc<OwnedFd>>,
    /// Whether its socket's hang-up is its end: it was told to exit (it closes everything
    /// it holds first), or there is no exit descriptor to watch. Otherwise only the exit
    /// descriptor is.
    pub(super) hangup_ends: bool,
}

impl Leaving {
    /// What is watched for its end first: its socket where the hang-up ends it, else its
    /// exit descriptor.
    pub(super) fn first(&self) -> BorrowedFd<'_> {
        match (&self.exit, self.hangup_ends) {
            (Some(e), false) => e.as_fd(),
            _ => self.conn.as_fd(),
        }
    }

    /// Its exit descriptor, where it is watched besides the socket (a process the task
    /// forked may hold the socket open).
    pub(super) fn exit_too(&self) -> Option<&Arc<OwnedFd>> {
        self.exit.as_ref().filter(|_| self.hangup_ends)
    }
}

impl Watch {
    pub(super) fn refresh(&mut self, st: &State) {
        self.watched.clear();
        self.watched.extend(
            st.slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.as_ref().map(|s| (i, Arc::clone(&s.conn)))),
        );
        self.pids.clear();
        self.pids.extend(st.slots.iter().flatten().map(|s| s.pid));
        self.vacated.clear();
        self.vacated
            .extend(st.slots.iter().flatten().map(|s| Arc::clone(&s.vacated)));
        if self.transport.is_none() {
            self.transport = Some(Arc::clone(&st.transport));
        }
        self.exits.clear();
        self.exits.extend(
            st.slots
                .iter()
                .flatten()
                .enumerate()
                .filter_map(|(k, s)| s.exit.as_ref().map(|e| (k, Arc::clone(e)))),
        );
        self.dying.clear();
        self.dying.extend(st.dying.iter().map(|d| Leaving {
            pid: d.pid,
            conn: Arc::clone(&d.conn),
            exit: d.exit.clone(),
            hangup_ends: d.told_to_exit || d.exit.is_none(),
        }));
        let kill = st
            .next_kill()
            .map(|at| at.saturating_duration_since(std::time::Instant::now()));
        self.timeout = match (st.until_next_deadline(), kill) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// What one wait brought: processes that exited, each watched socket's messages and error
/// (in the order of [`Watch::watched`]) with, for a worker that hung up, how it ended (it
/// was collected without the lock). Applied under
/// the lock at the start of the next turn, which leaves the buffers empty for the next wait.
#[derive(Default)]
pub(super) struct Turn {
    pub(super) gone: Vec<(Pid, bool)>,
    pub(super) inbox: Vec<Inbox>,
    /// Which watched workers have exited (kept from turn to turn).
    pub(super) exited: Vec<bool>,
}

/// One watched worker's messages, the error that ended reading, and (it hung up) how it
/// ended.
pub(super) type Inbox = (Vec<Message>, Option<Error>, Option<ExitCause>);

impl Turn {
    pub(super) fn apply(&mut self, st: &mut State, watch: &Watch) {
        st.reap_dying(&self.gone);
        self.gone.clear();
        let same = |st: &State, i: usize, conn: &Arc<RawConn>| {
            st.slots[i]
                .as_ref()
                .is_some_and(|s| Arc::ptr_eq(&s.conn, conn))
        };
        let watched = watch.watched.iter().zip(&watch.pids);
        for (((i, conn), &pid), (messages, error, cause)) in watched.zip(&mut self.inbox) {
            for m in messages.drain(..) {
                if !same(st, *i, conn) {
                    continue; // dropped: the slot has a new process
                }
                st.on_message(*i, m);
            }
            match (error.take(), cause.take()) {
                (Some(Error::Disconnected), Some(c)) if same(st, *i, conn) => {
                    st.lose(*i, Loss::Died(c))
                }
                (Some(e), _) if same(st, *i, conn) => st.lose(*i, Loss::broke(e)),
                // It left its slot by another way meanwhile, and was collected here.
                (_, Some(_)) => st.collected(pid),
                _ => {}
            }
        }
    }
}
