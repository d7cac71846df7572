//! Reading a message's fields: each takes its bytes off the front of the message, or fails
//! with [`Error::Protocol`] naming the message when too few are left.

use crate::error::{Error, Result};

/// The error for a malformed `what` message.
pub(super) fn bad(what: &str) -> Error {
    Error::Protocol(format!("malformed {what} message"))
}

/// The next `n` bytes.
pub(super) fn take<'a>(b: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8]> {
    if b.len() < n {
        return Err(bad(what));
    }
    let (head, tail) = b.split_at(n);
    *b = tail;
    Ok(head)
}

/// The next little-endian `u32`.
pub(super) fn take_u32(b: &mut &[u8], what: &str) -> Result<u32> {
    let mut a = [0; 4];
    a.copy_from_slice(take(b, 4, what)?);
    Ok(u32::from_le_bytes(a))
}

/// The next little-endian `u64`.
pub(super) fn take_u64(b: &mut &[u8], what: &str) -> Result<u64> {
    let mut a = [0; 8];
    a.copy_from_slice(take(b, 8, what)?);
    Ok(u64::from_le_bytes(a))
}
