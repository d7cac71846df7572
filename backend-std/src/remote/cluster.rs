//! The root of a cluster: the node agents it reaches, the remote workers it forwards for,
//! and the thread that hands each message from the link to the worker it is for.

use super::Link;
use super::bridge::Bridge;
use super::frame::Frame;
use crate::error::{Error, ExitCause, Result};
use crate::pool::{Pool, PoolBuilder};
use crate::wire::RawConn;
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// The root's side of a cluster: node agents reached through a [`Link`], on which
/// [`pool`](Self::pool) starts pools of remote workers.
///
/// Drop every pool before the cluster: dropping (or [`shutdown`](Self::shutdown)) tells
/// each agent to stop its workers and leave, and waits until each has.
pub struct Cluster {
    shared: Arc<Shared>,
    downlink: Option<JoinHandle<()>>,
}

/// What the root's threads share.
pub(crate) struct Shared {
    pub link: Arc<dyn Link>,
    /// The agents' peer numbers.
    pub agents: Vec<usize>,
    hub: Mutex<Hub>,
    /// Signalled when a start is answered or an agent leaves.
    answered: Condvar,
}

/// The remote workers and pending starts.
#[derive(Default)]
pub(crate) struct Hub {
    pub slots: HashMap<u32, Remote>,
    pub next_slot: u32,
    /// Start replies by slot: `None` until the agent answers (its pid, or why not).
    pub replies: HashMap<u32, Option<std::result::Result<u32, String>>>,
    /// How each remote worker that died ended, until the pool asks.
    pub causes: HashMap<u32, ExitCause>,
    /// Live workers per agent (by index in `agents`).
    pub load: Vec<usize>,
    /// The forwarding threads of remote workers, joined before the agents are told to
    /// leave (none may still be sending when the link goes).
    pub uplinks: Vec<JoinHandle<()>>,
    byes: usize,
    /// Why the link failed, once it has: no more starts.
    pub broken: Option<String>,
}

/// One remote worker, as the root sees it.
pub(crate) struct Remote {
    /// Its agent, by index in `agents`.
    pub agent: usize,
    /// The far end of the pool's socket for it.
    pub bridge: Arc<RawConn>,
    /// The result log the pool gave it (the agent's copy is mirrored here when it dies).
    pub log: Option<OwnedFd>,
}

