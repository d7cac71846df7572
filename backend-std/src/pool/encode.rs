//! Turning the user's arguments into encoded chunks of tasks.

use super::jobs::{INLINE, Items, TaskJob};
use crate::codec;
use crate::error::Error;
use crate::protocol;
use crate::wire::DEFAULT_MAX_MESSAGE;
use serde::Serialize;

/// Largest scratch buffer a thread keeps for the next chunk it encodes.
const SCRATCH_KEPT: usize = 64 << 10;

thread_local! {
    /// Where this thread encodes chunks (see [`next_chunk`]).
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Most bytes reserved ahead for a chunk from its first item's size.
const MAX_RESERVE: usize = 16 << 20;

/// The number of items `items` will yield, when its size hint says so exactly (a range,
/// a `Vec`, a slice's iterator, and adapters of them that keep the count).
pub(crate) fn exact_len(items: &impl Iterator) -> Option<usize> {
    match items.size_hint() {
        (low, Some(high)) if low == high => Some(low),
        _ => None,
    }
}

/// Input that could not be made into a job: the input items after those of `before` (the
/// chunk's items that encoded) fail, one error in `errors` each. Nothing else is lost: the
/// input goes on after them.
pub(crate) struct Unsendable {
    pub(crate) before: Option<TaskJob>,
    pub(crate) errors: Vec<Error>,
}

impl std::fmt::Debug for Unsendable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unsendable")
            .field("before", &self.before.as_ref().map(|j| j.n))
            .field("errors", &self.errors)
            .finish()
    }
}

/// A call that takes one result for all its tasks (`map`, `apply`) fails with the error.
impl From<Box<Unsendable>> for Error {
    fn from(u: Box<Unsendable>) -> Self {
        let first = u.errors.into_iter().next();
        first.unwrap_or(Error::Internal("an unsendable chunk without an error"))
    }
}

