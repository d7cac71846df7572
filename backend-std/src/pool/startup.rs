//! Starting a pool: the first workers, their initializer, the driver thread; and undoing
//! all of it when any step fails.

use super::Pool;
use super::deliveries::Deliveries;
use super::driver::Inner;
use super::driver_threads;
use super::departures::Loss;
use super::state::State;
use super::transport::Init;
use super::transport::Transport;
use crate::error::{Error, Result};
use crate::protocol::READY;
use forkpool_core::Config;
use std::sync::Arc;
use std::time::Duration;

impl Pool {
    pub(crate) fn start(
        config: Config,
        init: Option<Init>,
        kill_grace: Duration,
        interrupt: bool,
        transport: Box<dyn Transport>,
    ) -> Result<Self> {
        let inner = Arc::new(Inner::new(State::new(
            config, init, kill_grace, interrupt, transport,
        )?)?);
        // The lock is taken before the driver thread starts, so the driver waits until
        // every first worker is ready (or the start failed) before it touches a socket.
        // The workers are asked for first: the thread starts while they boot.
        let (ready, released) = {
            let mut st = inner.lock_state();
            let mut out = Deliveries::new();
            st.pump(&mut out);
            st.start_here(&mut out);
            let released = match driver_threads::drive(Arc::clone(&inner)) {
                Ok(r) => r,
                Err(source) => {
                    st.abandon();
                    return Err(Error::Io {
                        op: "spawn the driver thread",
                        source,
                    });
                }
            };
            let ready = Self::await_ready(&mut st, &mut out);
            if ready.is_err() {
                st.abandon();
            }
            (ready, released)
        };
        if let Err(e) = ready {
            // The driver finds nothing left to do and lets the pool go.
            released.wait();
            return Err(e);
        }
        Ok(Self {
            inner,
            released,
            processes: config.workers,
            home: crate::owner::Home::here(),
        })
    }

    /// Waits for each first worker's answer to its initializer (they were started). A
    /// failed start is retried after its back-off, until the restart limit breaks the pool.
    ///
    /// Every start must have succeeded; without an initializer, only the first worker's
    /// answer is waited for: what could fail every worker once started (taking the owner's
    /// identity) has then shown, and a later worker that dies before it answers is a failed
    /// start, replaced as one. The driver takes the others' answers, so the first task runs
    /// while they boot.
    fn await_ready(st: &mut State, out: &mut Deliveries) -> Result<()> {
        let mut answered = false;
        let failed = |st: &State, fallback: &str| Error::InitializerFailed {
            message: st
                .last_spawn_error()
                .map_or(fallback.to_owned(), |f| f.message.clone()),
        };
        for i in 0..st.slots.len() {
            loop {
                let Some(conn) = st.slots[i].as_ref().map(|s| Arc::clone(&s.conn)) else {
                    // Its start failed (or its worker died): retried now or after the
                    // back-off, until the restart limit breaks the pool.
                    if !st.sched.is_broken() {
                        if let Some(wait) = st.until_next_deadline() {
                            std::thread::sleep(wait);
                        }
                        st.pump(out);
                        st.start_here(out);
                        if st.slots[i].is_some() || st.until_next_deadline().is_some() {
                            continue;
                        }
                    }
                    return Err(st.broken_error());
                };
                if answered && st.init.is_none() {
                    break;
                }
                match conn.recv(None) {
                    Ok(m) if m.kind == READY => {
                        st.on_message(i, m);
                        answered = true;
                        break;
                    }
                    Ok(m) => {
                        st.on_message(i, m);
                        return Err(failed(st, "unknown"));
                    }
                    Err(e) => {
                        // Starting up, nobody else waits on the lock: the worker is
                        // collected here.
                        let died = matches!(e, Error::Disconnected);
                        let loss = match e {
                            Error::Disconnected => Loss::Died(st.exit_cause_of(i)),
                            e => Loss::broke(e),
                        };
                        st.lose(i, loss);
                        if died && st.init.is_none() {
                            // Killed before it could answer (nothing of the pool's ran in
                            // it): a failed start, replaced as one, within the restart
                            // limit, as a worker that dies later is.
                            continue;
                        }
                        return Err(failed(st, "worker died"));
                    }
                }
            }
        }
        Ok(())
    }
}
