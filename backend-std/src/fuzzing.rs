//! The whole receive path for fuzzing: raw packets on a real socket, through the per-writer
//! frame decoders, the protocol's message decoders and serde decoding of each result.
//!
//! Hidden from the docs; public only with the `fuzzing` feature (the `fuzz/` targets use
//! it), and exercised by a proptest in the normal suite so CI keeps the property: no input
//! panics, hangs or allocates beyond the message limit.

use crate::error::Error;
use crate::protocol::{self, DONE, INIT, RUN};
use crate::wire::raw_pair;
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use std::os::fd::AsRawFd;

/// Largest message the reader accepts here, so oversize declarations are refused quickly.
const MAX_MESSAGE: usize = 1 << 20;

/// Sends `data` as raw packets to a socket, closes it, and reads every message back,
/// decoding each as the driver and the worker would, past errors as the driver does (an
/// error fails one message; the reader goes on while packets are left). Each packet is
/// preceded in the input by its length, `u16` little endian; when its top bit is set the
/// packet carries a descriptor (`SCM_RIGHTS`), so lying descriptor counts are covered too.
/// Returns how many messages decoded whole.
pub fn receive(data: &[u8]) -> usize {
    let Ok((reader, writer)) = raw_pair() else {
        return 0;
    };
    let Ok((spare, _spare_peer)) = raw_pair() else {
        return 0;
    };
    reader.set_max_message(MAX_MESSAGE);
    let mut rest = data;
    let mut packets = 0;
    while let [lo, hi, tail @ ..] = rest {
        let head = u16::from_le_bytes([*lo, *hi]);
        let len = usize::from(head & 0x7fff).min(tail.len());
        let (packet, tail) = tail.split_at(len);
        rest = tail;
        let fd = [spare.as_fd().as_raw_fd()];
        let rights = [ControlMessage::ScmRights(&fd)];
        let cmsgs: &[ControlMessage] = if head & 0x8000 != 0 { &rights } else { &[] };
        let iov = [std::io::IoSlice::new(packet)];
        let flags = MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT;
        if sendmsg::<()>(writer.as_fd().as_raw_fd(), &iov, cmsgs, flags, None).is_err() {
            break; // the socket is full: read what was sent
        }
        packets += 1;
    }
    drop(writer);
    let mut whole = 0;
    // Each step reads at least one packet (or ends): a bounded number of steps.
    for _ in 0..=packets {
        let m = match reader.try_recv() {
            Ok(Some(m)) => m,
            Ok(None) | Err(Error::Disconnected) => break,
            Err(_) => continue,
        };
        let decoded = match m.kind {
            DONE => protocol::decode_done(m.bytes, m.fds).map(|answers| {
                for raw in answers.into_iter().filter_map(|a| a.into_result(0).ok()) {
                    raw.decode_each(|_: crate::Result<(u64, String, Vec<u8>)>| ());
                }
            }),
            // Pieces never come from the wire: a trailer naming any is refused.
            protocol::DONE_SPLICED => protocol::decode_spliced(m.bytes, Vec::new(), m.fds).map(drop),
            RUN => protocol::decode_run(&m.bytes).map(drop),
            INIT => protocol::decode_init(&m.bytes).map(drop),
            _ => Ok(()),
        };
        whole += usize::from(decoded.is_ok());
    }
    whole
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    fn packet(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 8];
        p.extend_from_slice(
            &forkpool_core::FrameHeader {
                kind,
                aux: 0,
                len: body.len() as u32,
            }
            .encode(),
        );
        p.extend_from_slice(body);
        p
    }

    #[test]
    fn a_well_formed_message_decodes() {
        // call, key, tag, six ids, umask, flags, no groups, an empty environment, owner.
        let p = packet(super::INIT, &[0; 8 + 8 + 8 + 24 + 4 + 1 + 4 + 4 + 4]);
        let mut input = (p.len() as u16).to_le_bytes().to_vec();
        input.extend_from_slice(&p);
        assert_eq!(super::receive(&input), 1);
    }

    /// The reader goes on past a bad message (and a descriptor the message did not
    /// declare), as the driver does.
    #[test]
    fn reading_goes_on_past_an_error() {
        let good = packet(super::INIT, &[0; 8 + 8 + 8 + 24 + 4 + 1 + 4 + 4 + 4]);
        let liar = packet(super::INIT, &[0; 4]);
        let mut input = ((liar.len() as u16) | 0x8000).to_le_bytes().to_vec();
        input.extend_from_slice(&liar);
        input.extend_from_slice(&(good.len() as u16).to_le_bytes());
        input.extend_from_slice(&good);
        assert_eq!(super::receive(&input), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Arbitrary bytes through the whole receive path never panic.
        #[test]
        fn arbitrary_packets_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = super::receive(&bytes);
        }

        /// Arbitrary bodies behind valid headers reach the message decoders.
        #[test]
        fn arbitrary_messages_never_panic(
            kind in prop_oneof![Just(super::DONE), Just(super::RUN), Just(super::INIT)],
            body in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let p = packet(kind, &body);
            let mut input = Vec::new();
            input.extend_from_slice(&(p.len() as u16).to_le_bytes());
            input.extend_from_slice(&p);
            let _ = super::receive(&input);
        }
    }
}
