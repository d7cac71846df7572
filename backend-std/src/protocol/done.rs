//! The `DONE` message: how a worker reports results (built in `batch.rs`), and how the
//! driver reads them back.
//!
//! A message is a sequence of records, each `seq: u64`, `status: u8`, `len: u32`, `fds: u8`
//! and `len` bytes of body. A record is either
//! - one task's end (`status` a [`Status`]): its encoded value, or the text of its error, and
//!   the descriptors the value carries; or
//! - a *run* (`status` [`RUN_STATUS`]): `count: u32`, then `count` values of consecutive tasks
//!   of one job from `seq`, each `len: u32` and its bytes. A chunk whose tasks all succeed
//!   without descriptors is thus one record, which the scheduler releases as one run; a task
//!   that fails (or carries descriptors) ends the run and gets a record of its own, so every
//!   task keeps its own result and error.

use crate::error::{Error, Result};
use crate::task::Status;
use std::os::fd::OwnedFd;
use std::sync::Arc;

pub(crate) use super::raw::{Body, Raw};
use super::fields::{bad, take, take_u32, take_u64};

/// The record status of a run of values.
pub(crate) const RUN_STATUS: u8 = 0x80;

pub(crate) const RESULT_HEAD: usize = 14;

/// Most answers of a `DONE` message room is made for before decoding it.
const MAX_ANSWERS_RESERVED: usize = 256;

/// One record of a `DONE` message: a task's end, or a run of `count` values from `seq`.
pub(crate) struct Answer {
    pub seq: u64,
    pub count: usize,
    /// `None` for a run (all succeeded).
    pub status: Option<Status>,
    pub body: Body,
    pub fds: Vec<OwnedFd>,
    /// The end of the value, read apart from the message (see `piece.rs`): the body then
    /// holds the value's head (a run of one: without its length).
    pub tail: Option<Vec<u8>>,
}

impl Answer {
    /// The record as a result for the scheduler; `pid` is the worker's, for a panic.
    pub(crate) fn into_result(self, pid: u32) -> Result<Raw> {
        let text = || String::from_utf8_lossy(self.body.as_slice()).into_owned();
        if let Some(tail) = self.tail {
            // Only a plain value or a run of one value gets a tail.
            let mut head = self.body;
            if self.status.is_none() {
                head.start += 4;
            }
            return Ok(Raw::Spliced(head, tail));
        }
        match self.status {
            None => Ok(Raw::Run(self.body, self.count)),
            Some(Status::Ok) => Ok(Raw::One(self.body, self.fds)),
            Some(Status::Panicked) => {
                let (message, location, backtrace) = crate::panics::decode(self.body.as_slice());
                Err(Error::Panicked {
                    message,
                    pid,
                    location,
                    backtrace,
                })
            }
            Some(Status::Encode) => Err(Error::Encode(text())),
            Some(Status::Decode) => Err(Error::Decode(text())),
            Some(Status::Refused) => Err(Error::Protocol(text())),
            Some(Status::TooLarge) => {
                let b = self.body.as_slice();
                let at = |k: usize| {
                    b.get(k..k + 8)
                        .and_then(|x| <[u8; 8]>::try_from(x).ok())
                        .map_or(0, |x| u64::from_le_bytes(x) as usize)
                };
                Err(Error::MessageTooLarge {
                    len: at(0),
                    max: at(8),
                })
            }
        }
    }
}

