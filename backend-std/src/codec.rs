//! Values across the process boundary: postcard bytes plus the file descriptors of any
//! [`crate::Connection`] inside the value.
//!
//! While a value is encoded, each `Connection` in it hands a duplicate of its descriptor to
//! a thread-local list and serializes as its index there; the descriptors travel beside the
//! bytes (`SCM_RIGHTS`), and decoding takes them back by index. Values without a
//! `Connection` (nearly all) touch only two plain thread-local counters.

use crate::error::{Error, Result};
use crate::task::panic_message;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::panic::{AssertUnwindSafe, catch_unwind};

mod byte_seqs;
mod encoder;
mod fields;
mod outgoing;
mod owned;
mod tailed;

pub(crate) use outgoing::Outgoing;

/// `FRAME` outside any encoding.
const NONE: usize = usize::MAX;

thread_local! {
    /// Descriptors of the `Connection`s serialized by the encodings in progress on this
    /// thread, in order; each encoding takes those added after it started.
    static OUTGOING: RefCell<Vec<OwnedFd>> = const { RefCell::new(Vec::new()) };
    /// `OUTGOING`'s length, readable without touching the list.
    static STASHED: Cell<usize> = const { Cell::new(0) };
    /// Where the innermost encoding in progress starts in `OUTGOING` (`NONE` outside any:
    /// a `Connection` is then refused). A `Connection`'s index counts from there.
    static FRAME: Cell<usize> = const { Cell::new(NONE) };
    static INCOMING: RefCell<Vec<Vec<Option<OwnedFd>>>> = const { RefCell::new(Vec::new()) };
}

/// Makes this thread's encoding state ready (its destructors registered), in the fork
/// server before it forks: a worker then inherits it instead of registering its own at its
/// first `Connection`, which costs the dynamic loader's first lookups (about ten page
/// faults, 30 µs) in every worker.
pub(crate) fn prepare_thread() {
    OUTGOING.with(|_| {});
    INCOMING.with(|_| {});
}

/// Serializes `value`, collecting the descriptors it carries.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<(Vec<u8>, Vec<OwnedFd>)> {
    let mut bytes = Vec::new();
    let fds = encode_into(value, &mut bytes)?;
    Ok((bytes, fds))
}

/// Appends the encoding of `value` to `out`; returns the descriptors it carries. On error
/// `out` is left as it was.
pub(crate) fn encode_into<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<Vec<OwnedFd>> {
    encode_lending(value, out, None)
}

/// Where a large byte string being encoded may go instead of the output buffer: handed to
/// the reader while the encoder still holds it (see `protocol::piece`).
pub(crate) trait Lend {
    /// Offers `bytes`, which belong at `at` in the output, to the reader; `true` if it
    /// took them (they are then left out of the output), `false` to append them as usual.
    /// `bytes` is valid only during the call: the reader must have them when it returns.
    fn lend(&mut self, at: usize, bytes: &[u8]) -> bool;
    /// The output was cut back to `at`: what was lent from there on is not part of it.
    fn forget_from(&mut self, at: usize);
}

/// Byte strings from this size on are offered to a [`Lend`] (below it, a copy costs less
/// than the round trip of an offer).
pub(crate) const LEND_FROM: usize = 1 << 20;

/// [`encode_into`], offering byte strings of [`LEND_FROM`] bytes or more to `lend` when
/// there is one.
pub(crate) fn encode_lending<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
    mut lend: Option<&mut (dyn Lend + '_)>,
) -> Result<Vec<OwnedFd>> {
    let start = out.len();
    let before = STASHED.get();
    let outer = FRAME.replace(before);
    // A user's `Serialize` may panic: that fails this value alone, and the bookkeeping
    // below still runs.
    let written = catch_unwind(AssertUnwindSafe(|| {
        let flavor = Append {
            out: &mut *out,
            lend: lend.as_deref_mut(),
        };
        encoder::serialize_with_flavor(value, flavor).map(drop)
    }));
    FRAME.set(outer);
    if matches!(written, Ok(Ok(()))) && STASHED.get() == before {
        // Nearly every value: written, with no descriptor in it.
        return Ok(Vec::new());
    }
    encoded_otherwise(written, out, start, before, lend)
}

