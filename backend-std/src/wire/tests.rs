//! Property tests of the message layer: arbitrary packets, interleaved writers.

use super::*;
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
