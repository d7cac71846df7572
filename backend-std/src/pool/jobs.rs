//! Jobs for one worker, gathered into one `RUN` message (see `outbox`).

pub(crate) use super::lone_bytes::Tailed;
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
    /// `lone_bytes.rs`).
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
