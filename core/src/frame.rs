//! The frame codec the std backend puts on its sockets.
//!
//! A frame is an 8-byte header followed by the payload:
//!
//! | bytes | field |
//! |---|---|
//! | 0..2 | magic `b"FP"` |
//! | 2 | `kind`: what the payload is, chosen by the protocol above |
//! | 3 | `aux`: a small count the protocol may use (the std backend: file descriptors attached) |
//! | 4..8 | payload length, `u32` little-endian |
//!
//! [`FrameDecoder`] is fed arbitrary byte slices (one byte at a time or many frames at once)
//! and answers with [`Progress`]. It checks the declared length against its maximum *before*
//! buffering anything, never panics, and after a corrupt or oversize header it stays failed:
//! a stream that lost its framing cannot be trusted again.

use crate::error::FrameError;

/// Length of a frame header in bytes.
pub const HEADER_LEN: usize = 8;
/// The two bytes every frame starts with.
pub const MAGIC: [u8; 2] = *b"FP";

/// The fixed part of a frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FrameHeader {
    /// What the payload is.
    pub kind: u8,
    /// A small count for the protocol's use.
    pub aux: u8,
    /// Payload length in bytes.
    pub len: u32,
}

impl FrameHeader {
    /// The header's wire form.
    ///
    /// ```
    /// use forkpool_core::FrameHeader;
    /// let h = FrameHeader { kind: 1, aux: 0, len: 5 };
    /// assert_eq!(h.encode(), *b"FP\x01\x00\x05\x00\x00\x00");
    /// ```
    pub const fn encode(&self) -> [u8; HEADER_LEN] {
        let len = self.len.to_le_bytes();
        [
            MAGIC[0], MAGIC[1], self.kind, self.aux, len[0], len[1], len[2], len[3],
        ]
    }

    /// Parses a header's wire form.
    pub const fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, FrameError> {
        if bytes[0] != MAGIC[0] || bytes[1] != MAGIC[1] {
            return Err(FrameError::BadMagic);
        }
        Ok(Self {
            kind: bytes[2],
            aux: bytes[3],
            len: u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        })
    }
}

/// Storage a [`FrameDecoder`] collects payloads into.
pub trait FrameBuf {
    /// Empties the buffer.
    fn clear(&mut self);
    /// Makes room for `additional` more bytes; `false` when that is impossible.
    fn try_reserve(&mut self, additional: usize) -> bool;
    /// Appends `bytes`; `false` when they do not fit.
    fn extend_from_slice(&mut self, bytes: &[u8]) -> bool;
    /// The bytes collected so far.
    fn as_slice(&self) -> &[u8];
}

impl<const N: usize> FrameBuf for heapless::Vec<u8, N> {
    fn clear(&mut self) {
        heapless::Vec::clear(self);
    }

    fn try_reserve(&mut self, additional: usize) -> bool {
        self.len()
            .checked_add(additional)
            .is_some_and(|end| end <= N)
    }

    fn extend_from_slice(&mut self, bytes: &[u8]) -> bool {
        heapless::Vec::extend_from_slice(self, bytes).is_ok()
    }

    fn as_slice(&self) -> &[u8] {
        self
    }
}

/// What a call to [`FrameDecoder::feed`] achieved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Progress {
    /// All input was taken and no frame is complete yet: feed more.
    NeedMore,
    /// A frame is complete: read it with [`FrameDecoder::payload`] before feeding again.
    Frame(FrameHeader),
    /// The stream is corrupt or declared an oversize frame; the decoder stays failed.
    Failed(FrameError),
}

enum State {
    Header {
        have: usize,
        bytes: [u8; HEADER_LEN],
    },
    Payload(FrameHeader),
    Ready(FrameHeader),
    Failed(FrameError),
}

/// An incremental frame decoder over a [`FrameBuf`].
///
/// ```
/// use forkpool_core::{FrameDecoder, FrameHeader, Progress};
/// let mut wire = FrameHeader { kind: 7, aux: 0, len: 3 }.encode().to_vec();
/// wire.extend_from_slice(b"abc");
/// let mut dec = FrameDecoder::new(heapless::Vec::<u8, 16>::new(), 16);
/// let (used, p) = dec.feed(&wire[..5]);
/// assert_eq!((used, p), (5, Progress::NeedMore));
/// let (used, p) = dec.feed(&wire[5..]);
/// assert_eq!((used, p), (6, Progress::Frame(FrameHeader { kind: 7, aux: 0, len: 3 })));
/// assert_eq!(dec.payload(), b"abc");
/// ```
pub struct FrameDecoder<B> {
    buf: B,
    max: u32,
    state: State,
}

impl<B: FrameBuf> FrameDecoder<B> {
    /// A decoder that accepts payloads of at most `max` bytes into `buf`.
    pub fn new(buf: B, max: u32) -> Self {
        Self {
            buf,
            max,
            state: State::Header {
                have: 0,
                bytes: [0; HEADER_LEN],
            },
        }
    }

