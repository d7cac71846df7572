//! A fake lending a large byte string of its result to the pool (`protocol::piece`): it
//! offers the bytes and, once the pool asks for them to be written into its buffer, waits
//! for the test to let it write them.

use super::{Log, bounded, double, eventually, new_log, pool_of};
use crate::error::Result;
use crate::protocol::{
    self, DONE_SPLICED, PIECE, PIECE_INTO, PIECE_WRITTEN, ResultBatch, offer, write_to,
};
use crate::task::Status;
use crate::wire::RawConn;
use nix::unistd::Pid;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// The length of a lent result.
const PIECE_LEN: usize = 2 << 20;

/// What a lending fake tells the test, and waits for.
#[derive(Default)]
pub(super) struct Lending {
    /// The pool asked for the piece to be written (and waits for it).
    asked: AtomicBool,
    /// The fake hangs up instead of writing the piece, as a worker that dies there does.
    hang_up: AtomicBool,
    open: Mutex<bool>,
    opened: Condvar,
}

impl Lending {
    /// Lets the fake write the piece.
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    fn wait_open(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }
}

/// Answers task `seq` with [`PIECE_LEN`] bytes of 7 (a `Vec<u8>`, a byte string) whose bytes are lent:
/// offered, asked for, and written once the test opens the gate.
pub(super) fn lend_one(conn: &RawConn, seq: u64, lending: &Lending) -> Result<()> {
    let value = vec![7u8; PIECE_LEN];
    let mut lend = |bytes: &[u8]| {
        if conn.send(PIECE, &offer(bytes), &[]).is_err() {
            return false;
        }
        let into = match conn.recv(None) {
            Ok(m) if m.kind == PIECE_INTO && m.bytes.len() == 8 => m.bytes,
            _ => return false,
        };
        let at = u64::from_le_bytes(into.try_into().unwrap_or_default()) as usize;
        lending.asked.store(true, Ordering::SeqCst);
        lending.wait_open();
        if lending.hang_up.load(Ordering::SeqCst) {
            return false;
        }
        // The fake is a thread of the pool's process: it writes into its own memory.
        let wrote = write_to(Pid::this(), at, bytes).is_ok();
        conn.send(PIECE_WRITTEN, &[u8::from(wrote)], &[]).is_ok() && wrote
    };
    let mut batch = ResultBatch::default();
    let hang_up = || lending.hang_up.load(Ordering::SeqCst);
    batch.push_lending(seq, usize::MAX, Some(&mut lend), |out| {
        match crate::codec::encode_lending(&value, out.bytes, out.lend.as_deref_mut()) {
            Ok(_) => Status::Ok,
            Err(_) => Status::Encode,
        }
    });
    if hang_up() {
        return Err(crate::error::Error::Disconnected);
    }
    batch.end_run();
    let pieces = std::mem::take(&mut batch.pieces);
    protocol::seal(&mut batch.bytes, &pieces);
    conn.send(DONE_SPLICED, &batch.bytes, &batch.fds)
}

/// Never called: a fake answers by its script.
fn bytes_of(_: u64) -> Vec<u8> {
    Vec::new()
}

/// A log whose fakes are read and written as processes are.
fn far_log() -> std::sync::Arc<Log> {
    let log = new_log();
    log.far.store(true, Ordering::SeqCst);
    log
}

/// While a worker writes a large byte string of its result into the pool's buffer, the
/// pool serves the other workers (the driver does not wait for the write), and the lent
/// bytes arrive whole once written.
#[test]
fn a_piece_being_written_holds_up_no_other_worker() {
    bounded(|| {
        let log = far_log();
        let pool = pool_of(2, &log).unwrap();
        let big = pool.apply_async(bytes_of, (super::LEND,)).unwrap();
        assert!(eventually(|| log.lending.asked.load(Ordering::SeqCst)));
        // The other worker's answer comes while the piece is still unwritten.
        let small = pool.apply_async(double, (21,)).unwrap();
        let got = small.get_timeout(Duration::from_secs(5));
        log.lending.open();
        assert_eq!(got.unwrap(), 42);
        let v = big.get().unwrap();
        assert!(v.len() == PIECE_LEN && v.iter().all(|&b| b == 7));
        assert_eq!(pool.map(double, 0..20).unwrap().len(), 20);
        pool.close();
        pool.join().unwrap();
    });
}

/// A worker that dies while the pool waits for its piece fails that task alone: the
/// buffer is let go (nothing can write into it any more) and the pool serves on.
#[test]
fn a_worker_that_dies_before_writing_its_piece_fails_that_task_alone() {
    bounded(|| {
        let log = far_log();
        let pool = pool_of(2, &log).unwrap();
        log.lending.hang_up.store(true, Ordering::SeqCst);
        let big = pool.apply_async(bytes_of, (super::LEND,)).unwrap();
        assert!(eventually(|| log.lending.asked.load(Ordering::SeqCst)));
        log.lending.open();
        assert!(matches!(big.get(), Err(crate::Error::WorkerDied { .. })));
        assert_eq!(pool.map(double, 0..20).unwrap().len(), 20);
        assert!(eventually(|| pool.stats().workers == 2));
        pool.close();
        pool.join().unwrap();
    });
}
