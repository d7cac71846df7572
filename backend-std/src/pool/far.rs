//! The driver's side of `protocol::far` and `protocol::piece`: a worker's large result
//! batch read straight from its memory, or a large byte string of a result it is encoding
//! written by the worker straight into a buffer of the driver's (asked for here, taken in
//! `pieces.rs`), while the driver reads its socket (without the pool's lock).

use super::pieces::Pieces;
use crate::protocol::{DONE, DONE_FAR, FAR_REFUSED, PIECE, answer, decode_offer, read_offered};
use crate::wire::{Message, RawConn};
use nix::unistd::Pid;
use std::sync::Arc;

/// Turns each `DONE_FAR` among `messages` (from worker `pid` on `conn`) into the `DONE` it
/// offers, read from the worker's memory, and answers the worker; a `PIECE` (the last
/// message: the worker waits for the answer) is asked to be written into a buffer of the
/// driver's and leaves `messages` until it is (`pieces`). An offer that cannot be had is
/// dropped and the worker told to send it.
pub(super) fn take_offers(
    conn: &Arc<RawConn>,
    pid: Pid,
    messages: &mut Vec<Message>,
    pieces: &mut Pieces,
) {
    if !messages.iter().any(|m| m.kind == DONE_FAR || m.kind == PIECE) {
        return;
    }
    let last = messages.len() - 1;
    let mut at = 0;
    messages.retain_mut(|m| {
        at += 1;
        if m.kind != DONE_FAR && m.kind != PIECE {
            return true;
        }
        let Some((addr, len)) = decode_offer(&m.bytes) else {
            answer(conn, FAR_REFUSED);
            return false;
        };
        if m.kind == PIECE && at - 1 == last {
            pieces.ask(conn, pid, addr, len);
            return false;
        }
        let Some(bytes) = read_offered(conn, pid, addr, len) else {
            return false;
        };
        m.kind = if m.kind == PIECE { crate::protocol::PIECE_READ } else { DONE };
        m.bytes = bytes;
        true
    });
}

#[cfg(test)]
mod tests {
    use super::super::pieces::Pieces;
    use super::take_offers;
    use std::sync::Arc;
    use crate::protocol::read_from;
    use crate::owner::call_tag;
    use crate::protocol::{
        self, DONE, DONE_FAR, DONE_SPLICED, EXIT, FAR_REFUSED, FAR_TAKEN, PIECE, PIECE_INTO,
        PIECE_WRITTEN, RUN,
    };
    use std::time::Duration;
    use crate::task::erase;
    use crate::wire::{Message, raw_pair};
    use crate::zygote::release_many;
    use nix::unistd::Pid;

    fn text_of(n: u64) -> String {
        "x".repeat(n as usize)
    }

    /// An offer that cannot be read (an address this process does not map) is dropped and
    /// refused, so the worker sends the batch itself; a readable one becomes its `DONE`.
    #[test]
    fn an_unreadable_offer_is_refused_and_a_readable_one_taken() {
        let (driver, worker) = raw_pair().unwrap();
        let driver = Arc::new(driver);
        let here = Pid::this();
        let data = vec![9u8; 3 << 20];
        let offer = |addr: usize, len: usize| {
            let mut b = (addr as u64).to_le_bytes().to_vec();
            b.extend_from_slice(&(len as u64).to_le_bytes());
            Message {
                kind: DONE_FAR,
                bytes: b,
                fds: Vec::new(),
                fds_lost: false,
                cut: None,
            }
        };
        let mut messages = vec![offer(8, 4096), offer(data.as_ptr() as usize, data.len())];
        take_offers(&driver, here, &mut messages, &mut Pieces::default());
        assert_eq!(messages.len(), 1);
        assert_eq!((messages[0].kind, messages[0].bytes == data), (DONE, true));
        let answers: Vec<u8> = (0..2).map(|_| worker.recv(None).unwrap().kind).collect();
        assert_eq!(answers, [FAR_REFUSED, FAR_TAKEN]);
        assert!(read_from(here, data.as_ptr() as usize, data.len(), 1 << 20).is_err());
    }

