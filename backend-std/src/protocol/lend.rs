//! Both ends of a piece lent while it is encoded (see `piece.rs`): the lender offers it
//! and waits, writing it where it is asked to; the taker asks for it to be written into a
//! buffer of its own, waits, and reads it itself where the lender may not write. A pool's
//! worker and driver use them, and so do a `Process` child and its parent.

use super::far::{FAR_REFUSED, FAR_TAKEN, buffer, offer, read_into, write_to};
use super::piece::{PIECE_INTO, PIECE_WRITTEN};
use crate::error::Error;
use crate::sys::FillBuf;
use crate::wire::{Message, RawConn};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// Offers `bytes` (valid only during this call) as a message of `kind` to the taker in
/// process `taker`, and waits for the answer, handing any other message to `other`;
/// whether the taker has them (else they are to be encoded as usual).
pub(crate) fn lend(
    conn: &RawConn,
    kind: u8,
    taker: Option<Pid>,
    bytes: &[u8],
    other: &mut dyn FnMut(Message),
) -> bool {
    if conn.send(kind, &offer(bytes), &[]).is_err() {
        return false;
    }
    loop {
        let Ok(m) = conn.recv(None) else {
            return false;
        };
        match m.kind {
            FAR_TAKEN => return true,
            FAR_REFUSED => return false,
            PIECE_INTO => {
                let wrote = m.bytes.try_into().ok().zip(taker).is_some_and(|(at, taker)| {
                    let at = usize::try_from(u64::from_le_bytes(at)).unwrap_or(usize::MAX);
                    write_to(taker, at, bytes).is_ok()
                });
                let said = conn.send(PIECE_WRITTEN, &[u8::from(wrote)], &[]);
                if said.is_err() || wrote {
                    return wrote && said.is_ok();
                }
            }
            // Anything else (`EXIT` too) waits its turn: the taker answers every offer it
            // reads, and is waiting for this answer.
            _ => other(m),
        }
    }
}

/// Reads `len` bytes at `addr` in worker `pid` and answers it: the bytes, or `None` (the
/// worker then sends them).
pub(crate) fn read_offered(conn: &RawConn, pid: Pid, addr: usize, len: usize) -> Option<Vec<u8>> {
    let bytes = buffer(len, conn.max_message()).and_then(|mut b| {
        read_into(pid, addr, &mut b)?;
        Ok(b)
    });
    answer(conn, if bytes.is_ok() { FAR_TAKEN } else { FAR_REFUSED });
    bytes.ok()
}

/// Queues `kind` for the worker, sent now if the socket has room (else by the driver's next
/// flush): the worker waits for it.
pub(crate) fn answer(conn: &RawConn, kind: u8) {
    if conn.enqueue(kind, &[], Vec::new()).is_ok() {
        let _ = conn.flush();
    }
}

/// A piece of `len` bytes at `addr` in worker `pid`: asked to be written into a buffer of
/// the driver's, and waited for; read instead where the worker may not write. `None`
/// when it cannot be had (the worker told so, or gone).
pub(crate) fn take_piece(conn: &RawConn, pid: Pid, addr: usize, len: usize) -> Option<Vec<u8>> {
    let mut fill = ask_to_write(conn, len)?;
    fill.help(|| conn.poll(Duration::ZERO).unwrap_or(true));
    match written(conn, write_bound(len)) {
        Written::Yes => Some(fill.filled()),
        Written::No => read_instead(conn, pid, addr, fill),
        Written::Gone => None,
        Written::Silent => {
            // The worker may still write into it: the buffer is never freed.
            std::mem::forget(fill);
            None
        }
    }
}

/// Asks the lender on `conn` to write the `len` bytes it offered into a fresh buffer of
/// this process's, which it returns; a piece that cannot be had (too large, no memory,
/// the socket broken) is refused instead, and the lender encodes it as usual.
pub(crate) fn ask_to_write(conn: &RawConn, len: usize) -> Option<FillBuf> {
    let fill = (len <= conn.max_message()).then(|| FillBuf::new(len)).flatten();
    let Some(fill) = fill else {
        answer(conn, FAR_REFUSED);
        return None;
    };
    let into = (fill.addr() as u64).to_le_bytes();
    if conn.enqueue(PIECE_INTO, &into, Vec::new()).is_err() || conn.flush().is_err() {
        answer(conn, FAR_REFUSED);
        return None;
    }
    Some(fill)
}

/// A piece the worker `pid` may not write (it said so): read from `addr` in its memory
/// into `fill` instead, and the worker told whether it was (else it sends it).
pub(crate) fn read_instead(conn: &RawConn, pid: Pid, addr: usize, mut fill: FillBuf) -> Option<Vec<u8>> {
    match read_into(pid, addr, &mut fill.bytes) {
        Ok(()) => {
            answer(conn, FAR_TAKEN);
            Some(fill.bytes)
        }
        Err(_) => {
            answer(conn, FAR_REFUSED);
            None
        }
    }
}

/// How long a worker may take to write `len` bytes it was asked to: far longer than any
/// copy takes (a stopped or broken worker's piece is then given up).
pub(crate) fn write_bound(len: usize) -> Duration {
    Duration::from_secs(10) + Duration::from_nanos(len as u64 * 10)
}

/// What a worker asked to write a piece answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// It wrote the piece.
    Yes,
    /// It may not write it (it is to be read instead).
    No,
    /// It hung up: its end of the socket closes only when its process ends, so it writes
    /// nothing more.
    Gone,
    /// Nothing within the bound, or something else: it may still write.
    Silent,
}

impl Written {
    /// What message `m`, come while a piece is awaited, says of it: anything but a
    /// `PIECE_WRITTEN` leaves it [`Silent`](Self::Silent).
    pub(crate) fn of(m: &Message) -> Self {
        match (m.kind, &m.bytes[..]) {
            (PIECE_WRITTEN, [1]) => Self::Yes,
            (PIECE_WRITTEN, [0]) => Self::No,
            _ => Self::Silent,
        }
    }
}

/// The worker's `PIECE_WRITTEN`, waited for at most `bound`.
pub(crate) fn written(conn: &RawConn, bound: Duration) -> Written {
    let deadline = Instant::now() + bound;
    loop {
        // The request may wait behind packets queued for the worker, which it reads
        // while it waits: keep them going.
        let drained = match conn.flush() {
            Ok(drained) => drained,
            Err(Error::Disconnected) => return Written::Gone,
            Err(_) => return Written::Silent,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let step = if drained { left } else { left.min(Duration::from_millis(1)) };
        match conn.recv(Some(step)) {
            Ok(m) => return Written::of(&m),
            Err(Error::Timeout) if !left.is_zero() => {}
            Err(Error::Disconnected) => return Written::Gone,
            _ => return Written::Silent,
        }
    }
}
