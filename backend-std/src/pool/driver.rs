//! The driver thread: moves bytes between worker sockets and the scheduler, in the manner
//! of quinn's endpoint driver (read, `handle_*`, drain every `poll_*`, write, loop). It
//! never forks (the fork server does) and runs user callbacks outside the pool's lock.

use super::sink::lock;
use super::state::{Deliveries, State};
use crate::error::Error;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::eventfd::{EfdFlags, EventFd};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

/// What the driver thread and the pool's users share.
pub(crate) struct Inner {
    pub state: Mutex<State>,
    wake: EventFd,
}

impl Inner {
    pub(crate) fn new(state: State) -> crate::error::Result<Self> {
        let wake = EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(|e| Error::io("eventfd", e))?;
        Ok(Self {
            state: Mutex::new(state),
            wake,
        })
    }

    /// Wakes the driver so it looks at the state again.
    pub(crate) fn wake(&self) {
        let _ = self.wake.write(1);
    }
}

/// Hands results to their sinks (outside the lock: sinks may run user callbacks).
pub(crate) fn deliver(out: &mut Deliveries) {
    for (sink, index, result) in out.drain(..) {
        sink.deliver(index, result);
    }
}

/// The driver loop; returns when the pool is finished or terminated.
pub(crate) fn run(inner: Arc<Inner>) {
    let mut out = Deliveries::new();
    loop {
        let watched: Vec<(usize, Arc<crate::wire::RawConn>)> = {
            let mut st = lock(&inner.state);
            st.pump(&mut out);
            if st.finished() {
                drop(st);
                deliver(&mut out);
                return;
            }
            st.slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.as_ref().map(|s| (i, Arc::clone(&s.conn))))
                .collect()
        };
        deliver(&mut out);

        let mut fds: Vec<PollFd> = watched
            .iter()
            .map(|(_, c)| PollFd::new(c.as_fd(), PollFlags::POLLIN))
            .collect();
        fds.push(PollFd::new(inner.wake.as_fd(), PollFlags::POLLIN));
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
        }
        let ready: Vec<bool> = fds.iter().map(|f| f.any().unwrap_or(true)).collect();
        drop(fds);
        let _ = inner.wake.read();

        let mut st = lock(&inner.state);
        for ((i, conn), readable) in watched.iter().zip(ready) {
            let same = st.slots[*i]
                .as_ref()
                .is_some_and(|s| Arc::ptr_eq(&s.conn, conn));
            if !readable || !same {
                continue;
            }
            loop {
                match conn.try_recv() {
                    Ok(Some(m)) => st.on_message(*i, m),
                    Ok(None) => break,
                    Err(Error::Disconnected) => {
                        st.lose(*i, None);
                        break;
                    }
                    Err(e) => {
                        st.lose(*i, Some(e));
                        break;
                    }
                }
                if !st.slots[*i]
                    .as_ref()
                    .is_some_and(|s| Arc::ptr_eq(&s.conn, conn))
                {
                    break;
                }
            }
        }
    }
}
