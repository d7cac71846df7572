//! Property tests of the message layer: arbitrary packets, interleaved writers.

use super::*;
use nix::sys::socket::ControlMessage;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Arbitrary packets on the socket give messages or errors, never a panic, and never
    /// a message over the maximum.
    #[test]
    fn arbitrary_packets_never_panic(
        packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..200), 1..16),
    ) {
        let (a, b) = raw_pair().unwrap();
        b.set_max_message(64);
        for p in &packets {
            a.send_packet(&[p], &[], MsgFlags::MSG_DONTWAIT).unwrap();
        }
        drop(a);
        loop {
            match b.try_recv() {
                Ok(Some(m)) => prop_assert!(m.bytes.len() <= 64),
                Ok(None) | Err(Error::Disconnected) => break,
                Err(_) => {}
            }
        }
    }

    /// Valid messages survive being interleaved with another writer's packets, large ones
    /// (received straight into their buffers) too.
    #[test]
    fn writers_are_reassembled_apart(
        lens in proptest::collection::vec(0usize..700_000, 1..4),
        others in proptest::collection::vec(0usize..700_000, 1..4),
    ) {
        let (a, b) = raw_pair().unwrap();
        let c = RawConn::from_fd(a.as_fd().try_clone_to_owned().unwrap());
        let body = |i: usize, len: usize| -> Vec<u8> {
            (0..len).map(|k| (k as u8).wrapping_mul(31) ^ i as u8).collect()
        };
        for (i, len) in lens.iter().enumerate() {
            a.enqueue(1, &body(i, *len), Vec::new()).unwrap();
        }
        for (i, len) in others.iter().enumerate() {
            c.enqueue(2, &body(i + 100, *len), Vec::new()).unwrap();
        }
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            while let Ok(m) = b.recv(Some(std::time::Duration::from_secs(10))) {
                got.push((m.kind, m.bytes));
            }
            got
        });
        // One packet from each writer in turn.
        while a.has_queued() || c.has_queued() {
            a.send_next_packet().unwrap();
            c.send_next_packet().unwrap();
        }
        drop(a);
        drop(c);
        let got = reader.join().unwrap();
        let ours: Vec<_> = got.iter().filter(|m| m.0 == 1).map(|m| &m.1).collect();
        let theirs: Vec<_> = got.iter().filter(|m| m.0 == 2).map(|m| &m.1).collect();
        let want: Vec<_> = lens.iter().enumerate().map(|(i, len)| body(i, *len)).collect();
        let want_theirs: Vec<_> =
            others.iter().enumerate().map(|(i, len)| body(i + 100, *len)).collect();
        prop_assert_eq!(got.len(), lens.len() + others.len());
        prop_assert!(ours.iter().copied().eq(want.iter()), "first writer's messages differ");
        prop_assert!(theirs.iter().copied().eq(want_theirs.iter()), "second writer's differ");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// On a connection that cuts byte strings (`RawConn::cut_byte_strings`), a large
    /// message that is one byte string arrives with its length apart and its bytes at the
    /// start of their buffer; any other arrives whole; interleaved writers and arbitrary
    /// packets change neither.
    #[test]
    fn byte_strings_are_cut_and_the_rest_left_whole(
        lens in proptest::collection::vec((0usize..700_000, any::<bool>()), 1..4),
        others in proptest::collection::vec((0usize..700_000, any::<bool>()), 1..4),
        noise in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..40), 0..4),
    ) {
        let (a, b) = raw_pair().unwrap();
        b.cut_byte_strings();
        let c = RawConn::from_fd(a.as_fd().try_clone_to_owned().unwrap());
        // A byte string (its length, then its bytes), or plain bytes of that length.
        let body = |i: usize, (len, string): (usize, bool)| -> Vec<u8> {
            let bytes = (0..len).map(|k| (k as u8).wrapping_mul(31) ^ i as u8);
            let mut b = if string { postcard::to_allocvec(&len).unwrap() } else { Vec::new() };
            b.extend(bytes);
            b
        };
        for (i, &l) in lens.iter().enumerate() {
            a.enqueue(1, &body(i, l), Vec::new()).unwrap();
        }
        for (i, &l) in others.iter().enumerate() {
            c.enqueue(2, &body(i + 100, l), Vec::new()).unwrap();
        }
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            while let Ok(m) = b.recv(Some(std::time::Duration::from_secs(10))) {
                got.push(m);
            }
            got
        });
        while a.has_queued() || c.has_queued() {
            a.send_next_packet().unwrap();
            c.send_next_packet().unwrap();
        }
        // Stray packets of a third writer in between (errors or messages of their own).
        for p in &noise {
            let _ = a.send_packet(&[p], &[], MsgFlags::MSG_DONTWAIT);
        }
        drop(a);
        drop(c);
        let got = reader.join().unwrap();
        prop_assert!(got.len() >= lens.len() + others.len());
        for (kind, sent, base) in [(1, &lens, 0), (2, &others, 100)] {
            let mine: Vec<_> = got.iter().filter(|m| m.kind == kind).collect();
            prop_assert_eq!(mine.len(), sent.len());
            for (i, (m, &(len, string))) in mine.iter().zip(sent.iter()).enumerate() {
                let whole = body(i + base, (len, string));
                let cut = string && whole.len() >= incoming::DIRECT_FROM;
                prop_assert_eq!(m.cut.is_some(), cut, "message {} of writer {}", i, kind);
                let joined = [m.cut.clone().unwrap_or_default(), m.bytes.clone()].concat();
                prop_assert!(joined == whole, "message {} of writer {} differs", i, kind);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Large frames whose first bytes are arbitrary (a length that fits or not), then
    /// packets of any length, on a connection that cuts byte strings: messages or errors,
    /// never a panic, and a message cut only where its length prefix says so.
    #[test]
    fn arbitrary_large_frames_never_panic_a_cutting_receiver(
        extra in 0usize..64,
        first in proptest::collection::vec(any::<u8>(), 0..24),
        rest in proptest::collection::vec(1usize..300_000, 0..4),
    ) {
        let (a, b) = raw_pair().unwrap();
        b.cut_byte_strings();
        let len = incoming::DIRECT_FROM + extra;
        let wid = 77u64;
        let head = frame(wid, 1, 0, &first);
        // The header declares `len`, not the length of `first`.
        let mut p = head[..8].to_vec();
        p.extend_from_slice(&FrameHeader { kind: 1, aux: 0, len: len as u32 }.encode());
        p.extend_from_slice(&first);
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            loop {
                match b.recv(Some(std::time::Duration::from_secs(10))) {
                    Ok(m) => got.push(m),
                    Err(Error::Disconnected | Error::Timeout) => break,
                    Err(_) => {}
                }
            }
            got
        });
        let _ = a.send_packet(&[&p], &[], MsgFlags::empty());
        for n in rest {
            let mut q = wid.to_le_bytes().to_vec();
            q.extend(std::iter::repeat_n(5u8, n.min(PACKET - 8)));
            let _ = a.send_packet(&[&q], &[], MsgFlags::empty());
        }
        drop(a);
        for m in reader.join().unwrap() {
            let whole = [m.cut.clone().unwrap_or_default(), m.bytes.clone()].concat();
            prop_assert_eq!(whole.len(), len);
            if let Some(cut) = &m.cut {
                let (n, tail) = postcard::take_from_bytes::<usize>(cut).unwrap();
                prop_assert!(tail.is_empty() && n == m.bytes.len());
            }
        }
    }
}

