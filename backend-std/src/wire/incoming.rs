//! Receiving: packets of any number of writers become whole messages, one frame decoder
//! per writer.
//!
//! A large frame's buffer is allocated whole (zero-filled, its pages untouched until
//! written), and while it fills, each packet is received with its payload aimed straight at
//! the buffer: a 64 MiB message is then copied once, by the kernel, instead of into a packet
//! buffer first. A packet that turns out to be another writer's is fed to that writer as
//! usual.

use super::{MAX_FDS, Message, PACKET, WID};
use crate::error::{Error, Result};
use crate::sys;
use forkpool_core::{FrameBuf, FrameDecoder, Progress};
use nix::errno::Errno;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
use std::collections::{HashMap, VecDeque};
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// Most writers with a message in progress on one connection (each holds a buffer).
const MAX_WRITERS: usize = 1024;

/// Frames from this size on are received straight into their buffer.
pub(super) const DIRECT_FROM: usize = 256 * 1024;

/// Receive buffers kept from connections that closed, for this process's next ones.
static KEPT_PACKETS: sys::PerProcess<std::sync::Mutex<Vec<sys::PageBuf>>> =
    sys::PerProcess::new();

/// The most receive buffers kept (256 KiB of address space each, the pages once touched:
/// at most 64 KiB but where packets of several writers' large messages interleave).
const MAX_KEPT_PACKETS: usize = 16;

fn kept_packets() -> std::sync::MutexGuard<'static, Vec<sys::PageBuf>> {
    KEPT_PACKETS
        .get(|| std::sync::Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// A receive buffer: one a closed connection left, or a fresh mapping.
fn packet_buffer() -> Option<sys::PageBuf> {
    kept_packets().pop().or_else(|| sys::PageBuf::new(PACKET))
}

/// A frame's payload buffer. A large frame's is allocated whole and zero-filled up front
/// (a very large one faulted in from its far end by a helper while it fills); `filled`
/// counts the payload received so far.
#[derive(Default)]
struct ByteBuf {
    /// Declared first: dropped (and joined) before the buffer it works on.
    helper: Option<sys::FaultHelper>,
    bytes: Vec<u8>,
    filled: usize,
    /// Whether a large payload that is one byte string (its length, then that many bytes
    /// to its end) is held without its length, so that the bytes start the buffer (see
    /// [`RecvState::cuts`]).
    cuts: bool,
    /// The length held apart from `bytes`, if it was: `bytes` then holds the payload from
    /// there on, and `filled` still counts the whole payload.
    cut: Option<Vec<u8>>,
}

impl ByteBuf {
    fn cut_len(&self) -> usize {
        self.cut.as_ref().map_or(0, Vec::len)
    }

    /// Where the rest of a large frame goes (empty for a small frame).
    fn unfilled(&mut self) -> &mut [u8] {
        let cut = self.cut_len();
        let end = self.bytes.len() - cut;
        &mut self.bytes[self.filled - cut..end]
    }

    /// The payload (short of a length held apart), and that length, leaving the buffer
    /// empty.
    fn take(&mut self) -> (Vec<u8>, Option<Vec<u8>>) {
        self.helper = None;
        let cut = self.cut.take();
        let mut bytes = std::mem::take(&mut self.bytes);
        bytes.truncate(self.filled - cut.as_ref().map_or(0, Vec::len));
        self.filled = 0;
        (bytes, cut)
    }

    /// The length of the byte string `data` starts, when the string runs to the end of a
    /// payload of `total` bytes.
    fn lone_length(data: &[u8], total: usize) -> Option<usize> {
        let (n, rest) = postcard::take_from_bytes::<usize>(data).ok()?;
        let at = data.len() - rest.len();
        (at.checked_add(n) == Some(total)).then_some(at)
    }
}

impl FrameBuf for ByteBuf {
    fn clear(&mut self) {
        self.helper = None;
        self.bytes.clear();
        self.filled = 0;
        self.cut = None;
    }

    fn try_reserve(&mut self, additional: usize) -> bool {
        if additional >= DIRECT_FROM && self.filled == 0 {
            let Some(bytes) = sys::try_zeroed(additional) else {
                return false;
            };
            self.helper = None;
            self.bytes = bytes;
            if additional >= sys::HELP_FROM {
                self.helper = sys::FaultHelper::start(self.bytes.as_ptr() as usize, additional);
            }
            return true;
        }
        self.bytes.truncate(self.filled);
        let ok = self.bytes.try_reserve_exact(additional).is_ok();
        if ok {
            sys::advise_huge(&mut self.bytes);
        }
        ok
    }

    fn extend_from_slice(&mut self, data: &[u8]) -> bool {
        if self.filled == 0 && self.cuts && self.bytes.len() >= DIRECT_FROM {
            // The first bytes of a large payload, its buffer made whole for it.
            if let Some(at) = Self::lone_length(data, self.bytes.len()) {
                self.bytes[..data.len() - at].copy_from_slice(&data[at..]);
                self.cut = Some(data[..at].to_vec());
                self.filled = data.len();
                return true;
            }
        }
        if self.cut.is_some() {
            // The rest of such a payload, behind the bytes already there (it fits).
            let start = self.filled - self.cut_len();
            let Some(into) = self.bytes.get_mut(start..start + data.len()) else {
                return false;
            };
            into.copy_from_slice(data);
            self.filled += data.len();
            return true;
        }
        let end = self.filled + data.len();
        if end <= self.bytes.len() {
            self.bytes[self.filled..end].copy_from_slice(data);
        } else {
            // The buffer may move: its helper stops first.
            self.helper = None;
            self.bytes.truncate(self.filled);
            self.bytes.extend_from_slice(data);
        }
        self.filled = end;
        true
    }

    /// The payload so far. Its length is what the decoder counts; where a length was held
    /// apart, its bytes are those after that length (and as many zeroes), which no one
    /// reads: the message is taken with [`take`](ByteBuf::take).
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.filled]
    }
}