/// Encodes up to `chunksize` items from `items` into one job starting at batch index
/// `index`; `None` when `items` is exhausted. An item that cannot be encoded ends the
/// chunk before it: the error carries the items before as a job of their own.
pub(crate) fn next_chunk<A: Serialize>(
    items: &mut impl Iterator<Item = A>,
    call: usize,
    index: usize,
    chunksize: usize,
) -> std::result::Result<Option<TaskJob>, Box<Unsendable>> {
    // Encoded in this thread's scratch buffer: a chunk small enough to be held in place
    // (the common `apply_async` or chunk-1 `imap` case) then costs no allocation. Taken
    // out while in use (a user's `Serialize` could submit again from inside).
    let mut bytes = SCRATCH.take();
    bytes.clear();
    bytes.reserve(INLINE);
    let (mut fds, mut n) = (Vec::new(), 0);
    let mut failed = None;
    for args in items.take(chunksize) {
        let at = protocol::start_item(&mut bytes);
        let carried = match codec::encode_into(&args, &mut bytes) {
            Ok(carried) => carried,
            Err(e) => {
                bytes.truncate(at);
                failed = Some(e);
                break;
            }
        };
        protocol::finish_item(&mut bytes, at, carried.len());
        fds.extend(carried);
        n += 1;
        if n == 1 {
            // Room for the rest at the first item's size: no copying while the chunk grows.
            let rest = bytes.len().saturating_mul(chunksize - 1);
            bytes.reserve(rest.min(MAX_RESERVE));
        }
    }
    let job = (n > 0).then(|| TaskJob {
        index,
        call,
        n,
        items: Items::from_buffer(&mut bytes),
        fds,
        timeout_ms: None,
    });
    if bytes.capacity() <= SCRATCH_KEPT {
        SCRATCH.set(bytes);
    }
    // A job travels in one `RUN` message: one that could never be sent fails here, as the
    // caller's error, rather than breaking the worker it would be sent to.
    let too_large = job
        .as_ref()
        .map(|job| job.items.len() + protocol::JOB_HEAD)
        .filter(|&len| len > DEFAULT_MAX_MESSAGE);
    match (too_large, failed) {
        // Every item of the chunk fails: the ones that encoded, too large together, each
        // with that error, and the one that did not with its own.
        (Some(len), failed) => {
            let big = || Error::MessageTooLarge {
                len,
                max: DEFAULT_MAX_MESSAGE,
            };
            let errors = (0..n).map(|_| big()).chain(failed).collect();
            Err(Box::new(Unsendable {
                before: None,
                errors,
            }))
        }
        (None, Some(error)) => Err(Box::new(Unsendable {
            before: job,
            errors: vec![error],
        })),
        (None, None) => Ok(job),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chunk's items as encoded into a buffer of their own.
    fn expected<A: Serialize>(items: &[A]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for args in items {
            let at = protocol::start_item(&mut bytes);
            let fds = codec::encode_into(args, &mut bytes).unwrap();
            protocol::finish_item(&mut bytes, at, fds.len());
        }
        bytes
    }

    fn chunk<A: Serialize + Clone>(items: &[A]) -> TaskJob {
        next_chunk(&mut items.iter().cloned(), 0, 0, items.len())
            .unwrap()
            .unwrap()
    }

    #[test]
    fn chunks_of_every_size_encode_the_same_through_the_scratch_buffer() {
        let big: Vec<u64> = (0..1000).map(|x| x << 40).collect();
        for items in [&[1u64][..], &big, &[2], &[u64::MAX, 3], &big[..7]] {
            assert_eq!(&*chunk(items).items, expected(items).as_slice());
        }
        let strings = ["a".repeat(100), "b".to_owned()];
        assert_eq!(&*chunk(&strings).items, expected(&strings).as_slice());
        assert_eq!(&*chunk(&strings[1..]).items, expected(&strings[1..]).as_slice());
    }

    /// Submits a chunk of its own from inside its `Serialize`, as a user's impl could.
    #[derive(Clone)]
    struct Nested(u64);

    impl Serialize for Nested {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let inner = chunk(&[self.0 + 1]);
            assert_eq!(&*inner.items, expected(&[self.0 + 1]).as_slice());
            s.serialize_u64(self.0)
        }
    }

    #[test]
    fn a_chunk_encoded_while_another_is_being_encoded_leaves_both_whole() {
        let outer = chunk(&[Nested(5), Nested(9)]);
        assert_eq!(&*outer.items, expected(&[5u64, 9]).as_slice());
    }

    /// Serializes as a `u64`, unless it is `u64::MAX`.
    #[derive(Clone)]
    struct Picky(u64);

    impl Serialize for Picky {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            if self.0 == u64::MAX {
                return Err(serde::ser::Error::custom("not this one"));
            }
            s.serialize_u64(self.0)
        }
    }

    /// An item that cannot be encoded ends its chunk: the items before it come back as a
    /// job of their own, the error stands for it alone, and the input goes on after it.
    #[test]
    fn an_item_that_cannot_be_encoded_ends_its_chunk_and_stands_alone() {
        let mut input = [1, 2, u64::MAX, 4, 5].into_iter().map(Picky);
        let Err(failed) = next_chunk(&mut input, 0, 10, 4) else {
            panic!("it encoded")
        };
        let before = failed.before.as_ref().unwrap();
        assert_eq!((before.index, before.n), (10, 2));
        assert_eq!(&*before.items, expected(&[1u64, 2]).as_slice());
        assert!(matches!(&failed.errors[..], [Error::Encode(m)] if m == "not this one"));
        let rest = next_chunk(&mut input, 0, 13, 4).unwrap().unwrap();
        assert_eq!(&*rest.items, expected(&[4u64, 5]).as_slice());
        // Failing first: no job before it.
        let mut input = [u64::MAX, 7].into_iter().map(Picky);
        assert!(matches!(next_chunk(&mut input, 0, 0, 4), Err(f) if f.before.is_none()));
    }
}
