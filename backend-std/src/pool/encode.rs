//! Turning the user's arguments into encoded chunks of tasks.

use super::jobs::{Items, TaskJob};
use crate::codec;
use crate::error::{Error, Result};
use crate::protocol;
use crate::wire::DEFAULT_MAX_MESSAGE;
use serde::Serialize;

/// Bytes a chunk's buffer starts with.
const FIRST_ITEM: usize = 32;

/// Most bytes reserved ahead for a chunk from its first item's size.
const MAX_RESERVE: usize = 16 << 20;

/// Encodes up to `chunksize` items from `items` into one job starting at batch index
/// `index`; `None` when `items` is exhausted.
pub(crate) fn next_chunk<A: Serialize>(
    items: &mut impl Iterator<Item = A>,
    call: usize,
    index: usize,
    chunksize: usize,
) -> Result<Option<TaskJob>> {
    // Room for a small item and its head from the start: a chunk of one small item (the
    // common `apply_async` or chunk-1 `imap` case) is then allocated once, not grown.
    let (mut bytes, mut fds, mut n) = (Vec::with_capacity(FIRST_ITEM), Vec::new(), 0);
    for args in items.take(chunksize) {
        let at = protocol::start_item(&mut bytes);
        let carried = codec::encode_into(&args, &mut bytes)?;
        protocol::finish_item(&mut bytes, at, carried.len());
        fds.extend(carried);
        n += 1;
        if n == 1 {
            // Room for the rest at the first item's size: no copying while the chunk grows.
            let rest = bytes.len().saturating_mul(chunksize - 1);
            bytes.reserve(rest.min(MAX_RESERVE));
        }
    }
    let job = TaskJob {
        index,
        call,
        n,
        items: Items::Own(bytes),
        fds,
        timeout_ms: None,
    };
    // A job travels in one `RUN` message: one that could never be sent fails here, as the
    // caller's error, rather than breaking the worker it would be sent to.
    let len = job.items.len() + protocol::JOB_HEAD;
    if len > DEFAULT_MAX_MESSAGE {
        return Err(Error::MessageTooLarge {
            len,
            max: DEFAULT_MAX_MESSAGE,
        });
    }
    Ok((job.n > 0).then_some(job))
}
