//! Turning the user's arguments into encoded chunks of tasks.

use super::state::TaskJob;
use crate::codec;
use crate::error::Result;
use crate::protocol;
use serde::Serialize;

/// Encodes up to `chunksize` items from `items` into one job starting at batch index
/// `index`; `None` when `items` is exhausted.
pub(crate) fn next_chunk<A: Serialize>(
    items: &mut impl Iterator<Item = A>,
    call: usize,
    index: usize,
    chunksize: usize,
) -> Result<Option<TaskJob>> {
    let mut job = TaskJob {
        batch: u64::MAX,
        index,
        call,
        n: 0,
        items: Vec::new(),
        fds: Vec::new(),
        timeout_ms: None,
    };
    for args in items.take(chunksize) {
        let at = protocol::start_item(&mut job.items);
        let fds = codec::encode_into(&args, &mut job.items)?;
        protocol::finish_item(&mut job.items, at, fds.len());
        job.fds.extend(fds);
        job.n += 1;
    }
    Ok((job.n > 0).then_some(job))
}

/// Encodes every item, in chunks of `chunksize`; returns the jobs and the item count.
pub(crate) fn all_chunks<A: Serialize>(
    items: impl IntoIterator<Item = A>,
    call: usize,
    chunksize: usize,
) -> Result<(Vec<TaskJob>, usize)> {
    let mut items = items.into_iter();
    let mut jobs = Vec::new();
    let mut count = 0;
    while let Some(job) = next_chunk(&mut items, call, count, chunksize)? {
        count += job.n as usize;
        jobs.push(job);
    }
    Ok((jobs, count))
}
