//! A `Process` child's return value, sent to the parent that joins it. A large value (from
//! [`FAR_FROM`] bytes, without descriptors) is offered by address instead and read by the
//! parent straight from the child's memory (`protocol::far`): one copy instead of two
//! through the socket; where the parent may not read it, the child sends it as usual.

use crate::error::{Error, Result};
use crate::protocol::{FAR_FROM, FAR_REFUSED, FAR_TAKEN, decode_offer, offer, read_from};
use crate::wire::{Message, RawConn};
use nix::unistd::Pid;
use std::os::fd::OwnedFd;

/// The encoded value.
pub(crate) const VALUE: u8 = 1;
/// The value's place in the child's memory (`addr: u64`, `len: u64`).
pub(crate) const VALUE_FAR: u8 = 4;

/// The child's side: sends the encoded value, or offers it and waits for the parent's
/// answer (the memory stays as it is until then).
pub(crate) fn send(conn: &RawConn, bytes: &[u8], fds: &[OwnedFd]) -> Result<()> {
    if bytes.len() >= FAR_FROM && fds.is_empty() {
        conn.send(VALUE_FAR, &offer(bytes), &[])?;
        match conn.recv(None)?.kind {
            FAR_TAKEN => return Ok(()),
            FAR_REFUSED => {}
            _ => return Err(Error::Protocol("unexpected answer from the parent".into())),
        }
    }
    conn.send(VALUE, bytes, fds)
}

/// The parent's side, for a message from child `pid`: an offer becomes the value it names,
/// read from the child (`Ok(Some)`), or is refused (`Ok(None)`: the value comes next, sent).
/// Any other message is returned as it is.
pub(crate) fn take(conn: &RawConn, pid: Pid, m: Message) -> Result<Option<Message>> {
    if m.kind != VALUE_FAR {
        return Ok(Some(m));
    }
    let read = decode_offer(&m.bytes)
        .ok_or(nix::errno::Errno::EINVAL)
        .and_then(|(addr, len)| read_from(pid, addr, len, conn.max_message()));
    match read {
        Ok(bytes) => {
            // The child may exit now; if it is gone already, the value is still here.
            let _ = conn.send(FAR_TAKEN, &[], &[]);
            Ok(Some(Message {
                kind: VALUE,
                bytes,
                fds: Vec::new(),
                fds_lost: false,
            }))
        }
        Err(_) => {
            conn.send(FAR_REFUSED, &[], &[])?;
            Ok(None)
        }
    }
}
