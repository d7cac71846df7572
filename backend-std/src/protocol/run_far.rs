//! Large jobs read by the worker from the pool's memory instead of the socket.
//!
//! Written to the socket, a job with a 64 MiB argument is copied twice more after it is
//! encoded: into the kernel's socket buffers in 64 KiB packets, and out of them into the
//! worker's buffer (about the raw pipe bandwidth, 1.3 GB/s here: 50 ms). A worker process
//! of a local pool (told so in `INIT`) is instead sent `RUN_FAR`, which names where the
//! job's encoded items lie in the pool's memory; the worker copies them straight into a
//! buffer of its own with `process_vm_readv(2)` (the pool's process is its ancestor, with
//! its credentials), while a second thread faults that buffer in from its far end, and
//! answers `RUN_READ`. The pool keeps the items, which nothing changes, until that answer.
//!
//! Where the read is not allowed (the pool's process is not dumpable, a ptrace policy,
//! seccomp) or the buffer cannot be had, the worker answers that it did not read them and
//! waits for the job to come as a `RUN` message, which the pool then sends; messages that
//! come meanwhile wait in order behind it. Nothing is lost either way, and the pool sends
//! its later large jobs on the socket.
//!
//! | kind | direction | payload |
//! |---|---|---|
//! | `RUN_FAR` | to worker | the job's head (as in `RUN`), `addr: u64`, `len: u64`: its items in the pool's memory; the items' descriptors ride with it |
//! | `RUN_READ` | from worker | `read: u8`: 1, or 0 (send the job as `RUN`) |

use super::JOB_HEAD;
use super::far::offer;
use crate::sys::{FaultHelper, HELP_FROM, try_zeroed};
use nix::errno::Errno;
use nix::unistd::Pid;

/// A job whose items the worker is to read from the pool's memory.
pub(crate) const RUN_FAR: u8 = 7;
/// Whether the worker read the items of the oldest `RUN_FAR` it was sent.
pub(crate) const RUN_READ: u8 = 18;

/// Jobs whose items take this many bytes or more go as `RUN_FAR` (below it, the socket's
/// copies cost less than a second thread faulting the buffer in and the answer).
pub(crate) const RUN_FAR_FROM: usize = 1 << 20;

/// What a worker reads at a time (its helper then faults in the far end meanwhile).
const STEP: usize = 2 << 20;

/// The payload of a `RUN_FAR` for the job whose head is `head` and whose items are
/// `items`, in this process's memory.
pub(crate) fn encode_run_far(head: &[u8; JOB_HEAD], items: &[u8]) -> [u8; JOB_HEAD + 16] {
    let mut msg = [0; JOB_HEAD + 16];
    msg[..JOB_HEAD].copy_from_slice(head);
    msg[JOB_HEAD..].copy_from_slice(&offer(items));
    msg
}

/// A `RUN_FAR` payload as the job's head and where its items lie: `(head, addr, len)`.
pub(crate) fn decode_run_far(b: &[u8]) -> Option<(&[u8], usize, usize)> {
    let (head, at) = b.split_at_checked(JOB_HEAD)?;
    let (addr, len) = super::decode_offer(at)?;
    Some((head, addr, len))
}

/// What a worker reads for a `RUN_FAR`: the `RUN` message it stands for and, where the job
/// is one task whose argument is one large byte string, that byte string apart, in a buffer
/// of its own that the task's value takes as it is (`codec::decode_spliced`): the message
/// then holds the rest of the argument, its length prefix.
pub(crate) struct FarJob {
    pub run: Vec<u8>,
    pub tail: Option<Vec<u8>>,
}

/// Reads the job of a `RUN_FAR` (`head`, then the `len` bytes of items at `addr` in process
/// `owner`) into fresh buffers (huge pages where the system allows) of at most `max` bytes.
pub(crate) fn read_run(owner: Pid, head: &[u8], addr: usize, len: usize, max: usize) -> nix::Result<FarJob> {
    let total = head.len().checked_add(len).filter(|&t| t <= max).ok_or(Errno::EMSGSIZE)?;
    if let Some((mut run, at)) = lone_byte_string(owner, head, addr, len)? {
        let tail = read_fresh(owner, addr + at, len - at)?;
        run.shrink_to_fit();
        return Ok(FarJob { run, tail: Some(tail) });
    }
    let mut run = try_zeroed(total).ok_or(Errno::ENOMEM)?;
    run[..head.len()].copy_from_slice(head);
    read_helped(owner, addr, &mut run[head.len()..])?;
    Ok(FarJob { run, tail: None })
}

