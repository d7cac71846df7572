//! Jobs for one worker, gathered into one `RUN` message (see `outbox`).

use crate::wire::MAX_FDS;
use std::os::fd::OwnedFd;

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
    pub items: Vec<u8>,
    pub fds: Vec<OwnedFd>,
    /// Longest the job may run once started, in milliseconds.
    pub timeout_ms: Option<u64>,
}
