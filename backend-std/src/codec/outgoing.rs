//! A value as it goes out as one message: a byte vector or string as its length and then
//! its own bytes, which the send gathers from the value itself (no encoded copy of 64 MiB
//! to fault in and write first); any other value encoded. The bytes are the same either
//! way.

use crate::error::{Error, Result};
use crate::sys::same_type::owned_bytes_of;
use crate::wire::RawConn;
use serde::Serialize;
use std::os::fd::OwnedFd;

/// A value ready to be sent (see the module documentation).
pub(crate) enum Outgoing<'a> {
    /// The length prefix (`prefix[..len]`), then the value's own bytes.
    Bytes {
        prefix: [u8; 10],
        len: usize,
        bytes: &'a [u8],
    },
    /// The encoded value and the descriptors it carries.
    Encoded(Vec<u8>, Vec<OwnedFd>),
}

impl<'a> Outgoing<'a> {
    /// `value` ready to be sent; `Err` if it cannot be encoded.
    pub(crate) fn of<T: Serialize>(value: &'a T) -> Result<Self> {
        if let Some(bytes) = owned_bytes_of(value) {
            let mut prefix = [0; 10];
            let len = postcard::to_slice(&bytes.len(), &mut prefix)
                .map_err(|e| Error::Encode(e.to_string()))?
                .len();
            return Ok(Self::Bytes { prefix, len, bytes });
        }
        let (bytes, fds) = super::encode(value)?;
        Ok(Self::Encoded(bytes, fds))
    }

    /// Sends it as one message of `kind` on `conn` (blocking, see [`RawConn::send`]).
    pub(crate) fn send(&self, conn: &RawConn, kind: u8) -> Result<()> {
        match self {
            Self::Bytes { prefix, len, bytes } => conn.send_parts(kind, [&prefix[..*len], bytes], &[]),
            Self::Encoded(bytes, fds) => conn.send(kind, bytes, fds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A byte vector, `ByteBuf` or string goes as the bytes encoding gives it.
    #[test]
    fn own_bytes_are_what_encoding_writes() {
        fn joined<T: Serialize>(value: &T) -> Vec<u8> {
            match Outgoing::of(value).unwrap() {
                Outgoing::Bytes { prefix, len, bytes } => [&prefix[..len], bytes].concat(),
                Outgoing::Encoded(..) => panic!("encoded"),
            }
        }
        for n in [0, 1, 127, 128, 300_000] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            assert_eq!(joined(&v), super::super::encode(&v).unwrap().0);
            let b = serde_bytes::ByteBuf::from(v.clone());
            assert_eq!(joined(&b), super::super::encode(&b).unwrap().0);
            let s = "x".repeat(n);
            assert_eq!(joined(&s), super::super::encode(&s).unwrap().0);
        }
        assert!(matches!(Outgoing::of(&(1u8, 2u8)).unwrap(), Outgoing::Encoded(..)));
    }
}
