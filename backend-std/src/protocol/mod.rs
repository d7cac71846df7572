//! The messages between a pool's driver and its workers, in a small fixed binary layout.
//! Several jobs travel in one `RUN` message and several results in one `DONE` message, so
//! tiny tasks cost a fraction of a system call each; every result still names its task.
//!
//! | kind | direction | payload |
//! |---|---|---|
//! | `INIT` | to worker | `call: u64` (0 = no initializer), `key: u64`, `tag: u64`, the owner's identity (`owner.rs`), initializer arguments |
//! | `RUN` | to worker | jobs: `first: u64`, `call: u64`, `tag: u64`, `n: u32`, n x (`len: u32`, `fds: u8`, args) |
//! | `EXIT` | to worker | empty |
//! | `READY` | from worker | empty |
//! | `INIT_FAILED` | from worker | UTF-8 message |
//! | `DONE` | from worker | result records and runs of results: see [`done`] |
//! | `DONE_FAR`, `FAR_TAKEN`, `FAR_REFUSED` | both | a large `DONE` read from the worker's memory: see [`far`] |
//! | `PIECE`, `DONE_SPLICED` | from worker | a result's large byte strings read from the worker's memory while it encodes them: see [`piece`] |
//! | `RUN_FAR`, `RUN_READ` | both | a large job read from the pool's memory: see [`run_far`] |
//!
//! Descriptors ride with the message, in the order of the items or results that own them
//! (after `INIT`'s working directory, when it carries one).
//!
//! Every function address travels with its tag ([`crate::owner::call_tag`] under the pool's
//! key, sent in `INIT`): a worker calls no address whose tag does not match.

mod batch;
mod done;
mod far;
mod fields;
mod lend;
mod log;
mod piece;
mod raw;
mod run_far;
#[cfg(test)]
pub(crate) use raw::run_of;

pub(crate) use batch::ResultBatch;
pub(crate) use done::{Answer, Raw, decode_done};
pub(crate) use far::{DONE_FAR, FAR_FROM, FAR_REFUSED, decode_offer};
#[cfg(test)]
pub(crate) use far::{offer, read_from, write_to};
#[cfg(test)]
pub(crate) use far::FAR_TAKEN;
pub(crate) use lend::{
    Written, answer, ask_to_write, lend, read_instead, read_offered, take_piece, write_bound,
};
#[cfg(test)]
pub(crate) use lend::written;
pub(crate) use log::{LOG_BYTES, ResultLog, salvage, stop_and_last_started};
pub(crate) use run_far::{
    NOT_ALLOWED, NOT_NOW, READ, RUN_FAR, RUN_FAR_FROM, RUN_READ, decode_run_far, encode_run_far,
    read_answer, read_run, resends,
};
pub(crate) use piece::{
    DONE_SPLICED, Lender, Offer, PIECE, PIECE_READ, decode_spliced, join, seal, unseal,
};
#[cfg(test)]
pub(crate) use piece::{PIECE_INTO, PIECE_WRITTEN};

use crate::error::Result;
use crate::owner::{Adopt, Owner, call_tag};
use fields::{take, take_u32, take_u64};

pub(crate) const INIT: u8 = 1;
pub(crate) const RUN: u8 = 2;
pub(crate) const EXIT: u8 = 3;
pub(crate) const READY: u8 = 10;
pub(crate) const INIT_FAILED: u8 = 11;
pub(crate) const DONE: u8 = 12;
/// A worker's result log (its descriptor), sent by the pool once the worker's jobs pipeline
/// (see `log.rs`).
pub(crate) const LOG: u8 = 13;

/// One item of a job in a `RUN` message.
pub(crate) struct RunItem<'a> {
    pub args: &'a [u8],
    pub fds: usize,
}

/// One job of a `RUN` message.
pub(crate) struct RunJob<'a> {
    pub first: u64,
    pub call: usize,
    /// The tag `call` came with, to check before calling it.
    pub tag: u64,
    /// How many items it has.
    pub n: u32,
    /// Its items' bytes, whole (checked by [`decode_run`]).
    items: &'a [u8],
}

impl<'a> RunJob<'a> {
    /// Its items, read from the message as they are iterated (nothing is allocated per
    /// item: a chunk of a million tasks would otherwise need a 24 MB list).
    pub(crate) fn items(&self) -> RunItems<'a> {
        RunItems { rest: self.items }
    }
}

/// The items of a [`RunJob`], in order.
pub(crate) struct RunItems<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for RunItems<'a> {
    type Item = RunItem<'a>;

    fn next(&mut self) -> Option<RunItem<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        // `decode_run` checked that the items are whole, so this never fails; if it did,
        // the job would end early rather than read out of bounds.
        take_item(&mut self.rest).ok()
    }
}

/// Takes one item (its head and arguments) from the front of `b`.
fn take_item<'a>(b: &mut &'a [u8]) -> Result<RunItem<'a>> {
    let len = take_u32(b, "RUN")? as usize;
    let fds = usize::from(take(b, 1, "RUN")?[0]);
    let args = take(b, len, "RUN")?;
    Ok(RunItem { args, fds })
}

