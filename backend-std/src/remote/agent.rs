//! A node agent: runs the workers a cluster's root starts on this node, as forked worker
//! processes of its own, and forwards messages between each and the root.
//!
//! A worker that crashes ends alone: the agent reports how it ended, with its result log,
//! and carries on.

use super::Link;
use super::frame::Frame;
use crate::error::{Error, Result};
use crate::pool::processes::Processes;
use crate::pool::transport::{Init, Intro, Started, Transport};
use crate::protocol::{LOG, LOG_BYTES};
use crate::sys::Mapping;
use crate::wire::RawConn;
use nix::unistd::Pid;
use std::collections::HashMap;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};

/// Bytes at the start of a result log before its batch (`protocol::log`).
const LOG_HEAD: usize = 64;

/// One worker on this node.
struct Local {
    pid: Pid,
    conn: Arc<RawConn>,
    /// What goes to the worker, in order, sent by its feeder thread (a worker busy with a
    /// long task must not hold up the link).
    feed: Sender<(u8, Vec<u8>, Vec<std::os::fd::OwnedFd>)>,
    /// This node's copy of its result log.
    log: Option<Mapping>,
}

/// What the agent's threads share.
struct Agent {
    link: Arc<dyn Link>,
    root: usize,
    workers: Processes,
    locals: Mutex<HashMap<u32, Local>>,
    /// Threads that forward workers' answers, joined before the agent leaves (none may still
    /// be sending when the link goes).
    forwarders: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// Serves as a node agent for the cluster whose root is peer `root` of `link`, until the
/// root says to leave (when its [`Cluster`](super::Cluster) is dropped). Runs the workers
/// the root's pools start here; returns once they are all stopped.
///
/// With MPI, every rank but the root calls this (`forkpool-mpi` does).
pub fn serve(link: Arc<dyn Link>, root: usize) -> Result<()> {
    serve_as(link, root, super::fingerprint())
}

/// [`serve`] with this node's fingerprint given (tests pose as another executable).
pub(crate) fn serve_as(link: Arc<dyn Link>, root: usize, fingerprint: u64) -> Result<()> {
    let agent = Arc::new(Agent {
        link,
        root,
        workers: Processes { interrupt: false },
        locals: Mutex::new(HashMap::new()),
        forwarders: Mutex::new(Vec::new()),
    });
    let served = agent.serve(fingerprint);
    // Whatever is left is stopped, and the root told this agent is gone.
    let left: Vec<(u32, Pid)> = agent.locals().drain().map(|(s, l)| (s, l.pid)).collect();
    let gone: Vec<(Pid, bool)> = left.iter().map(|&(_, pid)| (pid, true)).collect();
    agent.workers.release(&gone);
    let forwarders = std::mem::take(&mut *agent.forwarders.lock().unwrap_or_else(|p| p.into_inner()));
    for f in forwarders {
        let _ = f.join();
    }
    let bye = agent.send(&Frame::Bye);
    served.and(bye)
}

impl Agent {
    fn locals(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Local>> {
        self.locals.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, frame: &Frame<'_>) -> Result<()> {
        self.link
            .send(self.root, &frame.encode())
            .map_err(|e| Error::Io {
                op: "send to the cluster's root",
                source: e,
            })
    }

    /// Acts on the root's messages until it says to leave.
    fn serve(self: &Arc<Self>, fingerprint: u64) -> Result<()> {
        loop {
            let (from, bytes) = self.link.recv().map_err(|e| Error::Io {
                op: "receive from the cluster's root",
                source: e,
            })?;
            if from != self.root {
                continue;
            }
            match Frame::decode(&bytes)? {
                Frame::Start {
                    slot,
                    fingerprint: theirs,
                    call,
                    key,
                    args,
                } => {
                    if theirs != fingerprint {
                        let message = format!(
                            "runs another executable than the root (fingerprint {fingerprint:#x}, \
                             the root's {theirs:#x}): start every rank with the same binary"
                        );
                        self.send(&Frame::StartFailed { slot, message: &message })?;
                        continue;
                    }
                    self.start(slot, call as usize, key, args)?;
                }
                Frame::Msg { slot, kind, bytes } => self.to_worker(slot, kind, bytes),
                Frame::Stop { slot } => {
                    let pid = self.locals().get(&slot).map(|l| l.pid);
                    if let Some(pid) = pid {
                        self.workers.stop_now(pid);
                    }
                }
                Frame::Release { slot, kill_first } => {
                    let local = self.locals().remove(&slot);
                    if let Some(local) = local {
                        let _ = local.conn.shutdown(nix::sys::socket::Shutdown::Both);
                        self.workers.release(&[(local.pid, kill_first)]);
                    }
                }
                Frame::Exit => return Ok(()),
                _ => {
                    return Err(Error::Protocol(
                        "the root sent a message only an agent sends".into(),
                    ));
                }
            }
        }
    }

    /// Starts worker `slot` here and tells the root how that went.
    fn start(self: &Arc<Self>, slot: u32, call: usize, key: u64, args: &[u8]) -> Result<()> {
        let init = (call != 0).then(|| Init {
            call,
            args: args.to_vec(),
            fds: Vec::new(),
        });
        let mut started = None;
        // This node's share of the pool: its fork server keeps as many forked ahead.
        let size = self.locals().len() + 1;
        let asked = self.workers.start(
            1,
            Intro {
                key,
                init: init.as_ref(),
                // The root reads its results from the messages this agent forwards.
                far: false,
                size,
            },
            &mut |s| started = Some(s),
        );
        let started = match (started, asked) {
            (Some(s), _) => s,
            (None, Err(e)) => Err(e),
            (None, Ok(())) => Err(Error::Protocol("no worker was started".into())),
        };
        match started.and_then(|s| self.install(slot, s)) {
            Ok(pid) => self.send(&Frame::Started { slot, pid }),
            Err(e) => self.send(&Frame::StartFailed {
                slot,
                message: &e.to_string(),
            }),
        }
    }

    /// Keeps a started worker and starts the threads that feed it and forward its answers.
    fn install(self: &Arc<Self>, slot: u32, started: Started) -> Result<u32> {
        let Started { id: pid, conn, .. } = started;
        let conn = Arc::new(conn);
        let (feed, fed) = channel::<(u8, Vec<u8>, Vec<std::os::fd::OwnedFd>)>();
        let spawn = |name: String, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name)
                .spawn(f)
                .map_err(|e| Error::Io {
                    op: "spawn a worker's forwarding thread",
                    source: e,
                })
        };
        let feeder = Arc::clone(&conn);
        spawn(
            format!("forkpool-feed-{slot}"),
            Box::new(move || {
                for (kind, bytes, fds) in fed {
                    if feeder.send(kind, &bytes, &fds).is_err() {
                        break;
                    }
                }
            }),
        )
        .inspect_err(|_| self.workers.release(&[(pid, true)]))?;
        self.locals().insert(
            slot,
            Local {
                pid,
                conn: Arc::clone(&conn),
                feed,
                log: None,
            },
        );
        let agent = Arc::clone(self);
        let forwarder = spawn(
            format!("forkpool-answers-{slot}"),
            Box::new(move || agent.forward(slot, &conn)),
        )
        .inspect_err(|_| {
            if let Some(l) = self.locals().remove(&slot) {
                self.workers.release(&[(l.pid, true)]);
            }
        })?;
        let mut forwarders = self.forwarders.lock().unwrap_or_else(|p| p.into_inner());
        forwarders.retain(|f| !f.is_finished());
        forwarders.push(forwarder);
        Ok(pid.as_raw() as u32)
    }