impl Shared {
    pub(crate) fn hub(&self) -> MutexGuard<'_, Hub> {
        self.hub.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the start of `slot` is answered, for at most `limit`.
    pub(crate) fn await_start(
        &self,
        slot: u32,
        limit: std::time::Duration,
    ) -> std::result::Result<u32, String> {
        let deadline = std::time::Instant::now() + limit;
        let mut hub = self.hub();
        loop {
            if let Some(reply) = hub.replies.get_mut(&slot).and_then(Option::take) {
                hub.replies.remove(&slot);
                return reply;
            }
            if let Some(why) = hub.broken.clone() {
                hub.replies.remove(&slot);
                return Err(why);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                hub.replies.remove(&slot);
                return Err(format!("no answer to a worker start within {limit:?}"));
            }
            hub = self
                .answered
                .wait_timeout(hub, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Cluster {
    /// A cluster whose agents are the peers `agents` of `link` (each running
    /// [`serve`](super::serve) with this process's peer number as its root). Starts the
    /// thread that reads the link; nothing is sent until a pool starts.
    pub fn new(link: Arc<dyn Link>, agents: Vec<usize>) -> Result<Self> {
        if agents.is_empty() {
            return Err(Error::InvalidArgument(
                "a cluster needs at least one node agent (with MPI: run with -n 2 or more)",
            ));
        }
        let hub = Hub {
            next_slot: 1,
            load: vec![0; agents.len()],
            ..Hub::default()
        };
        let shared = Arc::new(Shared {
            link,
            agents,
            hub: Mutex::new(hub),
            answered: Condvar::new(),
        });
        let downlink = std::thread::Builder::new()
            .name("forkpool-cluster".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || downlink(&shared)
            })
            .map_err(|e| Error::Io {
                op: "spawn the cluster's link thread",
                source: e,
            })?;
        Ok(Self {
            shared,
            downlink: Some(downlink),
        })
    }

    /// The number of node agents.
    pub fn nodes(&self) -> usize {
        self.shared.agents.len()
    }

    /// Starts a pool whose workers run on the agents, spread evenly (each start goes to the
    /// agent with the fewest live workers); `builder` sets everything else as for a local
    /// pool. Without [`PoolBuilder::processes`], one worker per agent.
    pub fn pool(&self, builder: PoolBuilder) -> Result<Pool> {
        let builder = builder.or_processes(self.nodes());
        builder.build_on(Box::new(Bridge::new(Arc::clone(&self.shared))))
    }

    /// Tells every agent to stop its workers and leave, and waits until each has said so.
    pub fn shutdown(mut self) -> Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> Result<()> {
        let Some(downlink) = self.downlink.take() else {
            return Ok(());
        };
        // Pools still running lose their workers now; every forwarding thread ends.
        let uplinks = {
            let mut hub = self.shared.hub();
            for remote in hub.slots.values() {
                let _ = remote.bridge.shutdown(nix::sys::socket::Shutdown::Both);
            }
            std::mem::take(&mut hub.uplinks)
        };
        for u in uplinks {
            let _ = u.join();
        }
        let mut first_error = None;
        for &peer in &self.shared.agents {
            if let Err(e) = self.shared.link.send(peer, &Frame::Exit.encode()) {
                first_error.get_or_insert(Error::Io {
                    op: "tell a node agent to leave",
                    source: e,
                });
            }
        }
        if first_error.is_none() {
            let _ = downlink.join();
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("agents", &self.shared.agents)
            .finish()
    }
}

/// The link's reader: hands each message to the worker or start it is for, until every
/// agent has left (or the link fails, which fails every remote worker).
fn downlink(shared: &Shared) {
    loop {
        let (from, bytes) = match shared.link.recv() {
            Ok(m) => m,
            Err(e) => return broken(shared, format!("the cluster's link failed: {e}")),
        };
        if !shared.agents.contains(&from) {
            continue; // not one of ours
        }
        let frame = match Frame::decode(&bytes) {
            Ok(f) => f,
            Err(e) => return broken(shared, format!("node {from}: {e}")),
        };
        match frame {
            Frame::Msg { slot, kind, bytes } => {
                let bridge = shared.hub().slots.get(&slot).map(|r| Arc::clone(&r.bridge));
                // A worker the pool released meanwhile: its answer is not wanted.
                if let Some(bridge) = bridge {
                    let _ = bridge.send(kind, bytes, &[]);
                }
            }
            Frame::Started { slot, pid } => answer(shared, slot, Ok(pid)),
            Frame::StartFailed { slot, message } => answer(shared, slot, Err(message.to_owned())),
            Frame::Died { slot, cause, log } => {
                let mut hub = shared.hub();
                hub.causes.insert(slot, cause);
                if let Some(remote) = hub.slots.get(&slot) {
                    if let (Some(fd), false) = (&remote.log, log.is_empty()) {
                        // The agent's log of this worker becomes the pool's, before the pool
                        // sees the loss and reads it.
                        let _ = nix::sys::uio::pwrite(fd, log, 0);
                    }
                    let _ = remote.bridge.shutdown(nix::sys::socket::Shutdown::Both);
                }
            }
            Frame::Bye => {
                let mut hub = shared.hub();
                hub.byes += 1;
                if hub.byes == shared.agents.len() {
                    return;
                }
            }
            _ => return broken(shared, format!("node {from} sent a message only a root sends")),
        }
    }
}

fn answer(shared: &Shared, slot: u32, reply: std::result::Result<u32, String>) {
    let mut hub = shared.hub();
    if let Some(pending) = hub.replies.get_mut(&slot) {
        *pending = Some(reply);
    }
    shared.answered.notify_all();
}

/// The link is gone: every remote worker is lost, and no start can succeed.
fn broken(shared: &Shared, why: String) {
    let mut hub = shared.hub();
    for remote in hub.slots.values() {
        let _ = remote.bridge.shutdown(nix::sys::socket::Shutdown::Both);
    }
    hub.broken = Some(why);
    shared.answered.notify_all();
}
