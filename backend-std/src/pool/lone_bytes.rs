//! A task whose one argument is a large byte buffer the caller hands over (a `Vec<u8>`,
//! `serde_bytes::ByteBuf` or `String`): its job takes the buffer as it is instead of
//! encoding a copy of it. The encoding of such an argument is its length, then its bytes;
//! the job holds that length prefix (with the item's head) and the caller's buffer apart
//! (`jobs::Tailed`). A worker lent the job (`far_jobs.rs`) reads the buffer straight from it,
//! so submitting 64 MiB writes no fresh memory in the caller; where the job must go on a
//! socket it is joined into one copy then.
//!
//! Only these owned types qualify: their bytes are the value's own, which no one else can
//! change while the job holds them (a value whose `Serialize` hands out other bytes, or
//! bytes behind a lock, is encoded as any other).

use super::jobs::{Items, Tailed, TaskJob};
use crate::protocol::{self, RUN_FAR_FROM};
use crate::sys::same_type::{cast_into, cast_ref};
use crate::wire::DEFAULT_MAX_MESSAGE;
use serde_bytes::ByteBuf;
use std::sync::Arc;

/// The most a job's head, its item's head and a length prefix take.
const MOST_HEAD: usize = protocol::JOB_HEAD + 5 + 10;

/// The job of one task (of `call`, index 0) on `args`, taking their buffer, when `args` is
/// one `Vec<u8>`, `ByteBuf` or `String` of [`RUN_FAR_FROM`] bytes or more; else `args`.
pub(crate) fn lone_bytes_job<A>(args: A, call: usize) -> Result<TaskJob, A> {
    let len = cast_ref::<(Vec<u8>,), A>(&args)
        .map(|(v,)| v.len())
        .or_else(|| cast_ref::<(ByteBuf,), A>(&args).map(|(b,)| b.len()))
        .or_else(|| cast_ref::<(String,), A>(&args).map(|(s,)| s.len()));
    // One too large for a message goes the usual way, which fails it as the caller's
    // error (`encode::next_chunk`).
    let fits = |len: usize| len + MOST_HEAD <= DEFAULT_MAX_MESSAGE;
    if len.is_none_or(|len| len < RUN_FAR_FROM || !fits(len)) {
        return Err(args);
    }
    let bytes = cast_into::<(Vec<u8>,), A>(args)
        .map(|(v,)| v)
        .or_else(|a| cast_into::<(ByteBuf,), A>(a).map(|(b,)| b.into_vec()))
        .or_else(|a| cast_into::<(String,), A>(a).map(|(s,)| s.into_bytes()))?;
    // What encoding the argument writes before its bytes: the item's head, then the
    // length (a varint, as postcard writes it).
    let prefix = postcard::to_allocvec(&bytes.len()).unwrap_or_default();
    let mut head = Vec::with_capacity(5 + prefix.len());
    let at = protocol::start_item(&mut head);
    head.extend_from_slice(&prefix);
    let item_len = (head.len() - at - 5 + bytes.len()) as u32;
    head[at..at + 4].copy_from_slice(&item_len.to_le_bytes());
    Ok(TaskJob {
        index: 0,
        call,
        n: 1,
        items: Items::Tailed(Arc::new(Tailed::new(head, bytes))),
        fds: Vec::new(),
        timeout_ms: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::jobs::LentItems;

    /// The job's item as encoding writes it: the item's head, then the argument.
    fn encoded<A: serde::Serialize>(args: &A) -> Vec<u8> {
        let mut items = Vec::new();
        let at = protocol::start_item(&mut items);
        let fds = crate::codec::encode_into(args, &mut items).unwrap();
        protocol::finish_item(&mut items, at, fds.len());
        items
    }

    #[test]
    fn a_lone_large_byte_buffer_is_taken_as_it_is() {
        let len = RUN_FAR_FROM + 3;
        let v: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let want = encoded(&(v.clone(),));
        let at = v.as_ptr();
        let mut job = lone_bytes_job((v,), 7).unwrap();
        assert!(matches!(job.items, Items::Tailed(_)), "not held apart");
        let lent = LentItems::of(&mut job.items);
        let (head, tail) = lent.parts();
        assert_eq!((tail.as_ptr(), job.items.len(), job.n, job.call), (at, want.len(), 1, 7));
        assert!([head, tail].concat() == want && *job.items == want);
        let text = "é".repeat(len / 2);
        let want = encoded(&(text.clone(),));
        assert!(*lone_bytes_job((text,), 7).unwrap().items == want);
        let bytes = ByteBuf::from(vec![3u8; len]);
        let want = encoded(&(bytes.clone(),));
        let mut items = lone_bytes_job((bytes,), 7).unwrap().items;
        assert!(*LentItems::of(&mut items).whole() == want);
    }

    #[test]
    fn anything_else_is_handed_back() {
        let small = vec![1u8; RUN_FAR_FROM - 1];
        assert_eq!(lone_bytes_job((small.clone(),), 0).err(), Some((small,)));
        let two = (vec![1u8; RUN_FAR_FROM], 5u8);
        assert!(lone_bytes_job(two, 0).is_err());
        let wide = (vec![1u16; RUN_FAR_FROM],);
        assert!(lone_bytes_job(wide, 0).is_err());
        assert!(lone_bytes_job(vec![1u8; RUN_FAR_FROM], 0).is_err(), "not in a tuple");
        // Too large for a message: left to the usual path, which fails it (the pages of
        // a zeroed allocation are never touched here).
        let huge = (vec![0u8; DEFAULT_MAX_MESSAGE],);
        assert!(lone_bytes_job(huge, 0).is_err());
    }
}
