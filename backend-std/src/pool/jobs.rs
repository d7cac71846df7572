//! Jobs for one worker, gathered into one `RUN` message (see `outbox`).

use crate::protocol::JOB_HEAD;
use crate::wire::MAX_FDS;
use std::ops::Deref;
use std::os::fd::OwnedFd;
use std::sync::{Arc, OnceLock};

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

/// Bytes of encoded items a job holds in place, without an allocation of their own: one
/// small item with its head (a chunk-1 `imap` or an `apply_async` of a number or two).
pub(crate) const INLINE: usize = 30;

/// A job's encoded items: in place when small, owned, or shared with the `RUN` message that
/// carries a large job as it is instead of a copy (see `outbox`), so a copy kept to run it
/// again costs nothing.
pub(crate) enum Items {
    Inline(u8, [u8; INLINE]),
    Own(Vec<u8>),
    Shared(Arc<Vec<u8>>),
    /// One task whose argument is the caller's own byte buffer, taken as it is (see
    /// [`Tailed`]).
    Tailed(Arc<Tailed>),
}

impl Items {
    /// `bytes` as items: copied in place when they fit (`bytes` is then left as it was,
    /// for the caller to use again), else taken.
    pub(crate) fn from_buffer(bytes: &mut Vec<u8>) -> Self {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= INLINE => {
                let mut inline = [0; INLINE];
                inline[..bytes.len()].copy_from_slice(bytes);
                Items::Inline(len, inline)
            }
            _ => Items::Own(std::mem::take(bytes)),
        }
    }

    /// The items' length in bytes (a tailed job's parts are not joined for it).
    pub(crate) fn len(&self) -> usize {
        match self {
            Items::Tailed(t) => t.len(),
            other => other.deref().len(),
        }
    }

    /// The items as a shared buffer, made shared if they were not.
    pub(crate) fn share(&mut self) -> Arc<Vec<u8>> {
        let shared = match std::mem::replace(self, Items::Own(Vec::new())) {
            Items::Inline(len, bytes) => Arc::new(bytes[..usize::from(len)].to_vec()),
            Items::Own(v) => Arc::new(v),
            Items::Shared(a) => a,
            // Sent whole on a socket: joined (a copy; lent to a worker, it is not).
            Items::Tailed(t) => Arc::new(t.to_vec()),
        };
        *self = Items::Shared(Arc::clone(&shared));
        shared
    }
}

impl Deref for Items {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Items::Inline(len, bytes) => &bytes[..usize::from(*len)],
            Items::Own(v) => v,
            Items::Shared(a) => a,
            Items::Tailed(t) => t.joined(),
        }
    }
}

/// One task's item whose argument's bytes are held apart from their head: the caller's
/// own buffer, which `apply` hands over as it is.
pub(crate) struct Tailed {
    /// The item's head and the argument's length prefix.
    head: Vec<u8>,
    /// The argument's bytes: the caller's buffer.
    tail: Vec<u8>,
    /// Head and tail joined, made on first use (a job sent on a socket).
    joined: OnceLock<Vec<u8>>,
}

impl Tailed {
    /// The item of `head` (its head and its argument's length prefix) and `tail`.
    pub(crate) fn new(head: Vec<u8>, tail: Vec<u8>) -> Self {
        Self {
            head,
            tail,
            joined: OnceLock::new(),
        }
    }

    /// The items' length: head and tail.
    pub(crate) fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    /// Head and tail as one buffer (a copy, made once and kept; for `Deref`).
    fn joined(&self) -> &[u8] {
        self.joined.get_or_init(|| self.to_vec())
    }

    /// Head and tail as one new buffer (a copy).
    fn to_vec(&self) -> Vec<u8> {
        [&self.head[..], &self.tail].concat()
    }
}

/// A job lent to a worker: its head, and its items, kept (and unchanged) until the worker
/// says it read them (see `protocol::run_far`).
pub(crate) type Lent = ([u8; JOB_HEAD], LentItems);

/// A job's items as lent to a worker (see `protocol::run_far`), kept until it has read them.
pub(crate) enum LentItems {
    Whole(Arc<Vec<u8>>),
    Tailed(Arc<Tailed>),
}

impl LentItems {
    /// The items lent for `items`: shared with the job as they are.
    pub(crate) fn of(items: &mut Items) -> Self {
        match items {
            Items::Tailed(t) => Self::Tailed(Arc::clone(t)),
            other => Self::Whole(other.share()),
        }
    }

    /// The items, or the part before the bytes held apart; and those bytes (empty if none).
    pub(crate) fn parts(&self) -> (&[u8], &[u8]) {
        match self {
            Self::Whole(w) => (w, &[]),
            Self::Tailed(t) => (&t.head, &t.tail),
        }
    }

    /// The items as one shared buffer, to send on a socket.
    pub(crate) fn whole(self) -> Arc<Vec<u8>> {
        match self {
            Self::Whole(w) => w,
            Self::Tailed(t) => Arc::new(t.to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_items_are_held_in_place_and_the_buffer_is_left_to_use_again() {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[7; INLINE]);
        let items = Items::from_buffer(&mut buf);
        assert!(matches!(items, Items::Inline(..)));
        assert_eq!(&*items, &[7; INLINE]);
        assert_eq!((buf.len(), buf.capacity()), (INLINE, 64));
    }

    #[test]
    fn larger_items_take_the_buffer() {
        let mut buf = vec![3; INLINE + 1];
        let items = Items::from_buffer(&mut buf);
        assert!(matches!(items, Items::Own(_)));
        assert_eq!(&*items, &[3; INLINE + 1]);
        assert_eq!(buf.capacity(), 0);
    }

    #[test]
    fn items_held_in_place_share_the_same_bytes() {
        let mut items = Items::from_buffer(&mut vec![1, 2, 3]);
        let shared = items.share();
        assert_eq!(shared.as_slice(), [1, 2, 3]);
        assert!(matches!(items, Items::Shared(_)));
        assert_eq!(&*items, [1, 2, 3]);
    }
}
