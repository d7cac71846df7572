//! The root's transport for remote workers: each is a socket pair whose far end a thread
//! forwards over the link to the worker's agent, and whose messages from the agent the
//! cluster's link thread writes back into it (`cluster.rs`).

use super::cluster::{Remote, Shared};
use super::frame::Frame;
use crate::error::{Error, ExitCause, Result};
use crate::pool::transport::{Intro, Started, Transport};
use crate::protocol::LOG;
use crate::wire::raw_pair;
use nix::unistd::Pid;
use std::sync::Arc;
use std::time::Duration;

/// How long a start waits for its agent's answer (a fork and an `INIT` on that node).
const START_ANSWER: Duration = Duration::from_secs(30);

/// A start asked of an agent, not yet answered.
struct Asked {
    slot: u32,
    agent: usize,
    pool_end: crate::wire::RawConn,
    bridge_end: Arc<crate::wire::RawConn>,
}

/// The transport of a pool whose workers are remote.
pub(crate) struct Bridge {
    shared: Arc<Shared>,
}

impl Bridge {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Sends `frame` to agent `agent` (by index).
    fn send(&self, agent: usize, frame: &Frame<'_>) -> Result<()> {
        let peer = self.shared.agents[agent];
        self.shared
            .link
            .send(peer, &frame.encode())
            .map_err(|e| Error::Node {
                node: peer,
                message: format!("could not be reached: {e}"),
            })
    }

    /// Asks the least loaded agent to start a remote worker; [`finish`](Self::finish)
    /// waits for its answer.
    fn ask(&self, intro: &Intro<'_>) -> Result<Asked> {
        let (pool_end, bridge_end) = raw_pair()?;
        let bridge_end = Arc::new(bridge_end);
        let (slot, agent) = {
            let mut hub = self.shared.hub();
            if let Some(why) = &hub.broken {
                return Err(Error::Node {
                    node: self.shared.agents[0],
                    message: why.clone(),
                });
            }
            let agent = (0..hub.load.len()).min_by_key(|&a| hub.load[a]).unwrap_or(0);
            let slot = hub.next_slot;
            hub.next_slot = hub.next_slot.wrapping_add(1).max(1);
            hub.load[agent] += 1;
            hub.replies.insert(slot, None);
            hub.slots.insert(
                slot,
                Remote {
                    agent,
                    bridge: Arc::clone(&bridge_end),
                    log: None,
                },
            );
            (slot, agent)
        };
        let (call, args) = intro.init.map_or((0, &[][..]), |i| (i.call, &i.args[..]));
        let start = Frame::Start {
            slot,
            fingerprint: super::fingerprint(),
            call: call as u64,
            key: intro.key,
            args,
        };
        if let Err(e) = self.send(agent, &start) {
            self.forget(slot);
            return Err(e);
        }
        Ok(Asked {
            slot,
            agent,
            pool_end,
            bridge_end,
        })
    }

    /// Waits for the agent's answer to a start, and starts forwarding for the new worker.
    fn finish(&self, asked: Asked) -> Result<Started> {
        let Asked {
            slot,
            agent,
            pool_end,
            bridge_end,
        } = asked;
        let answer = self
            .shared
            .await_start(slot, START_ANSWER)
            .map_err(|message| Error::Node {
                node: self.shared.agents[agent],
                message,
            });
        if let Err(e) = answer {
            self.forget(slot);
            return Err(e);
        }
        let shared = Arc::clone(&self.shared);
        let spawned = std::thread::Builder::new()
            .name(format!("forkpool-uplink-{slot}"))
            .spawn(move || uplink(&shared, slot, agent, &bridge_end));
        let spawned = spawned.map(|handle| {
            let mut hub = self.shared.hub();
            hub.uplinks.retain(|u| !u.is_finished());
            hub.uplinks.push(handle);
        });
        if let Err(e) = spawned {
            self.forget(slot);
            let _ = self.send(agent, &Frame::Release { slot, kill_first: true });
            return Err(Error::Io {
                op: "spawn a remote worker's forwarding thread",
                source: e,
            });
        }
        Ok(Started {
            id: Pid::from_raw(slot as i32),
            conn: pool_end,
            exit: None,
        })
    }

    /// Drops what the root keeps of remote worker `slot`; its agent (by index), if it was
    /// known.
    fn forget(&self, slot: u32) -> Option<usize> {
        let mut hub = self.shared.hub();
        hub.causes.remove(&slot);
        let remote = hub.slots.remove(&slot)?;
        hub.load[remote.agent] -= 1;
        let _ = remote.bridge.shutdown(nix::sys::socket::Shutdown::Both);
        Some(remote.agent)
    }
}

impl Transport for Bridge {
    fn start(
        &self,
        n: usize,
        intro: Intro<'_>,
        each: &mut dyn FnMut(Result<Started>),
    ) -> Result<()> {
        // Every start is asked for before any answer is awaited: the agents fork in parallel.
        let asked: Vec<_> = (0..n).map(|_| self.ask(&intro)).collect();
        for a in asked {
            each(a.and_then(|a| self.finish(a)));
        }
        Ok(())
    }

    fn stop_now(&self, id: Pid) {
        let slot = id.as_raw() as u32;
        let agent = self.shared.hub().slots.get(&slot).map(|r| r.agent);
        if let Some(agent) = agent {
            let _ = self.send(agent, &Frame::Stop { slot });
        }
    }

    fn release(&self, gone: &[(Pid, bool)]) {
        for &(id, kill_first) in gone {
            let slot = id.as_raw() as u32;
            if let Some(agent) = self.forget(slot) {
                let _ = self.send(agent, &Frame::Release { slot, kill_first });
            }
        }
    }

    fn exit_cause(&self, id: Pid) -> ExitCause {
        let slot = id.as_raw() as u32;
        self.shared
            .hub()
            .causes
            .remove(&slot)
            .unwrap_or(ExitCause::Unknown)
    }

    fn keeps_logs(&self) -> bool {
        true
    }

    /// The agent hands a released worker to its fork server.
    fn reaps_on_its_own(&self) -> bool {
        true
    }
}

/// Forwards what the pool sends remote worker `slot` to its agent, until the pool closes its
/// end (or the worker is gone). A result log's descriptor stays here: the agent makes its
/// own, and mirrors it back if the worker dies. Other descriptors cannot cross.
fn uplink(shared: &Shared, slot: u32, agent: usize, bridge: &crate::wire::RawConn) {
    let peer = shared.agents[agent];
    while let Ok(mut m) = bridge.recv(None) {
        if m.kind == LOG
            && m.fds.len() == 1
            && let Some(remote) = shared.hub().slots.get_mut(&slot)
        {
            remote.log = m.fds.pop();
        }
        let frame = Frame::Msg {
            slot,
            kind: m.kind,
            bytes: &m.bytes,
        };
        if shared.link.send(peer, &frame.encode()).is_err() {
            break;
        }
    }
}
