//! How a worker's results reach the pool: batches sent on the socket, offered to be read
//! from this process's memory, or (large byte strings) lent while they are encoded.

use super::{Exit, RETAIN, broken};
use crate::protocol::{
    self, DONE, DONE_FAR, DONE_SPLICED, FAR_FROM, PIECE, RUN, RUN_READ, ResultBatch,
    ResultLog,
};
use crate::wire::{Message, RawConn};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::time::Duration;

/// How this worker's results reach the pool.
pub(super) struct Out<'a> {
    pub(super) conn: &'a RawConn,
    /// Whether the pool reads large batches from this process's memory (`protocol::far`).
    pub(super) far: bool,
    /// The pool's process, which may ask for a piece to be written into it.
    pub(super) owner: Option<Pid>,
    /// Messages that came while waiting for the answer to an offer, in order.
    pub(super) stash: VecDeque<Message>,
}

impl Out<'_> {
    /// The next message from the pool; `None` when it is gone.
    pub(super) fn next(&mut self) -> Option<Message> {
        self.stash.pop_front().or_else(|| self.conn.recv(None).ok())
    }

    /// Whether a message is waiting.
    pub(super) fn waiting(&self) -> bool {
        !self.stash.is_empty() || self.conn.poll(Duration::ZERO).unwrap_or(true)
    }

    /// Offers a large batch to be read from this process's memory (`protocol::far`; the
    /// offer and its wait are a piece's, `protocol::lend`); whether the pool took it (else
    /// it is to be sent).
    fn offer(&mut self, batch: &ResultBatch) -> bool {
        if !self.far || batch.bytes.len() < FAR_FROM || !batch.fds.is_empty() {
            return false;
        }
        let stash = &mut self.stash;
        protocol::lend(self.conn, DONE_FAR, self.owner, &batch.bytes, &mut |m| {
            stash.push_back(m)
        })
    }

    /// Lends a large byte string of a value being encoded (see `protocol::piece`): whether
    /// the pool took it (else it is encoded as usual; a pool gone is found by the flush).
    pub(super) fn lend(&mut self, bytes: &[u8]) -> bool {
        let stash = &mut self.stash;
        protocol::lend(self.conn, PIECE, self.owner, bytes, &mut |m| stash.push_back(m))
    }

    /// The `RUN` message that `m`, a `RUN_FAR`, stands for (`protocol::run_far`), with the
    /// byte string its lone task's argument is, read apart, if so: read from the pool's
    /// memory, or, where that cannot be, sent by the pool once told (the messages that come
    /// before it wait in the stash, behind it).
    pub(super) fn fetch_run(&mut self, m: Message) -> Result<(Message, Option<Vec<u8>>), Exit> {
        let (head, items) = protocol::decode_run_far(&m.bytes).ok_or(super::BROKEN)?;
        let max = self.conn.max_message();
        let read = match self.owner {
            Some(owner) if self.far => protocol::read_run(owner, head, items, max),
            _ => Err(nix::errno::Errno::EPERM),
        };
        self.conn.send(RUN_READ, &[protocol::read_answer(&read)], &[]).map_err(broken)?;
        if let Ok(job) = read {
            return Ok((Message { kind: RUN, bytes: job.run, ..m }, job.tail));
        }
        loop {
            let next = self.conn.recv(None).map_err(broken)?;
            if next.kind == RUN && protocol::resends(&next.bytes, head) {
                return Ok((Message { kind: RUN, bytes: next.bytes, ..m }, None));
            }
            self.stash.push_back(next);
        }
    }

    pub(super) fn flush(&mut self, batch: &mut ResultBatch, log: &mut Option<ResultLog>) -> Result<(), Exit> {
        batch.end_run();
        if !batch.is_empty() {
            if !batch.pieces.is_empty() {
                let pieces = std::mem::take(&mut batch.pieces);
                protocol::seal(&mut batch.bytes, &pieces);
                let sent = self.conn.send(DONE_SPLICED, &batch.bytes, &batch.fds);
                sent.map_err(broken)?;
            } else if !self.offer(batch) {
                self.conn.send(DONE, &batch.bytes, &batch.fds).map_err(broken)?;
            }
            if let Some(log) = log {
                log.sent();
            }
            batch.sent(RETAIN);
        }
        Ok(())
    }
}


#[cfg(test)]
mod tests {
    use crate::owner::call_tag;
    use crate::protocol::{self, DONE, EXIT, RUN, RUN_FAR, RUN_READ};
    use crate::task::erase;
    use crate::zygote::release_many;

    fn triple(x: u64) -> u64 {
        x * 3
    }

    /// One job of `triple` on `x` as task `seq`: its head and items.
    fn job(key: u64, seq: u64, x: u64) -> ([u8; protocol::JOB_HEAD], Vec<u8>) {
        let call = erase::<_, (u64,), u64>(triple);
        let mut items = Vec::new();
        let at = protocol::start_item(&mut items);
        items.extend_from_slice(&crate::codec::encode(&(x,)).unwrap().0);
        protocol::finish_item(&mut items, at, 0);
        (protocol::job_head((seq, call, call_tag(key, call)), 1), items)
    }

    /// A worker that may not read its pool's memory refuses a lent job and waits for it on
    /// the socket; a job sent after the lent one waits behind it.
    #[test]
    fn a_job_the_worker_may_not_read_is_run_from_the_socket_before_what_followed_it() {
        let key = 0x00dd_ba11_5eed;
        // Not told the pool reads its memory: it reads none of the pool's either.
        let (pid, conn) = crate::worker::started_for_test(key, false);
        let (head, items) = job(key, 0, 14);
        conn.send(RUN_FAR, &protocol::encode_run_far(&head, &items, &[]), &[]).unwrap();
        let (next_head, next_items) = job(key, 1, 5);
        conn.send(RUN, &[&next_head[..], &next_items].concat(), &[]).unwrap();
        let m = conn.recv(None).unwrap();
        assert_eq!((m.kind, &m.bytes[..]), (RUN_READ, &[protocol::NOT_ALLOWED][..]));
        conn.send(RUN, &[&head[..], &items].concat(), &[]).unwrap();
        let mut got = Vec::new();
        while got.len() < 2 {
            let m = conn.recv(None).unwrap();
            assert_eq!(m.kind, DONE);
            for a in protocol::decode_done(m.bytes, m.fds).unwrap() {
                assert_eq!((a.count, a.status), (1, None));
                a.into_result(0).unwrap().decode_each(|v: crate::error::Result<u64>| {
                    got.push(v.unwrap());
                });
            }
        }
        assert_eq!(got, [42, 15]);
        conn.send(EXIT, &[], &[]).unwrap();
        release_many(&[(pid, false)]).unwrap();
    }
}