    /// Hands a message from the root to worker `slot`. A result log is made here: the
    /// root's cannot cross.
    fn to_worker(&self, slot: u32, kind: u8, bytes: &[u8]) {
        let mut locals = self.locals();
        let Some(local) = locals.get_mut(&slot) else {
            return; // gone: the root hears of it from its forwarding thread
        };
        let mut fds = Vec::new();
        if kind == LOG {
            let Ok(file) = Mapping::sealed_file(LOG_BYTES) else {
                return; // no log: this worker's losses are not exact
            };
            let (Ok(theirs), Ok(mine)) = (file.try_clone(), Mapping::from_fd(file)) else {
                return;
            };
            local.log = Some(mine);
            fds.push(theirs);
        }
        let _ = local.feed.send((kind, bytes.to_vec(), fds));
    }

    /// Forwards worker `slot`'s answers to the root until it ends; then, unless the root
    /// released it meanwhile, reports how it ended, with its result log.
    fn forward(&self, slot: u32, conn: &RawConn) {
        while let Ok(m) = conn.recv(None) {
            let frame = Frame::Msg {
                slot,
                kind: m.kind,
                bytes: &m.bytes,
            };
            if self.send(&frame).is_err() {
                return;
            }
        }
        let Some(local) = self.locals().remove(&slot) else {
            return; // released by the root
        };
        let cause = self.workers.exit_cause(local.pid);
        let log = local.log.as_ref().map_or(&[][..], |map| {
            let committed = map.word(0).load(std::sync::atomic::Ordering::Acquire) as usize;
            &map.bytes()[..(LOG_HEAD + committed).min(map.len())]
        });
        let _ = self.send(&Frame::Died { slot, cause, log });
    }
}