/// One writer's message in progress.
struct Partial {
    decoder: FrameDecoder<ByteBuf>,
    fds: VecDeque<OwnedFd>,
    /// Whether the kernel dropped descriptors of this writer's message (`MSG_CTRUNC`: this
    /// process is out of descriptors): the message is still delivered, marked.
    fds_lost: bool,
}

impl Partial {
    /// Acts on what the decoder said: a whole frame becomes a message in `ready`.
    fn progress(&mut self, progress: Progress, ready: &mut VecDeque<Message>) -> Result<()> {
        match progress {
            Progress::NeedMore => Ok(()),
            Progress::Frame(h) => {
                let want = usize::from(h.aux);
                let fds_lost = std::mem::take(&mut self.fds_lost);
                // A message's descriptors come with its first packet, and no other
                // message's come before it is whole: any other count is a lie that would
                // hand descriptors to the wrong message.
                if self.fds.len() != want && !(fds_lost && self.fds.len() < want) {
                    return Err(Error::Protocol(format!(
                        "a message declares {want} descriptors but came with {}",
                        self.fds.len()
                    )));
                }
                let (bytes, cut) = self.decoder.buf_mut().take();
                ready.push_back(Message {
                    kind: h.kind,
                    bytes,
                    cut,
                    fds: self.fds.drain(..want.min(self.fds.len())).collect(),
                    fds_lost,
                });
                Ok(())
            }
            Progress::Failed(e) => Err(Error::Protocol(e.to_string())),
        }
    }

    /// Feeds a piece of this writer's stream.
    fn feed(&mut self, mut input: &[u8], ready: &mut VecDeque<Message>) -> Result<()> {
        while !input.is_empty() {
            let (used, progress) = self.decoder.feed(input);
            input = &input[used..];
            self.progress(progress, ready)?;
        }
        Ok(())
    }
}

/// A connection's receiving side.
#[derive(Default)]
pub(crate) struct RecvState {
    /// Taken by the first receive (one a closed connection left, or fresh pages, of which
    /// a small message touches one): the fork server makes both ends of every worker's
    /// socket and receives on neither.
    packet: Option<sys::PageBuf>,
    /// Room for the descriptors a packet carries, kept between receives.
    cmsg: Vec<u8>,
    writers: HashMap<u64, Partial>,
    pub(super) ready: VecDeque<Message>,
    pub(super) eof: bool,
    /// Whether a large message that is one byte string (a `Vec<u8>`, `ByteBuf` or
    /// `String` value, its length and then its bytes) is received with its length held
    /// apart ([`Message::cut`]), so that the bytes start their buffer and the value takes
    /// it as it is: set for the connections that carry such values.
    pub(super) cuts: bool,
}

/// A connection's receive buffer is kept for the next one: pools' sockets come and go with
/// them, and a fresh mapping costs a `mmap`, first-touch faults and a `munmap` (which
/// interrupts every other CPU the process runs on, to flush the mapping).
impl Drop for RecvState {
    fn drop(&mut self) {
        if let Some(p) = self.packet.take() {
            let mut kept = kept_packets();
            if kept.len() < MAX_KEPT_PACKETS {
                kept.push(p);
            }
        }
    }
}