/// A decoded `RUN` message: its jobs, each with its items' bytes.
pub(crate) struct Run<'a> {
    pub jobs: Vec<RunJob<'a>>,
}

/// What `INIT` tells a new worker.
pub(crate) struct InitMsg<'a> {
    /// The initializer (0: none).
    pub call: usize,
    /// The pool's key for call tags.
    pub key: u64,
    /// The initializer's tag.
    pub tag: u64,
    /// What to take over from the owner.
    pub adopt: Adopt,
    /// The initializer's encoded arguments.
    pub args: &'a [u8],
}

pub(crate) fn encode_init(call: usize, key: u64, owner: &Owner, args: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(64 + args.len());
    v.extend_from_slice(&(call as u64).to_le_bytes());
    v.extend_from_slice(&key.to_le_bytes());
    v.extend_from_slice(&call_tag(key, call).to_le_bytes());
    owner.encode(&mut v);
    v.extend_from_slice(args);
    v
}

pub(crate) fn decode_init(mut b: &[u8]) -> Result<InitMsg<'_>> {
    let call = take_u64(&mut b, "INIT")? as usize;
    let key = take_u64(&mut b, "INIT")?;
    let tag = take_u64(&mut b, "INIT")?;
    let adopt = Adopt::decode(&mut b).ok_or_else(|| fields::bad("INIT"))?;
    Ok(InitMsg {
        call,
        key,
        tag,
        adopt,
        args: b,
    })
}

/// Starts an item in a job body: a length placeholder and the descriptor count. Returns
/// where the item starts, for [`finish_item`].
pub(crate) fn start_item(buf: &mut Vec<u8>) -> usize {
    let at = buf.len();
    buf.extend_from_slice(&[0; 5]);
    at
}

/// Completes the item started at `at`, whose arguments were appended after it.
pub(crate) fn finish_item(buf: &mut [u8], at: usize, fds: usize) {
    let len = (buf.len() - at - 5) as u32;
    buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
    buf[at + 4] = fds as u8;
}

/// Bytes of a job's head in a `RUN` message: `first`, `call`, `tag`, `n`.
pub(crate) const JOB_HEAD: usize = 8 + 8 + 8 + 4;

/// Appends a job (head plus its encoded items) to a `RUN` message being built.
pub(crate) fn push_job(msg: &mut Vec<u8>, head: (u64, usize, u64), n: u32, items: &[u8]) {
    msg.extend_from_slice(&job_head(head, n));
    msg.extend_from_slice(items);
}

/// What comes before a job's items in a `RUN` message.
pub(crate) fn job_head((first, call, tag): (u64, usize, u64), n: u32) -> [u8; JOB_HEAD] {
    let mut head = [0; JOB_HEAD];
    head[..8].copy_from_slice(&first.to_le_bytes());
    head[8..16].copy_from_slice(&(call as u64).to_le_bytes());
    head[16..24].copy_from_slice(&tag.to_le_bytes());
    head[24..].copy_from_slice(&n.to_le_bytes());
    head
}

/// Most jobs of a `RUN` message room is made for before decoding it.
const MAX_JOBS_RESERVED: usize = 256;

/// Decodes a `RUN` message, checking that every job and item in it is whole.
pub(crate) fn decode_run(mut b: &[u8]) -> Result<Run<'_>> {
    // A job takes at least its head and one item's.
    let most = (b.len() / (JOB_HEAD + 5)).min(MAX_JOBS_RESERVED);
    let mut run = Run {
        jobs: Vec::with_capacity(most),
    };
    while !b.is_empty() {
        let first = take_u64(&mut b, "RUN")?;
        let call = take_u64(&mut b, "RUN")? as usize;
        let tag = take_u64(&mut b, "RUN")?;
        let n = take_u32(&mut b, "RUN")?;
        let start = b;
        for _ in 0..n {
            take_item(&mut b)?;
        }
        run.jobs.push(RunJob {
            first,
            call,
            tag,
            n,
            items: &start[..start.len() - b.len()],
        });
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_round_trip_and_truncation() {
        let mut items = Vec::new();
        let at = start_item(&mut items);
        items.extend_from_slice(b"abc");
        finish_item(&mut items, at, 0);
        let mut msg = Vec::new();
        push_job(&mut msg, (5, 99, 1), 1, &items);
        push_job(&mut msg, (6, 98, 2), 1, &items);
        let run = decode_run(&msg).unwrap();
        assert_eq!(run.jobs.len(), 2);
        let job = &run.jobs[1];
        assert_eq!(
            (job.first, job.call, job.tag, job.items().next().unwrap().args),
            (6, 98, 2, &b"abc"[..])
        );
        assert_eq!(run.jobs[0].items().count(), 1);
        for cut in 0..msg.len() {
            let _ = decode_run(&msg[..cut]);
        }
        assert!(decode_run(&msg[..msg.len() - 1]).is_err());
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Arbitrary bytes never panic the message decoders.
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_run(&bytes);
            let _ = decode_done(bytes.clone(), Vec::new());
            let _ = decode_init(&bytes);
        }
    }
}