    /// The largest payload accepted.
    pub fn max_len(&self) -> u32 {
        self.max
    }

    /// Takes bytes from `input` until a frame completes, the input runs out, or the stream
    /// fails. Returns how many bytes were taken and what happened; untaken bytes belong to
    /// the next frame and must be fed again.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Progress) {
        if let State::Ready(_) = self.state {
            self.buf.clear();
            self.state = State::Header {
                have: 0,
                bytes: [0; HEADER_LEN],
            };
        }
        let mut used = 0;
        loop {
            match &mut self.state {
                State::Failed(e) => return (used, Progress::Failed(*e)),
                State::Ready(h) => return (used, Progress::Frame(*h)),
                State::Header { have, bytes } => {
                    let take = (HEADER_LEN - *have).min(input.len() - used);
                    bytes[*have..*have + take].copy_from_slice(&input[used..used + take]);
                    *have += take;
                    used += take;
                    if *have < HEADER_LEN {
                        return (used, Progress::NeedMore);
                    }
                    self.state = match FrameHeader::decode(bytes) {
                        Err(e) => State::Failed(e),
                        Ok(h) if h.len > self.max => State::Failed(FrameError::Oversize {
                            declared: h.len,
                            max: self.max,
                        }),
                        Ok(h) if !self.buf.try_reserve(h.len as usize) => {
                            State::Failed(FrameError::BufferFull)
                        }
                        Ok(h) if h.len == 0 => State::Ready(h),
                        Ok(h) => State::Payload(h),
                    };
                }
                State::Payload(h) => {
                    let h = *h;
                    let missing = h.len as usize - self.buf.as_slice().len();
                    let take = missing.min(input.len() - used);
                    if !self.buf.extend_from_slice(&input[used..used + take]) {
                        self.state = State::Failed(FrameError::BufferFull);
                        continue;
                    }
                    used += take;
                    if take < missing {
                        return (used, Progress::NeedMore);
                    }
                    self.state = State::Ready(h);
                }
            }
        }
    }

    /// The payload of the frame [`feed`](Self::feed) just completed (empty before that).
    pub fn payload(&self) -> &[u8] {
        match self.state {
            State::Ready(_) => self.buf.as_slice(),
            _ => &[],
        }
    }

    /// The buffer, for a backend that wants to move the payload out instead of copying it.
    /// Whatever is left in it is cleared by the next [`feed`](Self::feed).
    pub fn buf_mut(&mut self) -> &mut B {
        &mut self.buf
    }

    /// How many payload bytes the frame being read still lacks: 0 unless a header has been
    /// read and its payload is incomplete. A backend may write up to this many bytes
    /// straight into the buffer (through [`buf_mut`](Self::buf_mut)), saving a copy, and
    /// then call [`appended`](Self::appended).
    pub fn missing(&self) -> usize {
        match self.state {
            State::Payload(h) => (h.len as usize).saturating_sub(self.buf.as_slice().len()),
            _ => 0,
        }
    }

    /// Takes note of payload bytes the backend wrote into the buffer itself (see
    /// [`missing`](Self::missing)): [`Progress::Frame`] if they complete the frame. A buffer
    /// holding more than the frame declared fails the decoder; outside a frame's payload
    /// this reports nothing new (`NeedMore`, or `Failed` for a failed decoder).
    ///
    /// ```
    /// use forkpool_core::{FrameBuf, FrameDecoder, FrameHeader, Progress};
    /// let head = FrameHeader { kind: 7, aux: 0, len: 3 }.encode();
    /// let mut dec = FrameDecoder::new(heapless::Vec::<u8, 16>::new(), 16);
    /// assert_eq!(dec.feed(&head), (8, Progress::NeedMore));
    /// assert_eq!(dec.missing(), 3);
    /// assert!(FrameBuf::extend_from_slice(dec.buf_mut(), b"abc")); // as a read would
    /// assert_eq!(dec.appended(), Progress::Frame(FrameHeader { kind: 7, aux: 0, len: 3 }));
    /// assert_eq!(dec.payload(), b"abc");
    /// ```
    pub fn appended(&mut self) -> Progress {
        if let State::Payload(h) = self.state {
            match self.buf.as_slice().len().cmp(&(h.len as usize)) {
                core::cmp::Ordering::Less => {}
                core::cmp::Ordering::Equal => {
                    self.state = State::Ready(h);
                    return Progress::Frame(h);
                }
                core::cmp::Ordering::Greater => {
                    self.state = State::Failed(FrameError::BufferFull);
                }
            }
        }
        match self.state {
            State::Failed(e) => Progress::Failed(e),
            _ => Progress::NeedMore,
        }
    }

    /// Whether the decoder is between frames (no partial frame buffered).
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Ready(_) | State::Header { have: 0, .. })
    }
}

#[cfg(test)]
mod tests;
