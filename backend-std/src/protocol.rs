//! The messages between a pool's driver and its workers, in a small fixed binary layout
//! (results are often large: their bytes are not copied into a second encoding).
//!
//! | kind | direction | payload |
//! |---|---|---|
//! | `INIT` | to worker | `call: u64` (0 = no initializer), initializer arguments |
//! | `RUN` | to worker | `first: u64`, `call: u64`, `n: u32`, n x (`len: u32`, `fds: u8`, args) |
//! | `EXIT` | to worker | empty |
//! | `READY` | from worker | empty |
//! | `INIT_FAILED` | from worker | UTF-8 message |
//! | `DONE` | from worker | `seq: u64`, `status: u8`, result bytes or UTF-8 message |

use crate::error::{Error, Result};
use crate::task::CallResult;
use std::os::fd::OwnedFd;

pub(crate) const INIT: u8 = 1;
pub(crate) const RUN: u8 = 2;
pub(crate) const EXIT: u8 = 3;
pub(crate) const READY: u8 = 10;
pub(crate) const INIT_FAILED: u8 = 11;
pub(crate) const DONE: u8 = 12;

/// A task's answer as the driver receives it.
pub(crate) enum Answer {
    Ok(Vec<u8>, Vec<OwnedFd>),
    Panicked(String),
    Encode(String),
    Decode(String),
}

/// One item of a `RUN` message, parsed.
pub(crate) struct RunItem<'a> {
    pub args: &'a [u8],
    pub fds: usize,
}

fn bad(what: &str) -> Error {
    Error::Protocol(format!("malformed {what} message"))
}

fn take<'a>(b: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8]> {
    if b.len() < n {
        return Err(bad(what));
    }
    let (head, tail) = b.split_at(n);
    *b = tail;
    Ok(head)
}

fn take_u64(b: &mut &[u8], what: &str) -> Result<u64> {
    Ok(u64::from_le_bytes(
        take(b, 8, what)?.try_into().map_err(|_| bad(what))?,
    ))
}

fn take_u32(b: &mut &[u8], what: &str) -> Result<u32> {
    Ok(u32::from_le_bytes(
        take(b, 4, what)?.try_into().map_err(|_| bad(what))?,
    ))
}

pub(crate) fn encode_init(call: usize, args: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + args.len());
    v.extend_from_slice(&(call as u64).to_le_bytes());
    v.extend_from_slice(args);
    v
}

pub(crate) fn decode_init(mut b: &[u8]) -> Result<(usize, &[u8])> {
    let call = take_u64(&mut b, "INIT")? as usize;
    Ok((call, b))
}

/// Appends one item (its arguments and descriptor count) to a `RUN` message being built.
pub(crate) fn push_item(buf: &mut Vec<u8>, args: &[u8], fds: usize) {
    buf.extend_from_slice(&(args.len() as u32).to_le_bytes());
    buf.push(fds as u8);
    buf.extend_from_slice(args);
}

/// The head of a `RUN` message; append `n` items with [`push_item`] to `items`.
pub(crate) fn encode_run(first: u64, call: usize, n: u32, items: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(20 + items.len());
    v.extend_from_slice(&first.to_le_bytes());
    v.extend_from_slice(&(call as u64).to_le_bytes());
    v.extend_from_slice(&n.to_le_bytes());
    v.extend_from_slice(items);
    v
}

pub(crate) fn decode_run(mut b: &[u8]) -> Result<(u64, usize, Vec<RunItem<'_>>)> {
    let first = take_u64(&mut b, "RUN")?;
    let call = take_u64(&mut b, "RUN")? as usize;
    let n = take_u32(&mut b, "RUN")?;
    let mut items = Vec::with_capacity((n as usize).min(b.len() / 5 + 1));
    for _ in 0..n {
        let len = take_u32(&mut b, "RUN")? as usize;
        let fds = usize::from(take(&mut b, 1, "RUN")?[0]);
        items.push(RunItem {
            args: take(&mut b, len, "RUN")?,
            fds,
        });
    }
    if !b.is_empty() {
        return Err(bad("RUN"));
    }
    Ok((first, call, items))
}

/// A `DONE` message for task `seq` and the descriptors to send with it.
pub(crate) fn encode_done(seq: u64, result: CallResult) -> (Vec<u8>, Vec<OwnedFd>) {
    let (status, body, fds) = match result {
        CallResult::Ok(bytes, fds) => (0u8, bytes, fds),
        CallResult::Panicked(m) => (1, m.into_bytes(), Vec::new()),
        CallResult::Encode(m) => (2, m.into_bytes(), Vec::new()),
        CallResult::Decode(m) => (3, m.into_bytes(), Vec::new()),
    };
    let mut v = Vec::with_capacity(9 + body.len());
    v.extend_from_slice(&seq.to_le_bytes());
    v.push(status);
    v.extend_from_slice(&body);
    (v, fds)
}

pub(crate) fn decode_done(mut bytes: Vec<u8>, fds: Vec<OwnedFd>) -> Result<(u64, Answer)> {
    let mut b = bytes.as_slice();
    let seq = take_u64(&mut b, "DONE")?;
    let status = take(&mut b, 1, "DONE")?[0];
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let answer = match status {
        0 => {
            bytes.drain(..9);
            Answer::Ok(bytes, fds)
        }
        1 => Answer::Panicked(text(b)),
        2 => Answer::Encode(text(b)),
        3 => Answer::Decode(text(b)),
        _ => return Err(bad("DONE")),
    };
    Ok((seq, answer))
}
