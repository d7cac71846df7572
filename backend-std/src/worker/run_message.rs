//! A worker's view of a `RUN` message: each job's head and its items' arguments, and the
//! one case where a task may consume the message (a lone large argument).

use crate::protocol::{Run, RunItems, RunJob};
use crate::task::Args;

/// A `RUN` message from this size on whose one job has one item hands that item its bytes
/// (see `codec/owned.rs`).
pub(super) const OWNED_FROM: usize = 1 << 20;

/// What a worker needs of a job besides its items.
pub(super) struct RunHead {
    pub first: u64,
    pub call: usize,
    pub tag: u64,
}

impl RunHead {
    /// A job's head and its items' arguments, borrowed from the message.
    pub(super) fn split<'a>(job: &RunJob<'a>) -> (Self, Items<'a>) {
        let head = Self {
            first: job.first,
            call: job.call,
            tag: job.tag,
        };
        (head, Items::Borrowed(job.items()))
    }
}

/// A job's items: each one's arguments and descriptor count.
pub(super) enum Items<'a> {
    /// Borrowed from the message.
    Borrowed(RunItems<'a>),
    /// The one task of a message it may consume.
    Lone(Option<(Args<'a>, usize)>),
}

impl<'a> Iterator for Items<'a> {
    type Item = (Args<'a>, usize);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Items::Borrowed(items) => items.next().map(|i| (Args::Borrowed(i.args), i.fds)),
            Items::Lone(item) => item.take(),
        }
    }
}

/// The head, argument range within `bytes` and descriptor count of the one task of a
/// `RUN` message, if it holds just one, and the message is large or (`tailed`) its
/// argument's byte string was read apart (`protocol::run_far`).
pub(super) fn lone(
    run: &Run<'_>,
    bytes: &[u8],
    tailed: bool,
) -> Option<(RunHead, std::ops::Range<usize>, usize)> {
    let [job] = &run.jobs[..] else { return None };
    if job.n != 1 {
        return None;
    }
    let item = job.items().next()?;
    if bytes.len() < OWNED_FROM && !tailed {
        return None;
    }
    let start = (item.args.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
    let head = RunHead {
        first: job.first,
        call: job.call,
        tag: job.tag,
    };
    Some((head, start..start + item.args.len(), item.fds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol;

    /// A `RUN` message of the given jobs, each with items of the given lengths.
    fn run_message(jobs: &[&[usize]]) -> Vec<u8> {
        let mut msg = Vec::new();
        for (k, lens) in jobs.iter().enumerate() {
            let mut items = Vec::new();
            for &len in *lens {
                let at = protocol::start_item(&mut items);
                items.extend(std::iter::repeat_n(7u8, len));
                protocol::finish_item(&mut items, at, 0);
            }
            protocol::push_job(&mut msg, (k as u64, 1, 2), lens.len() as u32, &items);
        }
        msg
    }

    #[test]
    fn only_a_lone_large_task_may_consume_its_message() {
        let msg = run_message(&[&[OWNED_FROM]]);
        let run = protocol::decode_run(&msg).unwrap();
        let (head, range, fds) = lone(&run, &msg, false).unwrap();
        assert_eq!((head.first, head.call, head.tag, fds), (0, 1, 2, 0));
        assert_eq!(range.len(), OWNED_FROM);
        assert!(msg[range].iter().all(|&b| b == 7));
        let shapes: [&[&[usize]]; 3] = [&[&[10]], &[&[OWNED_FROM, 1]], &[&[OWNED_FROM], &[1]]];
        for shape in shapes {
            let msg = run_message(shape);
            let run = protocol::decode_run(&msg).unwrap();
            assert!(lone(&run, &msg, false).is_none());
        }
    }
}