/// A packet of writer `wid`: the writer id, then a frame header and body.
fn frame(wid: u64, kind: u8, aux: u8, body: &[u8]) -> Vec<u8> {
    let mut p = wid.to_le_bytes().to_vec();
    p.extend_from_slice(
        &FrameHeader {
            kind,
            aux,
            len: body.len() as u32,
        }
        .encode(),
    );
    p.extend_from_slice(body);
    p
}

/// Issue 16, item 10: a message that declares fewer descriptors than it came with fails
/// alone (its descriptors closed), and does not hand its extra descriptor to the next
/// message of the same writer.
#[test]
fn a_lying_descriptor_count_does_not_shift_descriptors() {
    let (a, b) = raw_pair().unwrap();
    let (spare, _keep) = raw_pair().unwrap();
    let fd = [spare.as_fd().as_raw_fd()];
    let rights = [ControlMessage::ScmRights(&fd)];
    a.send_packet(&[&frame(7, 1, 0, b"liar")], &rights, MsgFlags::empty())
        .unwrap();
    a.send_packet(&[&frame(7, 1, 0, b"next")], &[], MsgFlags::empty())
        .unwrap();
    assert!(matches!(b.try_recv(), Err(Error::Protocol(_))));
    let next = b.try_recv().unwrap().unwrap();
    assert_eq!((next.bytes.as_slice(), next.fds.len()), (&b"next"[..], 0));
}