/// The rest of [`encode_lending`], out of the way of its common path: the descriptors the
/// value carried, or (the value failed to encode) the output cut back to `start` and why.
#[cold]
#[inline(never)]
fn encoded_otherwise(
    written: std::thread::Result<std::result::Result<(), encoder::Error>>,
    out: &mut Vec<u8>,
    start: usize,
    before: usize,
    lend: Option<&mut (dyn Lend + '_)>,
) -> Result<Vec<OwnedFd>> {
    let fds = if STASHED.get() == before {
        Vec::new()
    } else {
        STASHED.set(before);
        OUTGOING.with(|o| o.borrow_mut().split_off(before))
    };
    if !matches!(written, Ok(Ok(()))) {
        out.truncate(start);
        if let Some(lend) = lend {
            lend.forget_from(start);
        }
    }
    match written {
        Ok(Ok(())) => Ok(fds),
        Ok(Err(e)) => Err(Error::Encode(e.to_string())),
        Err(payload) => Err(panicked("Serialize", payload.as_ref())),
    }
}

/// Pieces up to this size are appended byte by byte (a varint is at most 10 bytes).
const SMALL: usize = 16;

/// A postcard flavor appending to a `Vec` with whole-slice copies (large byte strings go
/// in with one `memcpy`, or to the [`Lend`] when there is one and it takes them).
struct Append<'a, 'l> {
    out: &'a mut Vec<u8>,
    lend: Option<&'a mut (dyn Lend + 'l)>,
}

impl postcard::ser_flavors::Flavor for Append<'_, '_> {
    type Output = ();

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.out.push(byte);
        Ok(())
    }

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        if data.len() <= SMALL {
            // Varints and short strings, most of what is encoded: byte by byte is cheaper
            // than a call to `memcpy` for a length it cannot know in advance.
            self.out.reserve(SMALL);
            for &b in data {
                self.out.push(b);
            }
            return Ok(());
        }
        self.extend_large(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

impl Append<'_, '_> {
    /// [`try_extend`](postcard::ser_flavors::Flavor::try_extend) of more than a few bytes.
    #[inline(never)]
    fn extend_large(&mut self, data: &[u8]) {
        if data.len() >= LEND_FROM
            && let Some(lend) = self.lend.as_deref_mut()
            && lend.lend(self.out.len(), data)
        {
            return;
        }
        if data.len() > self.out.spare_capacity_mut().len() {
            self.out.reserve(data.len());
            // A large byte string is written into huge pages: a page fault per 2 MiB
            // instead of per 4 KiB.
            crate::sys::advise_huge(self.out);
        }
        crate::sys::extend_helped(self.out, data);
    }
}

/// Deserializes a `T` from `bytes`, giving it the descriptors that came with them.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], fds: Vec<OwnedFd>) -> Result<T> {
    if fds.is_empty() {
        // The common case, without the thread-local bookkeeping: a `Connection` inside
        // fails to decode either way, as no descriptor came for it.
        return guarded(|| from_bytes(bytes));
    }
    INCOMING.with(|i| i.borrow_mut().push(fds.into_iter().map(Some).collect()));
    let value = guarded(|| from_bytes(bytes));
    INCOMING.with(|i| i.borrow_mut().pop());
    value
}

/// Decodes values one after another as `next` hands out their bytes (none carries
/// descriptors: a run of results), under one guard for all of them instead of one each: a
/// value whose `Deserialize` panics fails alone, and the values after it are still decoded.
pub(crate) fn decode_each<'a, T: DeserializeOwned>(
    mut next: impl FnMut() -> Option<Result<&'a [u8]>>,
    mut each: impl FnMut(Result<T>),
) {
    loop {
        // `next` moves past a value before it is decoded, so after a panic the loop goes
        // on with the value after the one that panicked.
        let ran = catch_unwind(AssertUnwindSafe(|| {
            while let Some(bytes) = next() {
                let value = match bytes.map(from_bytes) {
                    Ok(Ok(value)) => Ok(value),
                    Ok(Err(e)) => Err(not_decoded(Ok(e))),
                    Err(e) => Err(e),
                };
                each(value);
            }
        }));
        match ran {
            Ok(()) => return,
            Err(payload) => each(Err(not_decoded(Err(payload)))),
        }
    }
}

/// Values from this size on are read through `fields.rs`, where a `Vec<u8>` (the value or a
/// field of it) is copied out in one piece instead of a byte at a time; smaller ones by
/// postcard directly.
const WHOLE_FROM: usize = 16 << 10;

/// postcard's `from_bytes`, with a large value's byte vectors read in one piece.
fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> postcard::Result<T> {
    if bytes.len() >= WHOLE_FROM {
        return fields::whole(bytes, |t| T::deserialize(t));
    }
    postcard::from_bytes(bytes)
}

/// Runs a user's `Deserialize` (through postcard), which may panic: a panic fails this
/// value alone, as [`Error::Panicked`] naming `Deserialize`.
fn guarded<T>(decode: impl FnOnce() -> postcard::Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(decode)) {
        Ok(Ok(value)) => Ok(value),
        // Built apart: with them inline, every value took a detour through memory
        // (decoding a `u64`: 6.2 ns against 3.9).
        Ok(Err(e)) => Err(not_decoded(Ok(e))),
        Err(payload) => Err(not_decoded(Err(payload))),
    }
}

/// The error for a value postcard could not decode, or whose `Deserialize` panicked.
#[cold]
#[inline(never)]
fn not_decoded(why: std::thread::Result<postcard::Error>) -> Error {
    match why {
        Ok(e) => Error::Decode(e.to_string()),
        Err(payload) => panicked("Deserialize", payload.as_ref()),
    }
}

