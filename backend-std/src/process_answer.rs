//! A `Process` child's answer to the parent that joins it: its closure's value, its panic,
//! or why the value could not be encoded; sent by the child, read into a `Result` by the
//! parent.
//!
//! Each large byte string in the value is lent while it is encoded, as a pool's worker
//! lends them (`protocol::piece`, `protocol::lend`): the child writes it into a buffer of
//! the parent's (or the parent reads it) from the value itself (`VALUE_PIECE`), and the
//! encoded rest (`VALUE_SPLICED`) says where it goes. Any other large value (from
//! [`FAR_FROM`] bytes, without descriptors) is offered whole the same way (`VALUE_FAR`):
//! one copy instead of two through the socket; where neither may touch the other's memory,
//! the child sends it as usual.

use crate::codec;
use crate::error::{Error, Result};
use crate::protocol::{
    FAR_FROM, FAR_REFUSED, Lender, decode_offer, join, lend, seal,
    take_piece, unseal,
};
use crate::task::panic_message;
use crate::wire::{Message, RawConn};
use nix::unistd::Pid;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::os::fd::OwnedFd;

/// The encoded value.
const VALUE: u8 = 1;
/// The closure (or the value's `Serialize`) panicked: the panic's report.
const PANIC: u8 = 2;
/// The value could not be encoded: why.
const ENCODE: u8 = 3;
/// The value's place in the child's memory (`addr: u64`, `len: u64`).
const VALUE_FAR: u8 = 4;
/// A byte string of the value being encoded, in the child's memory (`addr`, `len`).
const VALUE_PIECE: u8 = 5;
/// The encoded value short of the pieces the parent took, and where they go.
const VALUE_SPLICED: u8 = 6;

/// The child's side: sends what its closure ended with to the parent, process `parent`.
/// `Err` if the parent is gone.
pub(crate) fn send<R: Serialize>(
    conn: &RawConn,
    parent: Pid,
    ended: std::thread::Result<R>,
) -> Result<()> {
    let (mut pieces, mut taken) = (Vec::new(), 0);
    // The parent sends nothing else while it takes a piece.
    let mut lend = |bytes: &[u8]| lend(conn, VALUE_PIECE, Some(parent), bytes, &mut drop);
    let mut lender = Lender {
        pieces: &mut pieces,
        taken: &mut taken,
        offer: &mut lend,
    };
    let mut bytes = Vec::new();
    let encoded = ended.map(|value| codec::encode_lending(&value, &mut bytes, Some(&mut lender)));
    match encoded {
        Ok(Ok(fds)) if !pieces.is_empty() => {
            seal(&mut bytes, &pieces);
            conn.send(VALUE_SPLICED, &bytes, &fds)
        }
        Ok(Ok(fds)) => send_value(conn, parent, &bytes, &fds),
        Ok(Err(Error::Panicked {
            message,
            location,
            backtrace,
            ..
        })) => conn.send(PANIC, &report(&message, location, backtrace), &[]),
        Ok(Err(e)) => conn.send(ENCODE, e.to_string().as_bytes(), &[]),
        Err(p) => {
            let (location, backtrace) = crate::panics::take();
            let message = panic_message(p.as_ref());
            conn.send(PANIC, &report(&message, location, backtrace), &[])
        }
    }
}

/// A panic's report, as a child sends it.
fn report(message: &str, location: Option<String>, backtrace: Option<String>) -> Vec<u8> {
    let mut out = Vec::new();
    crate::panics::encode(message, location.as_deref(), backtrace.as_deref(), &mut out);
    out
}

/// The parent's side: the child's answer `m` as the closure's value or its error, given
/// the pieces read for it.
pub(crate) fn decode<R: DeserializeOwned>(m: Message, pid: u32, taken: Vec<Vec<u8>>) -> Result<R> {
    match m.kind {
        VALUE => m
            .check_fds()
            .and_then(|()| codec::decode_message(m.bytes, m.fds)),
        VALUE_SPLICED => {
            m.check_fds()?;
            let (head, mut pieces) = unseal(m.bytes, taken)?;
            match &pieces[..] {
                // The value ends with its one piece: a byte string takes it whole.
                [(at, _)] if *at == head.len() && m.fds.is_empty() => {
                    let (_, tail) = pieces.remove(0);
                    codec::decode_spliced(&head, tail)
                }
                _ => codec::decode_message(join(&head, &pieces), m.fds),
            }
        }
        PANIC => {
            let (message, location, backtrace) = crate::panics::decode(&m.bytes);
            Err(Error::Panicked {
                message,
                pid,
                location,
                backtrace,
            })
        }
        ENCODE => Err(Error::Encode(
            String::from_utf8_lossy(&m.bytes).into_owned(),
        )),
        _ => Err(Error::Protocol("unexpected message from child".into())),
    }
}

/// Sends the encoded value to the parent, process `parent`, or offers it and waits for
/// the parent's answer (the memory stays as it is until then).
fn send_value(conn: &RawConn, parent: Pid, bytes: &[u8], fds: &[OwnedFd]) -> Result<()> {
    if bytes.len() >= FAR_FROM
        && fds.is_empty()
        && lend(conn, VALUE_FAR, Some(parent), bytes, &mut drop)
    {
        return Ok(());
    }
    conn.send(VALUE, bytes, fds)
}

/// The parent's side, for a message from child `pid`: an offer becomes the value it names,
/// read from the child (`Ok(Some)`), or is refused (`Ok(None)`: the value comes next, sent);
/// a lent piece is taken into `pieces` (or refused: the child encodes it) and `Ok(None)`.
/// Any other message is returned as it is.
pub(crate) fn take(
    conn: &RawConn,
    pid: Pid,
    m: Message,
    pieces: &mut Vec<Vec<u8>>,
) -> Result<Option<Message>> {
    if m.kind != VALUE_FAR && m.kind != VALUE_PIECE {
        return Ok(Some(m));
    }
    let Some((addr, len)) = decode_offer(&m.bytes) else {
        conn.send(FAR_REFUSED, &[], &[])?;
        return Ok(None);
    };
    let taken = take_piece(conn, pid, addr, len);
    if m.kind == VALUE_PIECE {
        pieces.extend(taken);
        return Ok(None);
    }
    Ok(taken.map(|bytes| Message {
        kind: VALUE,
        bytes,
        fds: Vec::new(),
        fds_lost: false,
        cut: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::{VALUE_PIECE, VALUE_SPLICED, decode, send, take};
    use crate::wire::raw_pair;
    use nix::unistd::Pid;

    /// A large `String` is lent while it is encoded: the parent reads it as a piece, and the
    /// value that follows is decoded around it (taking the piece's buffer).
    #[test]
    fn a_large_string_is_lent_then_placed() {
        let (parent, child) = raw_pair().unwrap();
        let text = "y".repeat(3 << 20);
        let want = text.clone();
        let sender = std::thread::spawn(move || send(&child, Pid::this(), Ok(text)));
        let mut pieces = Vec::new();
        let m = parent.recv(None).unwrap();
        assert_eq!(m.kind, VALUE_PIECE);
        assert!(take(&parent, Pid::this(), m, &mut pieces).unwrap().is_none());
        let m = parent.recv(None).unwrap();
        assert_eq!(m.kind, VALUE_SPLICED);
        assert!(m.bytes.len() < 64);
        let m = take(&parent, Pid::this(), m, &mut pieces).unwrap().unwrap();
        let at = pieces[0].as_ptr();
        let got: String = decode(m, 1, pieces).unwrap();
        assert_eq!((got.as_ptr(), got == want), (at, true));
        sender.join().unwrap().unwrap();
    }
}