/// Issue 16, item 10: the state kept for writers with a message in progress is bounded.
#[test]
fn writers_with_a_message_in_progress_are_bounded() {
    let (a, b) = raw_pair().unwrap();
    // Each writer starts a message of 100 bytes and sends 1.
    let mut refused = false;
    for wid in 0..1100u64 {
        let mut p = frame(wid, 1, 0, &[0; 100]);
        p.truncate(8 + 8 + 1);
        a.send_packet(&[&p], &[], MsgFlags::empty()).unwrap();
        match b.try_recv() {
            Ok(None) => {}
            Err(Error::Protocol(m)) => {
                assert!(m.contains("writers"), "{m}");
                refused = true;
                break;
            }
            other => panic!("unexpected {:?}", other.map(|m| m.map(|m| m.kind))),
        }
    }
    assert!(refused, "a writer past the bound was refused");
}

/// Issue 16, item 10: `recv` on one clone of a shared end does not hold the receive state
/// while it waits, so a `poll` (or `try_recv`) on the same end answers at once.
#[test]
fn a_waiting_recv_does_not_hold_up_a_poll() {
    let (a, b) = raw_pair().unwrap();
    let b = std::sync::Arc::new(b);
    let waiter = std::sync::Arc::clone(&b);
    let t = std::thread::spawn(move || waiter.recv_shared(None).map(|m| m.bytes));
    std::thread::sleep(std::time::Duration::from_millis(50));
    let (tx, rx) = std::sync::mpsc::channel();
    let poller = std::sync::Arc::clone(&b);
    std::thread::spawn(move || tx.send(poller.poll(std::time::Duration::ZERO).unwrap()));
    let polled = rx.recv_timeout(std::time::Duration::from_secs(10));
    a.send(1, b"late", &[]).unwrap();
    assert_eq!(polled, Ok(false), "poll answered while recv waits");
    assert_eq!(t.join().unwrap().unwrap(), b"late");
}

/// A message queued with a shared body arrives as `head` then the body, whole, with its
/// descriptors, whether the body fills many packets, part of one, or none.
#[test]
fn a_message_with_a_shared_body_arrives_whole() {
    let (a, mut b) = raw_pair().unwrap();
    let (spare, _keep) = raw_pair().unwrap();
    for len in [0, 10, PACKET, 3 * PACKET + 17] {
        let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let fd = spare.as_fd().try_clone_to_owned().unwrap();
        a.enqueue_shared(7, b"head", std::sync::Arc::new(body.clone()), vec![fd])
            .unwrap();
        let receiver = std::thread::spawn(move || {
            let m = b.recv(Some(std::time::Duration::from_secs(10))).unwrap();
            (b, m)
        });
        while !a.flush().unwrap() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let (back, m) = receiver.join().unwrap();
        b = back;
        assert_eq!((m.kind, m.fds.len()), (7, 1), "{len}");
        assert_eq!(&m.bytes[..4], b"head");
        assert!(m.bytes[4..] == body[..], "{len}");
    }
}

/// A peer that closes its end with messages of ours unread (a worker that dies with jobs
/// queued) makes Linux report `ECONNRESET` once, before what the peer sent: what it sent
/// is still read, and then the end of the stream.
#[test]
fn what_a_peer_sent_before_it_went_is_read_after_a_reset() {
    let (ours, theirs) = raw_pair().unwrap();
    theirs.send(7, b"last words", &[]).unwrap();
    ours.send(7, b"never read", &[]).unwrap();
    drop(theirs);
    let m = ours.try_recv().unwrap().expect("the peer's message");
    assert_eq!((m.kind, m.bytes.as_slice()), (7, &b"last words"[..]));
    assert!(matches!(ours.try_recv(), Err(Error::Disconnected)));
}

