//! The worker threads of a [`ThreadPool`](crate::ThreadPool): each serves the worker
//! protocol (`worker::run_on_thread`) on its end of a socket pair, so the engine drives it
//! exactly as it drives a process. A thread cannot be killed: one that must stop at once
//! (its task was cancelled or ran past its deadline, or the pool was terminated) is let go
//! once its grace runs out; its socket is closed, so it ends when its task returns. A
//! thread that hung up is joined when the pool collects it (never under the pool's lock).

use super::transport::{Intro, Started, Transport};
use crate::error::{Error, ExitCause, Result};
use crate::owner::Owner;
use crate::protocol::{self, INIT};
use crate::wire::raw_pair;
use nix::unistd::Pid;
use std::collections::HashMap;
use std::sync::Mutex;
use std::thread::JoinHandle;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Worker threads in the owner's process.
pub(crate) struct Threads {
    /// What `INIT` carries as the owner's identity (not adopted: a thread shares it).
    owner: Owner,
    /// The threads started and not collected yet, by thread id.
    handles: Mutex<HashMap<i32, JoinHandle<()>>>,
}

impl Threads {
    pub(crate) fn new() -> Self {
        // A panicking task's location comes back as it does from a worker process.
        crate::panics::install(crate::panics::backtrace_wanted());
        Self {
            owner: Owner::shared(),
            handles: Mutex::default(),
        }
    }

    fn start_one(&self, intro: &Intro<'_>) -> Result<Started> {
        let (ours, theirs) = raw_pair()?;
        let (tell, told) = std::sync::mpsc::sync_channel(1);
        let handle = std::thread::Builder::new()
            .name("forkpool-worker".into())
            .spawn(move || {
                let _ = tell.send(nix::unistd::gettid());
                drop(tell);
                crate::worker::run_on_thread(theirs);
            })
            .map_err(|source| Error::Io {
                op: "spawn a worker thread",
                source,
            })?;
        // The thread's first act: bounded, it waits for nothing.
        let id = told
            .recv()
            .map_err(|_| Error::Internal("a worker thread ended before it started"))?;
        lock(&self.handles).insert(id.as_raw(), handle);
        let (call, args, fds) = match intro.init {
            Some(i) => (i.call, i.args.as_slice(), &i.fds[..]),
            None => (0, &[][..], &[][..]),
        };
        let fds = fds
            .iter()
            .map(|f| f.try_clone())
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|source| Error::Io { op: "dup", source })?;
        // If this fails, `ours` closes and the thread ends on its own.
        ours.send(
            INIT,
            &protocol::encode_init(call, intro.key, &self.owner, args),
            &fds,
        )?;
        Ok(Started {
            id,
            conn: ours,
            exit: None,
        })
    }
}

impl Transport for Threads {
    fn start(
        &self,
        n: usize,
        intro: Intro<'_>,
        each: &mut dyn FnMut(Result<Started>),
    ) -> Result<()> {
        for _ in 0..n {
            each(self.start_one(&intro));
        }
        Ok(())
    }

    /// Nothing can stop a thread: it is let go when released (see the module docs).
    fn stop_now(&self, _id: Pid) {}

    /// A thread that hung up has returned: it is joined (called without the pool's lock).
    /// One let go (`kill_first`) is detached: it ends when its task does, its socket
    /// closed by then, so it takes no more work.
    fn release(&self, gone: &[(Pid, bool)]) {
        let handles: Vec<_> = {
            let mut all = lock(&self.handles);
            gone.iter()
                .filter_map(|&(id, let_go)| all.remove(&id.as_raw()).map(|h| (h, let_go)))
                .collect()
        };
        for (h, let_go) in handles {
            if !let_go {
                let _ = h.join();
            }
        }
    }

    /// A thread that ended on its own broke off serving (its task panicked outside the
    /// task's guard, or the protocol broke): it is joined; there is no exit status to read.
    fn exit_cause(&self, id: Pid) -> ExitCause {
        self.release(&[(id, false)]);
        ExitCause::Unknown
    }

    /// A thread's jobs pipeline with a result log, as a process's do: one let go starts
    /// nothing once the pool has read its log (`protocol::log`), so the jobs behind the
    /// one it was stopped for run once elsewhere.
    fn keeps_logs(&self) -> bool {
        true
    }

    fn settles_from_log_alive(&self) -> bool {
        true
    }
}
