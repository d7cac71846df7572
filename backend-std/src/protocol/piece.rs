//! Large byte strings of a result read from the worker's memory while it encodes them.
//!
//! A task returning a 64 MiB `ByteBuf` would otherwise be copied into the worker's result
//! batch (64 MiB of fresh memory to fault in and write) before the driver reads the batch.
//! Instead, when the encoder meets a byte string of [`LEND_FROM`](crate::codec::LEND_FROM)
//! bytes or more (a worker of a local pool, see `far.rs`), it *lends* it: `PIECE` names
//! where the bytes lie, the driver copies them into a buffer of their own with
//! `process_vm_readv(2)` and answers `FAR_TAKEN` (or `FAR_REFUSED`: they are then encoded
//! as usual), and only then does the encoder go on. The bytes are read while the encoder is
//! still inside the call that handed them over, so they are valid whatever the value's
//! `Serialize` does; the batch leaves them out.
//!
//! The driver may instead answer `PIECE_INTO`, naming a buffer of its own: the worker then
//! writes the bytes there with `process_vm_writev(2)` and says `PIECE_WRITTEN`. That is the
//! cheaper copy: the kernel pins the pages of the far side, and the driver's buffer is in
//! huge pages while the task's value usually is not (64 MiB: 10-15 ms against 18-22). Where
//! the worker may not write (a ptrace policy), it says so and the driver reads instead.
//! The driver waits for that answer holding the buffer, reading no other worker meanwhile
//! (as long as the copy takes: 10-30 ms for 64 MiB). If the worker hangs up instead (its
//! process has ended), the piece is given up; if no answer comes within 10 s and more (the
//! worker is stopped, or broken), the piece is given up too, and the buffer, which the
//! worker might still write, is never freed. The buffer is in huge pages unless fresh ones
//! have been slow to fill lately (`sys/fill.rs`).
//!
//! The batch then goes as `DONE_SPLICED`: the `DONE` records as they are in the worker,
//! short of the lent bytes, then where each lent piece goes, then how many pieces:
//!
//! | kind | direction | payload |
//! |---|---|---|
//! | `PIECE` | from worker | `addr: u64`, `len: u64`: a byte string in its memory |
//! | `PIECE_INTO` | to worker | `addr: u64`: write the piece there, in the pool's process |
//! | `PIECE_WRITTEN` | from worker | `written: u8`: 1, or 0 (then wait for `FAR_TAKEN` or `FAR_REFUSED`) |
//! | `DONE_SPLICED` | from worker | `DONE` records, n x (`piece: u32`, `at: u64`), `n: u32` |
//!
//! `piece` counts the pieces taken since the worker's last `DONE`, `DONE_FAR` or
//! `DONE_SPLICED` (each of which ends them: a piece lent for a value that then failed, and
//! was left out, is dropped); `at` is where the piece's bytes belong in the records.
//!
//! A result whose value is such a byte string (a `ByteBuf` or `String`, alone or in a
//! newtype) is decoded from the piece's own buffer, which the value takes without a copy
//! (see `codec/owned.rs`); any other layout is joined into one `DONE` message first.

use super::done::{Answer, RESULT_HEAD, RUN_STATUS, decode_done};
use super::fields::bad;
use crate::task::Status;
use crate::codec::Lend;
use crate::error::Result;
use std::os::fd::OwnedFd;

/// A byte string of a result, offered to be read from this process's memory.
pub(crate) const PIECE: u8 = 15;
/// A `DONE` message short of the pieces that were read.
pub(crate) const DONE_SPLICED: u8 = 16;
/// Where the driver wants a piece written.
pub(crate) const PIECE_INTO: u8 = 6;
/// Whether the worker wrote the piece where it was asked.
pub(crate) const PIECE_WRITTEN: u8 = 17;
/// A `PIECE` the driver has read: its bytes are the piece's (never sent; kept apart from
/// what a worker may send by the high bit).
pub(crate) const PIECE_READ: u8 = 0x80 | PIECE;

/// A piece lent for the batch being built: where its bytes belong, and how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    /// Its number among the pieces taken since the last message of results.
    pub index: u32,
    pub at: usize,
    pub len: usize,
}

/// Offers a byte string to the driver, to be read from this process's memory before the
/// call returns; whether the driver took it.
pub(crate) type Offer<'a> = dyn FnMut(&[u8]) -> bool + 'a;

/// The pieces of a batch being built, and how to offer one to the driver.
pub(crate) struct Lender<'a> {
    pub pieces: &'a mut Vec<Piece>,
    /// Pieces taken so far (the next one's number).
    pub taken: &'a mut u32,
    pub offer: &'a mut Offer<'a>,
}

impl Lend for Lender<'_> {
    fn lend(&mut self, at: usize, bytes: &[u8]) -> bool {
        if !(self.offer)(bytes) {
            return false;
        }
        self.pieces.push(Piece {
            index: *self.taken,
            at,
            len: bytes.len(),
        });
        *self.taken += 1;
        true
    }

    fn forget_from(&mut self, at: usize) {
        self.pieces.retain(|p| p.at < at);
    }
}