/// The error for a panic in a user's serde code.
fn panicked(what: &str, payload: &(dyn std::any::Any + Send)) -> Error {
    let (location, backtrace) = crate::panics::take();
    Error::Panicked {
        message: format!("{what} panicked: {}", panic_message(payload)),
        pid: std::process::id(),
        location,
        backtrace,
    }
}

/// Deserializes a `T` from `buf[range]`, a value without descriptors. A byte string or
/// `String` that is the whole value (or a newtype around it) takes `buf` itself, moved down
/// to its bytes, instead of a copy: worth it when the value fills most of `buf`.
pub(crate) fn decode_owned<T: DeserializeOwned>(
    mut buf: Vec<u8>,
    range: Range<usize>,
) -> Result<T> {
    guarded(|| {
        T::deserialize(owned::Owned {
            buf: &mut buf,
            range,
            tail: None,
        })
    })
}

/// Deserializes a `T` encoded as `head` followed by `tail`, a value without descriptors
/// whose last byte string was read apart (see `protocol::piece`): that byte string (or
/// `String`) takes `tail` itself, wherever it sits in the value (`codec/tailed.rs`).
pub(crate) fn decode_spliced<T: DeserializeOwned>(head: &[u8], tail: Vec<u8>) -> Result<T> {
    let mut tail = Some(tail);
    let tailed = guarded(|| {
        let (flavor, left) = tailed::Head::new(head);
        let mut de = postcard::Deserializer::from_flavor(flavor);
        T::deserialize(tailed::Tailed {
            de: &mut de,
            head,
            left: &left,
            tail: &mut tail,
        })
    });
    let (Err(Error::Decode(_)), Some(mut tail)) = (&tailed, tail) else {
        return tailed;
    };
    // Read past its head some other way (a byte string decoded as a sequence, say): the
    // two in turn, as postcard reads one message.
    let mut buf = head.to_vec();
    let range = 0..buf.len();
    let segments = guarded(|| {
        T::deserialize(owned::Owned {
            buf: &mut buf,
            range,
            tail: Some(&mut tail),
        })
    });
    if !matches!(segments, Err(Error::Decode(_))) || tail.is_empty() {
        return segments;
    }
    // One read spans the two (the split was a guess, `protocol::run_far`): joined.
    let mut buf = head.to_vec();
    buf.extend_from_slice(&tail);
    drop(tail);
    let range = 0..buf.len();
    decode_owned(buf, range)
}

/// Messages from this size on are decoded by [`decode_owned`] (see [`decode_message`]).
const OWNED_FROM: usize = 1 << 20;

/// Deserializes a `T` from a whole message it may consume: a large one without descriptors
/// through [`decode_owned`] (a byte string or `String` that is the value takes the buffer),
/// any other as [`decode`] does.
pub(crate) fn decode_message<T: DeserializeOwned>(bytes: Vec<u8>, fds: Vec<OwnedFd>) -> Result<T> {
    if fds.is_empty() && bytes.len() >= OWNED_FROM {
        let len = bytes.len();
        return decode_owned(bytes, 0..len);
    }
    decode(&bytes, fds)
}

/// [`decode_message`] of a received message, whose first bytes may have been cut off
/// (`RawConn::cut_byte_strings`): the byte string that is its value then takes its buffer.
pub(crate) fn decode_received<T: DeserializeOwned>(m: crate::wire::Message) -> Result<T> {
    match m.cut {
        Some(cut) => decode_spliced(&cut, m.bytes),
        None => decode_message(m.bytes, m.fds),
    }
}

/// Called by `Connection::serialize`: keeps a duplicate of `fd` for the message being
/// encoded and returns its index.
pub(crate) fn stash_outgoing(fd: BorrowedFd<'_>) -> std::result::Result<u32, String> {
    let frame = FRAME.get();
    if frame == NONE {
        return Err("a Connection can only be serialized by forkpool (send, apply, map...)".into());
    }
    let dup = fd
        .try_clone_to_owned()
        .map_err(|e| format!("could not duplicate the connection's descriptor: {e}"))?;
    OUTGOING.with(|o| {
        let mut o = o.borrow_mut();
        o.push(dup);
        STASHED.set(o.len());
        u32::try_from(o.len() - 1 - frame).map_err(|_| "too many connections in one value".into())
    })
}

/// Called by `Connection::deserialize`: takes the descriptor at `index` of the message being
/// decoded.
pub(crate) fn take_incoming(index: u32) -> std::result::Result<OwnedFd, String> {
    INCOMING.with(|i| {
        let mut i = i.borrow_mut();
        let list = i.last_mut().ok_or_else(|| {
            format!(
                "no descriptor {index} came with the message (a Connection can only be \
                     deserialized by forkpool)"
            )
        })?;
        list.get_mut(index as usize)
            .and_then(Option::take)
            .ok_or_else(|| format!("no descriptor {index} came with the message"))
    })
}