/// A closed connection's receive buffer serves the next connections with its old bytes
/// still in it: only what each packet brought is read.
#[test]
fn a_kept_receive_buffer_serves_the_next_connections() {
    for round in 1..=4u8 {
        let (a, b) = raw_pair().unwrap();
        let body = vec![round; 70_000 / usize::from(round)];
        a.send(1, &body, &[]).unwrap();
        a.send(2, &[round], &[]).unwrap();
        let (m, n) = (b.recv(None).unwrap(), b.recv(None).unwrap());
        assert_eq!((m.kind, m.bytes.len()), (1, body.len()));
        assert!(m.bytes.iter().all(|&x| x == round));
        assert_eq!((n.kind, &n.bytes[..]), (2, &[round][..]));
    }
}

/// A blocking send of a large message uses packets as large as the send buffer allows
/// after the first; where the kernel refuses one (here: larger than the buffer), the rest
/// goes in small packets. Either way the message arrives whole, with its descriptors.
#[test]
fn large_packets_are_used_where_they_fit_and_small_ones_where_not() {
    use super::{SMALL_PACKET, incoming::DIRECT_FROM};
    use std::sync::atomic::Ordering;
    let (spare, _keep) = raw_pair().unwrap();
    for too_large in [false, true] {
        let (a, b) = raw_pair().unwrap();
        if too_large {
            let small = 100 * 1024;
            nix::sys::socket::setsockopt(&a.fd, nix::sys::socket::sockopt::SndBuf, &small).unwrap();
            a.packet.store(PACKET, Ordering::Relaxed);
        }
        let receiver = std::thread::spawn(move || {
            let mut got = Vec::new();
            for _ in 0..3 {
                got.push(b.recv(Some(std::time::Duration::from_secs(10))).unwrap());
            }
            got
        });
        let lens = [3 * PACKET + 17, 10, DIRECT_FROM];
        for (k, len) in lens.into_iter().enumerate() {
            let body: Vec<u8> = (0..len).map(|i| ((i + k) % 251) as u8).collect();
            let fd = spare.as_fd().try_clone_to_owned().unwrap();
            a.send(7, &body, &[fd]).unwrap();
        }
        let used = a.packet.load(Ordering::Relaxed);
        let buffer = nix::sys::socket::getsockopt(&a.fd, nix::sys::socket::sockopt::SndBuf);
        if too_large {
            assert_eq!(used, SMALL_PACKET);
        } else if buffer.unwrap() / 4 > SMALL_PACKET {
            assert!(used > SMALL_PACKET, "{used}");
        }
        for (k, m) in receiver.join().unwrap().into_iter().enumerate() {
            let body: Vec<u8> = (0..lens[k]).map(|i| ((i + k) % 251) as u8).collect();
            assert_eq!((m.kind, m.fds.len()), (7, 1));
            assert!(m.bytes == body, "message {k}");
        }
    }
}

/// A message sent in two parts arrives as the two joined, wherever the parts end among
/// the packets.
#[test]
fn a_message_in_two_parts_arrives_joined() {
    let (a, b) = raw_pair().unwrap();
    let splits = [(0, 10), (10, 0), (5, 3 * PACKET), (PACKET + 3, 2 * PACKET + 1), (0, 0)];
    let receiver = std::thread::spawn(move || {
        (0..splits.len())
            .map(|_| b.recv(Some(std::time::Duration::from_secs(10))).unwrap())
            .collect::<Vec<_>>()
    });
    let bytes = |len: usize, k: usize| (0..len).map(|i| ((i + k) % 251) as u8).collect::<Vec<u8>>();
    for (k, &(first, second)) in splits.iter().enumerate() {
        a.send_parts(3, [&bytes(first, k), &bytes(second, k + 1)], &[])
            .unwrap();
    }
    for (k, m) in receiver.join().unwrap().into_iter().enumerate() {
        let (first, second) = splits[k];
        assert_eq!(m.kind, 3);
        assert!(m.bytes == [bytes(first, k), bytes(second, k + 1)].concat(), "{k}");
    }
}
