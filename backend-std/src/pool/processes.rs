//! The worker processes of a [`Pool`](super::Pool): forked by the fork server (`zygote`),
//! introduced with the owner's identity (`owner`), stopped with signals, reaped by the
//! server.

use super::transport::{Intro, Started, Transport};
use crate::error::{Error, ExitCause, Result};
use crate::owner::Owner;
use crate::protocol::{self, INIT};
use crate::wire::RawConn;
use crate::zygote;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Worker processes, forked by the fork server.
pub(crate) struct Processes {
    /// Whether workers die of the terminal's `SIGINT` (`PoolBuilder::terminate_on_interrupt`).
    pub interrupt: bool,
}

impl Transport for Processes {
    fn start(
        &self,
        n: usize,
        intro: Intro<'_>,
        each: &mut dyn FnMut(Result<Started>),
    ) -> Result<()> {
        // What the new workers take over from this process, as it is now: read while the
        // fork server answers.
        let owner = std::cell::OnceCell::new();
        let read_owner = |server_env| {
            owner.get_or_init(|| {
                Owner::now(self.interrupt, Some(server_env)).map(|mut o| {
                    o.far = intro.far;
                    o
                })
            });
        };
        // Workers that could not be sent their initializer, reaped once the fork server's
        // channel is free again.
        let mut unsent = Vec::new();
        let asked = zygote::spawn_workers(n, intro.size, read_owner, |started| {
            each(started.and_then(|(pid, conn)| {
                let introduced = match owner.get() {
                    Some(Ok(owner)) => introduce(pid, conn, owner, &intro),
                    Some(Err(e)) => Err(again(e)),
                    None => Err(Error::Internal("no owner identity was read")),
                };
                introduced.inspect_err(|_| unsent.push((pid, true)))
            }))
        });
        if !unsent.is_empty() {
            let _ = zygote::release_many(&unsent);
        }
        asked
    }

    fn stop_now(&self, id: Pid) {
        // The pid is still our fork server's unreaped child, so it names this process;
        // `SIGCONT` in case it is stopped.
        let _ = kill(id, Signal::SIGTERM);
        let _ = kill(id, Signal::SIGCONT);
    }

    fn release(&self, gone: &[(Pid, bool)]) {
        if !gone.is_empty() {
            let _ = zygote::release_many(gone);
        }
    }

    fn exit_cause(&self, id: Pid) -> ExitCause {
        zygote::reap(id, false).unwrap_or(ExitCause::Unknown)
    }

    fn keeps_logs(&self) -> bool {
        true
    }

    /// The fork server reaps a released worker when it exits, and kills it after its grace.
    fn reaps_on_its_own(&self) -> bool {
        true
    }

    /// Workers are this process's descendants, with its credentials.
    fn reads_worker_memory(&self) -> bool {
        true
    }
}

/// The error that reading the owner's identity failed with, for each worker it fails.
fn again(e: &Error) -> Error {
    let (op, source) = match e {
        Error::Io { op, source } => (*op, std::io::Error::new(source.kind(), source.to_string())),
        other => ("read the owner's identity", std::io::Error::other(other.to_string())),
    };
    Error::Io { op, source }
}

/// Sends a new worker its `INIT`: the owner's identity, the pool's key, the initializer
/// (the caller reaps the worker if this fails).
fn introduce(pid: Pid, conn: RawConn, owner: &Owner, intro: &Intro<'_>) -> Result<Started> {
    let (call, args, init_fds) = match intro.init {
        Some(i) => (i.call, i.args.as_slice(), &i.fds[..]),
        None => (0, &[][..], &[][..]),
    };
    // The working directory first, then the initializer's descriptors. (A result log comes
    // later, when the worker's jobs first pipeline: see `requeue.rs`.)
    let fds = owner
        .cwd
        .iter()
        .chain(init_fds)
        .map(|f| f.try_clone())
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|source| Error::Io { op: "dup", source })?;
    let exit = crate::sys::pidfd_open(pid);
    conn.send(
        INIT,
        &protocol::encode_init(call, intro.key, owner, args),
        &fds,
    )?;
    Ok(Started {
        id: pid,
        conn,
        exit,
    })
}