/// Reads a `DONE` message's records; a run's values are checked to lie within its body.
pub(crate) fn decode_done(bytes: Vec<u8>, fds: Vec<OwnedFd>) -> Result<Vec<Answer>> {
    let buf = Arc::new(bytes);
    let total = buf.len();
    let mut b = buf.as_slice();
    let mut fds = fds.into_iter();
    // An answer takes at least its head: room for as many as could fit, within reason.
    let mut out = Vec::with_capacity((total / RESULT_HEAD).min(MAX_ANSWERS_RESERVED));
    while !b.is_empty() {
        let seq = take_u64(&mut b, "DONE")?;
        let status = take(&mut b, 1, "DONE")?[0];
        let len = take_u32(&mut b, "DONE")? as usize;
        let nfds = usize::from(take(&mut b, 1, "DONE")?[0]);
        let mut body = take(&mut b, len, "DONE")?;
        let end = total - b.len();
        let (status, count, start) = if status == RUN_STATUS {
            let count = take_u32(&mut body, "DONE")? as usize;
            let start = end - body.len();
            for _ in 0..count {
                let n = take_u32(&mut body, "DONE")? as usize;
                take(&mut body, n, "DONE")?;
            }
            if count == 0 || nfds != 0 || !body.is_empty() {
                return Err(bad("DONE"));
            }
            (None, count, start)
        } else {
            let status = Status::from_u8(status).ok_or_else(|| bad("DONE"))?;
            (Some(status), 1, end - len)
        };
        let mine: Vec<OwnedFd> = fds.by_ref().take(nfds).collect();
        if mine.len() != nfds {
            return Err(bad("DONE"));
        }
        out.push(Answer {
            seq,
            count,
            status,
            body: Body {
                buf: Arc::clone(&buf),
                start,
                end,
            },
            fds: mine,
            tail: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::batch::ResultBatch;
    use super::*;
    use crate::task::Output;

    fn ok(bytes: &'static [u8]) -> impl FnOnce(&mut Output<'_>) -> Status {
        move |out| {
            out.bytes.extend_from_slice(bytes);
            Status::Ok
        }
    }

    fn values(raw: Raw) -> Vec<Result<u8>> {
        let mut v = Vec::new();
        raw.decode_each(|r| v.push(r));
        v
    }

    #[test]
    fn golden_single_record_and_run() {
        let mut batch = ResultBatch::default();
        batch.push(7, usize::MAX, |out| {
            out.bytes.extend_from_slice(b"hi");
            Status::Panicked
        });
        batch.end_run();
        assert_eq!(
            batch.bytes,
            [7, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, b'h', b'i']
        );
        let mut batch = ResultBatch::default();
        batch.push(3, usize::MAX, ok(&[5]));
        batch.push(4, usize::MAX, ok(&[6]));
        batch.end_run();
        let mut golden = vec![3, 0, 0, 0, 0, 0, 0, 0, RUN_STATUS, 14, 0, 0, 0, 0];
        golden.extend([2, 0, 0, 0, 1, 0, 0, 0, 5, 1, 0, 0, 0, 6]);
        assert_eq!(batch.bytes, golden);
        let answers = decode_done(batch.bytes.clone(), Vec::new()).unwrap();
        assert_eq!((answers[0].seq, answers[0].count), (3, 2));
        let raw = answers.into_iter().next().unwrap().into_result(1).unwrap();
        assert_eq!(raw.len(), 2);
        let got: Vec<u8> = values(raw).into_iter().map(Result::unwrap).collect();
        assert_eq!(got, [5, 6]);
        for cut in 0..batch.bytes.len() {
            assert!(decode_done(batch.bytes[..cut].to_vec(), Vec::new()).is_err() || cut == 0);
        }
    }

    #[test]
    fn a_failure_or_a_new_job_ends_the_run() {
        let mut batch = ResultBatch::default();
        batch.push(0, usize::MAX, ok(&[1]));
        batch.push(1, usize::MAX, ok(&[2]));
        batch.push(2, usize::MAX, |out| {
            out.bytes.extend_from_slice(b"boom");
            Status::Panicked
        });
        batch.push(3, usize::MAX, ok(&[4]));
        batch.end_run(); // the job ends
        batch.push(4, usize::MAX, ok(&[5]));
        batch.end_run();
        let answers = decode_done(batch.bytes.clone(), Vec::new()).unwrap();
        let shape: Vec<_> = answers.iter().map(|a| (a.seq, a.count, a.status)).collect();
        assert_eq!(
            shape,
            [
                (0, 2, None),
                (2, 1, Some(Status::Panicked)),
                (3, 1, None),
                (4, 1, None)
            ]
        );
        assert_eq!(answers[1].body.as_slice(), b"boom");
    }

    #[test]
    fn a_bad_value_fails_alone() {
        let mut batch = ResultBatch::default();
        batch.push(0, usize::MAX, ok(&[1]));
        batch.push(1, usize::MAX, ok(&[]));
        batch.push(2, usize::MAX, ok(&[3]));
        batch.end_run();
        let raw = decode_done(batch.bytes, Vec::new())
            .unwrap()
            .remove(0)
            .into_result(1)
            .unwrap();
        let got = values(raw);
        assert_eq!(got.len(), 3);
        assert!(matches!(got[1], Err(Error::Decode(_))));
        assert_eq!(
            (got[0].as_ref().ok(), got[2].as_ref().ok()),
            (Some(&1), Some(&3))
        );
    }

    #[test]
    fn malformed_runs_are_refused() {
        let head = |len: u32, nfds: u8| {
            let mut v = vec![0; 8];
            v.push(RUN_STATUS);
            v.extend(len.to_le_bytes());
            v.push(nfds);
            v
        };
        let mut empty = head(4, 0);
        empty.extend(0u32.to_le_bytes());
        assert!(decode_done(empty, Vec::new()).is_err(), "a run of nothing");
        let mut overrun = head(9, 0);
        overrun.extend(1u32.to_le_bytes());
        overrun.extend(9u32.to_le_bytes());
        overrun.push(1);
        assert!(
            decode_done(overrun, Vec::new()).is_err(),
            "a value past the body"
        );
        let mut trailing = head(10, 0);
        trailing.extend(1u32.to_le_bytes());
        trailing.extend(1u32.to_le_bytes());
        trailing.extend([1, 2]);
        assert!(
            decode_done(trailing, Vec::new()).is_err(),
            "bytes after the values"
        );
        let mut with_fds = head(9, 1);
        with_fds.extend(1u32.to_le_bytes());
        with_fds.extend(1u32.to_le_bytes());
        with_fds.push(1);
        assert!(
            decode_done(with_fds, Vec::new()).is_err(),
            "a run carrying descriptors"
        );
    }

    /// Issue 16, item 10: a value larger than a message may carry fails its task with
    /// `MessageTooLarge` (the worker no longer exits), and its neighbours are kept.
    #[test]
    fn a_value_too_large_fails_alone() {
        let mut batch = ResultBatch::default();
        batch.push(0, 4, ok(&[1]));
        batch.push(1, 4, ok(&[9; 5]));
        batch.push(2, 4, ok(&[3]));
        batch.end_run();
        let answers = decode_done(batch.bytes, Vec::new()).unwrap();
        let got: Vec<_> = answers
            .into_iter()
            .map(|a| (a.seq, a.count, a.into_result(1).map(values)))
            .collect();
        assert_eq!(got.len(), 3);
        assert!(matches!(&got[0], (0, 1, Ok(v)) if v.len() == 1));
        assert!(matches!(
            got[1],
            (1, 1, Err(Error::MessageTooLarge { len: 5, max: 4 }))
        ));
        assert!(matches!(&got[2], (2, 1, Ok(v)) if v.len() == 1));
    }
}