impl RecvState {
    /// Reads one packet from `fd` into the per-writer decoders (frames of at most `max`
    /// bytes). `Ok(false)`: nothing to read now.
    pub(super) fn recv_packet(
        &mut self,
        fd: BorrowedFd<'_>,
        max: u32,
        flags: MsgFlags,
    ) -> Result<bool> {
        let Self {
            packet,
            cmsg,
            writers,
            ready,
            eof,
            cuts,
        } = self;
        let packet = match packet {
            Some(p) => p,
            None => packet.insert(
                packet_buffer()
                    .ok_or_else(|| Error::io("map a receive buffer", Errno::ENOMEM))?,
            ),
        };
        // The writer whose large frame is being received, if any: the packet most likely
        // continues it.
        let mut direct = writers.iter_mut().find_map(|(wid, p)| {
            let missing = p.decoder.missing().min(PACKET - WID);
            let unfilled = p.decoder.buf_mut().unfilled();
            let room = missing.min(unfilled.len());
            (room > 0).then(|| (*wid, &mut unfilled[..room]))
        });
        let mut wid = [0u8; WID];
        if cmsg.is_empty() {
            *cmsg = nix::cmsg_space!([RawFd; MAX_FDS]);
        }
        let mut reset_seen = false;
        let (n, fds, truncated, fds_lost) = loop {
            let mut iov = [
                IoSliceMut::new(&mut wid),
                IoSliceMut::new(direct.as_mut().map_or(&mut [][..], |(_, room)| &mut **room)),
                IoSliceMut::new(&mut packet[..]),
            ];
            let flags = flags | MsgFlags::MSG_CMSG_CLOEXEC;
            match recvmsg::<()>(fd.as_raw_fd(), &mut iov, Some(cmsg), flags) {
                Ok(msg) => {
                    // Descriptors the kernel could not install (this process is out of
                    // them) are dropped, and the message is marked (nix reads no control
                    // data of a truncated one; the few installed, if any, stay unowned).
                    let fds_lost = msg.flags.contains(MsgFlags::MSG_CTRUNC);
                    let mut fds = Vec::new();
                    if !fds_lost {
                        for c in msg.cmsgs().map_err(|e| Error::io("recvmsg", e))? {
                            if let ControlMessageOwned::ScmRights(raw) = c {
                                fds.extend(sys::owned_from_received(raw));
                            }
                        }
                    }
                    let truncated = msg.flags.contains(MsgFlags::MSG_TRUNC);
                    break (msg.bytes, fds, truncated, fds_lost);
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Ok(false),
                // The peer closed its end with messages of ours unread (a worker that died
                // with jobs queued). Linux reports that once, as the socket's pending error,
                // before the messages the peer sent are read: read on (they are what the
                // peer did before it went; once they are read the stream ends).
                Err(Errno::ECONNRESET) if !reset_seen => reset_seen = true,
                Err(Errno::ECONNRESET) => break (0, Vec::new(), false, false),
                Err(e) => return Err(Error::io("recvmsg", e)),
            }
        };
        if n == 0 {
            *eof = true;
            return Ok(true);
        }
        if truncated || n < WID {
            return Err(Error::Protocol(format!("malformed packet of {n} bytes")));
        }
        let wid = u64::from_le_bytes(wid);
        let (target, room) = direct.map_or((None, &mut [][..]), |(t, room)| (Some(t), room));
        let direct_len = room.len().min(n - WID);
        let rest = &packet[..n - WID - direct_len];
        // Bytes that landed in another writer's frame buffer are its own packet's start.
        let stray = (target != Some(wid) && direct_len > 0).then(|| room[..direct_len].to_vec());
        if writers.len() >= MAX_WRITERS && !writers.contains_key(&wid) {
            return Err(Error::Protocol(format!(
                "more than {MAX_WRITERS} writers with a message in progress"
            )));
        }
        let buf = ByteBuf {
            cuts: *cuts,
            ..ByteBuf::default()
        };
        let partial = writers.entry(wid).or_insert_with(|| Partial {
            decoder: FrameDecoder::new(buf, max),
            fds: VecDeque::new(),
            fds_lost: false,
        });
        partial.fds.extend(fds);
        partial.fds_lost |= fds_lost;
        let fed = if let Some(stray) = stray {
            partial
                .feed(&stray, ready)
                .and_then(|()| partial.feed(rest, ready))
        } else if direct_len > 0 {
            let buf = partial.decoder.buf_mut();
            buf.filled += direct_len;
            if let Some(h) = &buf.helper {
                h.filled(buf.filled - buf.cut_len());
            }
            let progress = partial.decoder.appended();
            partial
                .progress(progress, ready)
                .and_then(|()| partial.feed(rest, ready))
        } else {
            partial.feed(rest, ready)
        };
        if fed.is_err() || (partial.decoder.is_idle() && partial.fds.is_empty()) {
            writers.remove(&wid);
        }
        fed.map(|()| true)
    }
}
