//! A `Process` child's answer to the parent that joins it: its closure's value, its panic,
//! or why the value could not be encoded; sent by the child, read into a `Result` by the
//! parent.
//!
//! A large value (from [`FAR_FROM`] bytes, without descriptors) is offered by address
//! instead and read by the parent straight from the child's memory (`protocol::far`): one
//! copy instead of two through the socket; where the parent may not read it, the child
//! sends it as usual.

use crate::codec;
use crate::error::{Error, Result};
use crate::protocol::{FAR_FROM, FAR_REFUSED, FAR_TAKEN, decode_offer, offer, read_from};
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

/// The child's side: sends what its closure ended with. `Err` if the parent is gone.
pub(crate) fn send<R: Serialize>(conn: &RawConn, ended: std::thread::Result<R>) -> Result<()> {
    match ended.map(|value| codec::encode(&value)) {
        Ok(Ok((bytes, fds))) => send_value(conn, &bytes, &fds),
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

/// The parent's side: the child's answer `m` as the closure's value or its error.
pub(crate) fn decode<R: DeserializeOwned>(m: Message, pid: u32) -> Result<R> {
    match m.kind {
        VALUE => m
            .check_fds()
            .and_then(|()| codec::decode_message(m.bytes, m.fds)),
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

/// Sends the encoded value, or offers it and waits for the parent's answer (the memory
/// stays as it is until then).
fn send_value(conn: &RawConn, bytes: &[u8], fds: &[OwnedFd]) -> Result<()> {
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