/// Where the job's items are one task whose argument is a byte string of
/// [`RUN_FAR_FROM`] bytes or more (its length, then its bytes: a `(Vec<u8>,)`, say): the
/// `RUN` message short of those bytes (its item's length says so), and where they start in
/// the items. A guess from the layout alone: a value that is not such a byte string is
/// decoded from the message and the bytes joined, as a piece of a result is.
fn lone_byte_string(owner: Pid, head: &[u8], addr: usize, len: usize) -> nix::Result<Option<(Vec<u8>, usize)>> {
    /// An item's length and descriptor count, then a length prefix of up to 10 bytes.
    const PREFIX: usize = 4 + 1 + 10;
    if head.get(JOB_HEAD - 4..) != Some(&1u32.to_le_bytes()[..]) || len < RUN_FAR_FROM {
        return Ok(None);
    }
    let mut prefix = [0; PREFIX];
    super::far::read_into(owner, addr, &mut prefix)?;
    let item_len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    let Ok((n, rest)) = postcard::take_from_bytes::<usize>(&prefix[5..]) else {
        return Ok(None);
    };
    let at = PREFIX - rest.len();
    if prefix[4] != 0 || item_len as usize != len - 5 || Some(len) != at.checked_add(n) {
        return Ok(None);
    }
    let mut run = Vec::with_capacity(head.len() + at);
    run.extend_from_slice(head);
    run.extend_from_slice(&((at - 5) as u32).to_le_bytes());
    run.extend_from_slice(&prefix[4..at]);
    Ok(Some((run, at)))
}

/// The `len` bytes at `addr` in process `owner`, in a fresh buffer.
fn read_fresh(owner: Pid, addr: usize, len: usize) -> nix::Result<Vec<u8>> {
    let mut bytes = try_zeroed(len).ok_or(Errno::ENOMEM)?;
    read_helped(owner, addr, &mut bytes)?;
    Ok(bytes)
}

/// Fills `bytes`, fresh memory, from `addr` in process `owner`, while a second thread
/// faults it in from its far end: the copy is mostly page faults in fresh memory.
fn read_helped(owner: Pid, addr: usize, bytes: &mut [u8]) -> nix::Result<()> {
    let helper = (bytes.len() >= HELP_FROM)
        .then(|| FaultHelper::start(bytes.as_ptr() as usize, bytes.len()))
        .flatten();
    for (k, chunk) in bytes.chunks_mut(STEP).enumerate() {
        super::far::read_into(owner, addr + k * STEP, chunk)?;
        if let Some(h) = &helper {
            h.filled((k + 1) * STEP);
        }
    }
    Ok(())
}

/// Whether `run`, a `RUN` message, is the one a refused `RUN_FAR` with `head` stands for.
pub(crate) fn resends(run: &[u8], head: &[u8]) -> bool {
    run.starts_with(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offer_round_trips_and_a_short_one_is_refused() {
        let head = super::super::job_head((7, 0x1234, 99), 1);
        let items = vec![5u8; 40];
        let msg = encode_run_far(&head, &items);
        let (h, addr, len) = decode_run_far(&msg).unwrap();
        assert_eq!((h, addr, len), (&head[..], items.as_ptr() as usize, 40));
        for cut in 0..msg.len() {
            assert!(decode_run_far(&msg[..cut]).is_none());
        }
    }

    /// Read from this process itself (as a worker reads its pool's): the head, then the
    /// items, across several steps; too large a job is refused before any read.
    #[test]
    fn a_job_is_read_into_a_run_message() {
        let head = super::super::job_head((1, 2, 3), 1);
        let items: Vec<u8> = (0..(9 << 20)).map(|k| (k % 251) as u8).collect();
        let me = nix::unistd::getpid();
        let job = read_run(me, &head, items.as_ptr() as usize, items.len(), 64 << 20).unwrap();
        assert_eq!(&job.run[..JOB_HEAD], &head[..]);
        assert!(job.run[JOB_HEAD..] == items[..] && job.tail.is_none());
        assert!(resends(&job.run, &head));
        let small = read_run(me, &head, items.as_ptr() as usize, items.len(), 1 << 20);
        assert_eq!(small.err(), Some(Errno::EMSGSIZE));
        assert_eq!(read_run(me, &head, 8, 16, 1 << 20).err(), Some(Errno::EFAULT));
    }
}
