//! The driver's side of `protocol::far`: a worker's large result batch, read straight from
//! its memory while the driver reads its socket (without the pool's lock).

use crate::protocol::{DONE, DONE_FAR, FAR_REFUSED, FAR_TAKEN, decode_offer, read_from};
use crate::wire::{Message, RawConn};
use nix::unistd::Pid;

/// Turns each `DONE_FAR` among `messages` (from worker `pid` on `conn`) into the `DONE` it
/// offers, read from the worker's memory, and answers the worker; one that cannot be read
/// is dropped and the worker told to send it.
pub(super) fn take_offers(conn: &RawConn, pid: Pid, messages: &mut Vec<Message>) {
    if !messages.iter().any(|m| m.kind == DONE_FAR) {
        return;
    }
    messages.retain_mut(|m| {
        if m.kind != DONE_FAR {
            return true;
        }
        let read = decode_offer(&m.bytes)
            .ok_or(nix::errno::Errno::EINVAL)
            .and_then(|(addr, len)| read_from(pid, addr, len, conn.max_message()));
        let answer = match read {
            Ok(bytes) => {
                m.kind = DONE;
                m.bytes = bytes;
                FAR_TAKEN
            }
            Err(_) => FAR_REFUSED,
        };
        // Queued behind anything queued for it, sent now if the socket has room (else by
        // the driver's next flush): the worker waits for it.
        if conn.enqueue(answer, &[], Vec::new()).is_ok() {
            let _ = conn.flush();
        }
        answer == FAR_TAKEN
    });
}

#[cfg(test)]
mod tests {
    use super::take_offers;
    use crate::protocol::read_from;
    use crate::owner::call_tag;
    use crate::protocol::{self, DONE, DONE_FAR, EXIT, FAR_REFUSED, FAR_TAKEN, RUN};
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
            }
        };
        let mut messages = vec![offer(8, 4096), offer(data.as_ptr() as usize, data.len())];
        take_offers(&driver, here, &mut messages);
        assert_eq!(messages.len(), 1);
        assert_eq!((messages[0].kind, messages[0].bytes == data), (DONE, true));
        let answers: Vec<u8> = (0..2).map(|_| worker.recv(None).unwrap().kind).collect();
        assert_eq!(answers, [FAR_REFUSED, FAR_TAKEN]);
        assert!(read_from(here, data.as_ptr() as usize, data.len(), 1 << 20).is_err());
    }

    /// A worker told in `INIT` that its pool reads its memory offers a large batch, waits for
    /// the answer, and sends the batch itself when refused.
    #[test]
    fn a_worker_offers_a_large_batch_and_sends_it_when_refused() {
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
        let value_in = |m: Message| {
            let answers = protocol::decode_done(m.bytes, m.fds).unwrap();
            answers.len() == 1 && answers[0].seq == 0
        };
        // Refused: the same batch comes on the socket.
        conn.send(RUN, &run(0), &[]).unwrap();
        let offer = conn.recv(None).unwrap();
        assert_eq!(offer.kind, DONE_FAR);
        conn.send(FAR_REFUSED, &[], &[]).unwrap();
        let sent = conn.recv(None).unwrap();
        assert_eq!(sent.kind, DONE);
        assert!(sent.bytes.len() > 2 << 20 && value_in(sent));
        // Taken: read from its memory, and nothing more comes for it.
        conn.send(RUN, &run(1), &[]).unwrap();
        let offer = conn.recv(None).unwrap();
        assert_eq!(offer.kind, DONE_FAR);
        let (addr, len) = protocol::decode_offer(&offer.bytes).unwrap();
        let read = read_from(pid, addr, len, 1 << 30).unwrap();
        assert!(read.len() > 2 << 20);
        conn.send(FAR_TAKEN, &[], &[]).unwrap();
        conn.send(EXIT, &[], &[]).unwrap();
        assert!(conn.recv(Some(std::time::Duration::from_secs(10))).is_err());
        release_many(&[(pid, false)]).unwrap();
    }
}
