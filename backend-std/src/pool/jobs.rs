//! Jobs for one worker, gathered into one `RUN` message (see `outbox`).

use crate::wire::MAX_FDS;
use std::ops::Deref;
use std::os::fd::OwnedFd;
use std::sync::Arc;

/// Jobs for one worker, encoded as one `RUN` message.
#[derive(Default)]
pub(crate) struct Jobs {
    pub(super) msg: Vec<u8>,
    pub(super) fds: Vec<OwnedFd>,
    pub(super) count: usize,
}

impl Jobs {
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether `more` fits in the same message.
    pub(super) fn fits(&self, msg_len: usize, fds: usize, limit: usize) -> bool {
        self.is_empty() || (self.msg.len() + msg_len <= limit && self.fds.len() + fds <= MAX_FDS)
    }

    pub(super) fn append(&mut self, more: Jobs) {
        self.msg.extend_from_slice(&more.msg);
        self.fds.extend(more.fds);
        self.count += more.count;
    }
}

/// A chunk of tasks of one batch, encoded for a `RUN` message.
pub(crate) struct TaskJob {
    /// The index of its first item in its call.
    pub index: usize,
    pub call: usize,
    pub n: u32,
    pub items: Items,
    pub fds: Vec<OwnedFd>,
    /// Longest the job may run once started, in milliseconds.
    pub timeout_ms: Option<u64>,
}

/// A job's encoded items: owned, or shared with the `RUN` message that carries a large job
/// as it is instead of a copy (see `outbox`), so a copy kept to run it again costs nothing.
pub(crate) enum Items {
    Own(Vec<u8>),
    Shared(Arc<Vec<u8>>),
}

impl Items {
    /// The items as a shared buffer, made shared if they were owned.
    pub(crate) fn share(&mut self) -> Arc<Vec<u8>> {
        let shared = match std::mem::replace(self, Items::Own(Vec::new())) {
            Items::Own(v) => Arc::new(v),
            Items::Shared(a) => a,
        };
        *self = Items::Shared(Arc::clone(&shared));
        shared
    }
}

impl Deref for Items {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Items::Own(v) => v,
            Items::Shared(a) => a,
        }
    }
}