/// Appends the `DONE_SPLICED` trailer for `pieces` to the records in `bytes`.
pub(crate) fn seal(bytes: &mut Vec<u8>, pieces: &[Piece]) {
    for p in pieces {
        bytes.extend_from_slice(&p.index.to_le_bytes());
        bytes.extend_from_slice(&(p.at as u64).to_le_bytes());
    }
    bytes.extend_from_slice(&(pieces.len() as u32).to_le_bytes());
}

/// Reads a `DONE_SPLICED` message, given the pieces taken for it in order.
pub(crate) fn decode_spliced(
    bytes: Vec<u8>,
    taken: Vec<Vec<u8>>,
    fds: Vec<OwnedFd>,
) -> Result<Vec<Answer>> {
    let (mut bytes, mut pieces) = unseal(bytes, taken)?;
    if let [(at, _)] = pieces[..]
        && at == bytes.len()
        && fds.is_empty()
        && tail_of_last(&mut bytes, pieces[0].1.len())
    {
        // The last record's value ends with the piece: it keeps the piece as its tail.
        let mut answers = decode_done(bytes, fds)?;
        let last = answers.last_mut().ok_or_else(|| bad("DONE_SPLICED"))?;
        last.tail = pieces.pop().map(|(_, piece)| piece);
        return Ok(answers);
    }
    decode_done(join(&bytes, &pieces), fds)
}

/// Pieces in place: where each goes in its message, and its bytes, in order.
pub(crate) type Placed = Vec<(usize, Vec<u8>)>;

/// A spliced message's bytes without its trailer, and the pieces it places, out of those
/// `taken` for it (the others are dropped).
pub(crate) fn unseal(mut bytes: Vec<u8>, mut taken: Vec<Vec<u8>>) -> Result<(Vec<u8>, Placed)> {
    let places = trailer(&bytes, taken.len())?;
    bytes.truncate(bytes.len() - 4 - 12 * places.len());
    let pieces = places
        .iter()
        .map(|&(index, at)| (at, std::mem::take(&mut taken[index])))
        .collect();
    Ok((bytes, pieces))
}

/// The message as it would have been sent whole: `bytes` with the `pieces` in place.
pub(crate) fn join(bytes: &[u8], pieces: &[(usize, Vec<u8>)]) -> Vec<u8> {
    let whole = bytes.len() + pieces.iter().map(|(_, p)| p.len()).sum::<usize>();
    let mut joined = Vec::with_capacity(whole);
    let mut from = 0;
    for (at, piece) in pieces {
        joined.extend_from_slice(&bytes[from..*at]);
        joined.extend_from_slice(piece);
        from = *at;
    }
    joined.extend_from_slice(&bytes[from..]);
    joined
}

/// The trailer's pieces, `(index, at)`, checked against the records' length and the
/// `taken` pieces: indices rising, places in order.
fn trailer(bytes: &[u8], taken: usize) -> Result<Vec<(usize, usize)>> {
    let malformed = || bad("DONE_SPLICED");
    let count_at = bytes.len().checked_sub(4).ok_or_else(malformed)?;
    let n = u32_at(bytes, count_at) as usize;
    let end = n
        .checked_mul(12)
        .and_then(|t| count_at.checked_sub(t))
        .ok_or_else(malformed)?;
    let mut places: Vec<(usize, usize)> = Vec::with_capacity(n);
    for k in 0..n {
        let entry = end + 12 * k;
        let index = u32_at(bytes, entry) as usize;
        let mut at = [0; 8];
        at.copy_from_slice(&bytes[entry + 4..entry + 12]);
        let at = usize::try_from(u64::from_le_bytes(at)).unwrap_or(usize::MAX);
        let in_order = places.last().is_none_or(|&(i, a)| index > i && at >= a);
        if index >= taken || at > end || !in_order {
            return Err(malformed());
        }
        places.push((index, at));
    }
    Ok(places)
}

/// The `u32` at `at` in `b` (which holds 4 bytes there).
fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

/// Whether the records in `bytes` end with a value that continues into a tail of `tail`
/// bytes: a run of one value, or a plain value without descriptors. If so its lengths are
/// cut to what `bytes` holds, so the records read as they are.
fn tail_of_last(bytes: &mut [u8], tail: usize) -> bool {
    let end = bytes.len();
    let mut p = 0;
    while p + RESULT_HEAD <= end {
        let (status, len, nfds) = (bytes[p + 8], u32_at(bytes, p + 9) as usize, bytes[p + 13]);
        let Some(next) = (p + RESULT_HEAD).checked_add(len) else {
            return false;
        };
        if next <= end {
            p = next;
            continue;
        }
        let run_of_one = status == RUN_STATUS
            && len >= 8
            && p + RESULT_HEAD + 8 <= end
            && u32_at(bytes, p + RESULT_HEAD) == 1
            && u32_at(bytes, p + RESULT_HEAD + 4) as usize == len - 8;
        let plain = status == Status::Ok as u8;
        if next != end + tail || nfds != 0 || !(run_of_one || plain) {
            return false;
        }
        let cut = |b: &mut [u8], at: usize| {
            let n = u32_at(b, at) as usize - tail;
            b[at..at + 4].copy_from_slice(&(n as u32).to_le_bytes());
        };
        cut(bytes, p + 9);
        if run_of_one {
            cut(bytes, p + RESULT_HEAD + 4);
        }
        return true;
    }
    false
}

#[cfg(test)]
mod tests;
