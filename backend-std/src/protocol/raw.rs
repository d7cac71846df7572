//! A task's encoded result as the driver holds it until it is decoded: a slice of its
//! `DONE` message, decoded in place, or (a large value alone in its message) from the
//! message buffer itself.

use super::fields::{take, take_u32};
use crate::codec;
use crate::error::Result;
use serde::de::DeserializeOwned;
use std::ops::Range;
use std::os::fd::OwnedFd;
use std::sync::Arc;

/// A slice of a shared message buffer: results of one `DONE` message share its bytes
/// instead of each being copied out.
#[derive(Clone)]
pub struct Body {
    pub(super) buf: Arc<Vec<u8>>,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// A value from this size on, filling at least half of its message, is decoded from the
/// message buffer itself (see [`codec::decode_owned`]).
const OWN_FROM: usize = 64 * 1024;

impl Body {
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// The message buffer and this body's place in it, when the body is large, fills most of
    /// the buffer, and nothing else shares it.
    fn into_owned(self) -> std::result::Result<(Vec<u8>, Range<usize>), Self> {
        let len = self.end - self.start;
        if len < OWN_FROM || len < self.buf.len() / 2 {
            return Err(self);
        }
        match Arc::try_unwrap(self.buf) {
            Ok(buf) => Ok((buf, self.start..self.end)),
            Err(buf) => Err(Self { buf, ..self }),
        }
    }
}

/// A task's encoded result, or a run of them, as the scheduler releases it. (Public only
/// because it appears in the `imap` iterators' window types; it cannot be named outside.)
pub enum Raw {
    /// One value and the descriptors it carries.
    One(Body, Vec<OwnedFd>),
    /// `count` values, each `len: u32` and its bytes (checked by [`decode_done`](super::decode_done)).
    Run(Body, usize),
    /// One value without descriptors: its head, then its end, read apart (see
    /// `protocol::piece`).
    Spliced(Body, Vec<u8>),
}

impl Raw {
    /// How many tasks' values this holds.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::One(..) | Self::Spliced(..) => 1,
            Self::Run(_, count) => *count,
        }
    }

    /// Decodes each value in task order, handing it to `each`; a value that fails to decode
    /// fails alone.
    pub(crate) fn decode_each<R: DeserializeOwned>(self, mut each: impl FnMut(Result<R>)) {
        let (body, count) = match self {
            Self::One(body, fds) if fds.is_empty() => match body.into_owned() {
                Ok((buf, range)) => return each(codec::decode_owned(buf, range)),
                Err(body) => return each(codec::decode(body.as_slice(), fds)),
            },
            Self::One(body, fds) => return each(codec::decode(body.as_slice(), fds)),
            // A run of one was checked to be its value's length, then the value.
            Self::Run(body, 1) => match body.into_owned() {
                Ok((buf, range)) => {
                    return each(codec::decode_owned(buf, range.start + 4..range.end));
                }
                Err(body) => (body, 1),
            },
            Self::Run(body, count) => (body, count),
            Self::Spliced(head, tail) => {
                return each(codec::decode_spliced(head.as_slice(), tail));
            }
        };
        let (mut b, mut left) = (body.as_slice(), count);
        let next = || {
            left = left.checked_sub(1)?;
            Some(take_u32(&mut b, "DONE").and_then(|len| take(&mut b, len as usize, "DONE")))
        };
        codec::decode_each(next, each);
    }
}

/// A run of results as a `DONE` message carries them: each value's length, then its bytes
/// (for tests of what receives them).
#[cfg(test)]
pub(crate) fn run_of(values: &[&[u8]]) -> Raw {
    let mut buf = Vec::new();
    for v in values {
        buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
        buf.extend_from_slice(v);
    }
    let end = buf.len();
    let body = Body {
        buf: Arc::new(buf),
        start: 0,
        end,
    };
    Raw::Run(body, values.len())
}

#[cfg(test)]
mod tests {
    use super::run_of;
    use crate::error::Error;
    use serde::{Deserialize, Deserializer};

    /// A number whose `Deserialize` panics on 13.
    #[derive(Debug, PartialEq)]
    struct Unlucky(u64);

    impl<'de> Deserialize<'de> for Unlucky {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let n = u64::deserialize(d)?;
            assert!(n != 13, "unlucky");
            Ok(Self(n))
        }
    }

    #[test]
    fn a_value_of_a_run_that_panics_or_is_cut_short_fails_alone() {
        let values: Vec<Vec<u8>> = [12u64, 13, 14, 13, 15]
            .iter()
            .map(|v| postcard::to_allocvec(v).unwrap())
            .collect();
        let mut slices: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        slices.push(&[0x80]); // a varint cut short
        slices.push(&values[0]);
        let mut got = Vec::new();
        run_of(&slices).decode_each(|v: crate::error::Result<Unlucky>| got.push(v));
        assert_eq!(got.len(), 7);
        let ok = |i: usize, n: u64| assert_eq!(got[i].as_ref().unwrap(), &Unlucky(n));
        let panicked = |i: usize| assert!(matches!(&got[i], Err(Error::Panicked { .. })));
        ok(0, 12);
        panicked(1);
        ok(2, 14);
        panicked(3);
        ok(4, 15);
        assert!(matches!(&got[5], Err(Error::Decode(_))), "{:?}", got[5]);
        ok(6, 12);
    }
}
