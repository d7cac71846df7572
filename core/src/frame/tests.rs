extern crate std;

use super::*;
use proptest::prelude::*;
use std::vec::Vec;

type Buf = heapless::Vec<u8, 64>;

fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = FrameHeader {
        kind,
        aux: 0,
        len: payload.len() as u32,
    }
    .encode()
    .to_vec();
    v.extend_from_slice(payload);
    v
}

#[test]
fn golden_header_bytes() {
    let h = FrameHeader {
        kind: 2,
        aux: 3,
        len: 0x0102_0304,
    };
    assert_eq!(h.encode(), [b'F', b'P', 2, 3, 4, 3, 2, 1]);
    assert_eq!(FrameHeader::decode(&h.encode()), Ok(h));
    assert_eq!(
        FrameHeader::decode(b"XX\0\0\0\0\0\0"),
        Err(FrameError::BadMagic)
    );
}

#[test]
fn oversize_is_refused_before_buffering() {
    let mut d = FrameDecoder::new(Buf::new(), 16);
    let wire = FrameHeader {
        kind: 0,
        aux: 0,
        len: u32::MAX,
    }
    .encode();
    let (used, p) = d.feed(&wire);
    assert_eq!(used, HEADER_LEN);
    assert_eq!(
        p,
        Progress::Failed(FrameError::Oversize {
            declared: u32::MAX,
            max: 16
        })
    );
    assert!(d.buf_mut().is_empty());
    assert_eq!(d.feed(b"more").1, p, "failure is sticky");
}

#[test]
fn buffer_smaller_than_max_fails_cleanly() {
    let mut d = FrameDecoder::new(heapless::Vec::<u8, 4>::new(), 100);
    assert_eq!(
        d.feed(&frame(1, b"too long")).1,
        Progress::Failed(FrameError::BufferFull)
    );
}

#[test]
fn empty_payload_and_back_to_back_frames() {
    let mut wire = frame(1, b"");
    wire.extend(frame(2, b"xy"));
    let mut d = FrameDecoder::new(Buf::new(), 64);
    let (n, p) = d.feed(&wire);
    assert_eq!(
        p,
        Progress::Frame(FrameHeader {
            kind: 1,
            aux: 0,
            len: 0
        })
    );
    assert_eq!(d.payload(), b"");
    let (m, p) = d.feed(&wire[n..]);
    assert_eq!(
        p,
        Progress::Frame(FrameHeader {
            kind: 2,
            aux: 0,
            len: 2
        })
    );
    assert_eq!(d.payload(), b"xy");
    assert_eq!(n + m, wire.len());
    assert!(d.is_idle());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Valid frames split at arbitrary points decode to exactly what was encoded, whether
    /// each piece is fed or (where a payload is incomplete) written straight into the buffer.
    #[test]
    fn frames_survive_any_split(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..8),
        cuts in proptest::collection::vec(1usize..20, 0..64),
        direct in proptest::collection::vec(any::<bool>(), 1..16),
    ) {
        let mut wire = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            wire.extend(frame(i as u8, p));
        }
        let mut d = FrameDecoder::new(Buf::new(), 64);
        let mut got = Vec::new();
        let mut pos = 0;
        let mut cut = cuts.iter().cycle();
        let mut direct = direct.iter().cycle();
        while pos < wire.len() {
            let end = (pos + cut.next().copied().unwrap_or(wire.len())).min(wire.len());
            let mut chunk = &wire[pos..end];
            while !chunk.is_empty() {
                let p = if direct.next() == Some(&true) && d.missing() > 0 {
                    let n = d.missing().min(chunk.len());
                    prop_assert!(FrameBuf::extend_from_slice(d.buf_mut(), &chunk[..n]));
                    chunk = &chunk[n..];
                    d.appended()
                } else {
                    let (n, p) = d.feed(chunk);
                    chunk = &chunk[n..];
                    p
                };
                match p {
                    Progress::Frame(h) => got.push((h.kind, d.payload().to_vec())),
                    Progress::NeedMore => prop_assert!(chunk.is_empty()),
                    Progress::Failed(e) => prop_assert!(false, "valid stream failed: {e}"),
                }
            }
            pos = end;
        }
        let want: Vec<_> =
            payloads.iter().enumerate().map(|(i, p)| (i as u8, p.clone())).collect();
        prop_assert_eq!(got, want);
    }

    /// Arbitrary bytes in arbitrary slices never panic and never buffer more than the maximum.
    #[test]
    fn garbage_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        cuts in proptest::collection::vec(1usize..64, 1..32),
        max in 0u32..64,
    ) {
        let mut d = FrameDecoder::new(Buf::new(), max);
        let mut pos = 0;
        let mut cut = cuts.iter().cycle();
        while pos < bytes.len() {
            let end = (pos + *cut.next().unwrap()).min(bytes.len());
            let mut chunk = &bytes[pos..end];
            loop {
                let (n, p) = d.feed(chunk);
                prop_assert!(n <= chunk.len());
                prop_assert!(d.buf_mut().len() as u32 <= max);
                chunk = &chunk[n..];
                match p {
                    Progress::Frame(h) => prop_assert!(h.len <= max),
                    Progress::NeedMore => break,
                    Progress::Failed(_) => break,
                }
                if chunk.is_empty() { break; }
            }
            pos = end;
        }
    }
}