    /// The driver takes a piece by having the worker write it into a buffer of its own:
    /// the worker's `PIECE` becomes the piece's bytes, and the batch that places it follows.
    #[test]
    fn a_piece_is_written_into_the_drivers_buffer() {
        let key = 0x0bad_cafe_f00d_0001;
        let (pid, conn) = crate::worker::started_for_test(key, true);
        let call = erase::<_, (u64,), String>(text_of);
        let mut item = Vec::new();
        let at = protocol::start_item(&mut item);
        item.extend_from_slice(&crate::codec::encode(&(3u64 << 20,)).unwrap().0);
        protocol::finish_item(&mut item, at, 0);
        let mut msg = Vec::new();
        protocol::push_job(&mut msg, (0, call, call_tag(key, call)), 1, &item);
        conn.send(RUN, &msg, &[]).unwrap();
        let conn = Arc::new(conn);
        let mut messages = vec![conn.recv(None).unwrap()];
        assert_eq!(messages[0].kind, PIECE);
        // Asked for: the offer leaves the messages until the worker's answer comes.
        let mut pieces = Pieces::default();
        take_offers(&conn, pid, &mut messages, &mut pieces);
        assert!(messages.is_empty() && pieces.next_deadline().is_some());
        let mut messages = vec![conn.recv(None).unwrap()];
        assert_eq!(messages[0].kind, PIECE_WRITTEN);
        pieces.answered(&conn, &mut messages);
        assert!(pieces.next_deadline().is_none());
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].kind, protocol::PIECE_READ);
        assert!(messages[0].bytes == vec![b'x'; 3 << 20]);
        let spliced = conn.recv(None).unwrap();
        assert_eq!(spliced.kind, DONE_SPLICED);
        let piece = messages.remove(0).bytes;
        let answers = protocol::decode_spliced(spliced.bytes, vec![piece], spliced.fds).unwrap();
        assert_eq!(answers[0].tail.as_ref().map(Vec::len), Some(3 << 20));
        conn.send(EXIT, &[], &[]).unwrap();
        release_many(&[(pid, false)]).unwrap();
    }

    /// A worker that may not write says so: the driver reads the piece instead. One that
    /// does not answer is given up once the bound passes (it might still write); one that
    /// hangs up is gone.
    #[test]
    fn a_piece_the_worker_cannot_write_is_read() {
        let (driver, worker) = raw_pair().unwrap();
        let data = vec![5u8; 2 << 20];
        let (addr, len) = (data.as_ptr() as usize, data.len());
        let fake = std::thread::spawn(move || {
            let into = worker.recv(None).unwrap();
            assert_eq!((into.kind, into.bytes.len()), (PIECE_INTO, 8));
            worker.send(PIECE_WRITTEN, &[0], &[]).unwrap();
            assert_eq!(worker.recv(None).unwrap().kind, FAR_TAKEN);
            // Asked again, it says nothing.
            assert_eq!(worker.recv(None).unwrap().kind, PIECE_INTO);
            worker
        });
        let got = protocol::take_piece(&driver, Pid::this(), addr, len).unwrap();
        assert!(got == data);
        driver.enqueue(PIECE_INTO, &[0; 8], Vec::new()).unwrap();
        driver.flush().unwrap();
        let worker = fake.join().unwrap(); // kept open: no answer, no end of file
        let bound = Duration::from_millis(50);
        assert_eq!(protocol::written(&driver, bound), protocol::Written::Silent);
        // Hung up: it writes nothing more.
        drop(worker);
        assert_eq!(protocol::written(&driver, bound), protocol::Written::Gone);
    }

    /// A worker told in `INIT` that its pool reads its memory lends a large byte string of
    /// a result while encoding it and waits for the answer: refused, it encodes the bytes
    /// and offers the whole batch instead, then sends it itself when that is refused too;
    /// taken, the batch comes as `DONE_SPLICED`, which the piece completes.
    #[test]
    fn a_worker_lends_a_large_result_and_sends_it_when_refused() {
        let key = 0x0123_4567_89ab_cdef;
        let (pid, conn) = crate::worker::started_for_test(key, true);
        let call = erase::<_, (u64,), String>(text_of);
        let run = |first: u64| {
            let mut item = Vec::new();
            let at = protocol::start_item(&mut item);
            item.extend_from_slice(&crate::codec::encode(&(2u64 << 20,)).unwrap().0);
            protocol::finish_item(&mut item, at, 0);
            let mut msg = Vec::new();
            protocol::push_job(&mut msg, (first, call, call_tag(key, call)), 1, &item);
            msg
        };
        let value_of = |answers: Vec<protocol::Answer>| {
            assert_eq!((answers.len(), answers[0].seq), (1, 1));
            let mut got = Vec::new();
            let raw = answers.into_iter().next().unwrap().into_result(1).unwrap();
            raw.decode_each(|v: crate::Result<String>| got.push(v.unwrap()));
            got
        };
        let next = |kind: u8| {
            let m = conn.recv(None).unwrap();
            assert_eq!(m.kind, kind);
            m
        };
        // Refused twice: the same batch comes on the socket.
        conn.send(RUN, &run(0), &[]).unwrap();
        next(PIECE);
        conn.send(FAR_REFUSED, &[], &[]).unwrap();
        next(DONE_FAR);
        conn.send(FAR_REFUSED, &[], &[]).unwrap();
        let sent = next(DONE);
        assert!(sent.bytes.len() > 2 << 20);
        assert_eq!(protocol::decode_done(sent.bytes, sent.fds).unwrap()[0].seq, 0);
        // Taken: the piece is read from its memory, and the batch comes without it.
        conn.send(RUN, &run(1), &[]).unwrap();
        let offer = next(PIECE);
        let (addr, len) = protocol::decode_offer(&offer.bytes).unwrap();
        let piece = read_from(pid, addr, len, 1 << 30).unwrap();
        assert_eq!(piece, vec![b'x'; 2 << 20]);
        conn.send(FAR_TAKEN, &[], &[]).unwrap();
        let spliced = next(DONE_SPLICED);
        assert!(spliced.bytes.len() < 100);
        let answers = protocol::decode_spliced(spliced.bytes, vec![piece], spliced.fds).unwrap();
        assert_eq!(value_of(answers), ["x".repeat(2 << 20)]);
        conn.send(EXIT, &[], &[]).unwrap();
        assert!(conn.recv(Some(std::time::Duration::from_secs(10))).is_err());
        release_many(&[(pid, false)]).unwrap();
    }
}
