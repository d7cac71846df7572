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
//! its later large jobs on the socket (unless the worker could only not read this one now).
//!
//! A job of one task whose argument is one large byte string has that byte string read
//! into a buffer of its own, which the task's value takes as it is: the pool names it apart
//! where it holds it apart (the caller's own buffer, `pool/lone_bytes.rs`), and the worker
//! reads it apart where the items' first bytes look like its length.
//!
//! | kind | direction | payload |
//! |---|---|---|
//! | `RUN_FAR` | to worker | the job's head (as in `RUN`); `addr: u64`, `len: u64`: its items in the pool's memory; `addr: u64`, `len: u64`: its lone byte string's bytes held apart (`len` 0: none). The items' descriptors ride with it |
//! | `RUN_READ` | from worker | `read: u8`: [`READ`], or [`NOT_ALLOWED`] or [`NOT_NOW`] (send the job as `RUN`) |

use super::JOB_HEAD;
use super::far::offer;
use crate::sys::{fill_helped, try_zeroed};
use nix::errno::Errno;
use nix::unistd::Pid;

/// A job whose items the worker is to read from the pool's memory.
pub(crate) const RUN_FAR: u8 = 7;
/// Whether the worker read the items of the oldest `RUN_FAR` it was sent.
pub(crate) const RUN_READ: u8 = 18;

/// `RUN_READ`: the worker read the job.
pub(crate) const READ: u8 = 1;
/// `RUN_READ`: the worker may not read the pool's memory (a ptrace policy, seccomp, the
/// pool's process not dumpable): send this job, and lend no more.
pub(crate) const NOT_ALLOWED: u8 = 0;
/// `RUN_READ`: the worker could not read this job now (no memory for it, say): send it.
pub(crate) const NOT_NOW: u8 = 2;

/// The `RUN_READ` answer for what reading a job gave.
pub(crate) fn read_answer<T>(read: &nix::Result<T>) -> u8 {
    match read {
        Ok(_) => READ,
        Err(Errno::EPERM | Errno::EACCES | Errno::ENOSYS | Errno::ESRCH) => NOT_ALLOWED,
        Err(_) => NOT_NOW,
    }
}

/// Jobs whose items take this many bytes or more go as `RUN_FAR` (below it, the socket's
/// copies cost less than a second thread faulting the buffer in and the answer).
pub(crate) const RUN_FAR_FROM: usize = 1 << 20;

/// The payload of a `RUN_FAR` for the job whose head is `head` and whose items are `items`
/// then `tail`, in this process's memory: `tail` (empty if none) is the bytes of the lone
/// task's one byte string, held apart from the rest of its encoding.
pub(crate) fn encode_run_far(head: &[u8; JOB_HEAD], items: &[u8], tail: &[u8]) -> [u8; JOB_HEAD + 32] {
    let mut msg = [0; JOB_HEAD + 32];
    msg[..JOB_HEAD].copy_from_slice(head);
    msg[JOB_HEAD..JOB_HEAD + 16].copy_from_slice(&offer(items));
    msg[JOB_HEAD + 16..].copy_from_slice(&offer(tail));
    msg
}

/// Where a lent job's items lie (see [`encode_run_far`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FarItems {
    pub addr: usize,
    pub len: usize,
    /// The byte string held apart, if any: `(addr, len)`.
    pub tail: Option<(usize, usize)>,
}

/// A `RUN_FAR` payload as the job's head and where its items lie.
pub(crate) fn decode_run_far(b: &[u8]) -> Option<(&[u8], FarItems)> {
    let (head, at) = b.split_at_checked(JOB_HEAD)?;
    let (items, tail) = at.split_at_checked(16)?;
    let (addr, len) = super::decode_offer(items)?;
    let (tail_addr, tail_len) = super::decode_offer(tail)?;
    let tail = (tail_len > 0).then_some((tail_addr, tail_len));
    Some((head, FarItems { addr, len, tail }))
}

/// What a worker reads for a `RUN_FAR`: the `RUN` message it stands for and, where the job
/// is one task whose argument is one large byte string, that byte string apart, in a buffer
/// of its own that the task's value takes as it is (`codec::decode_spliced`): the message
/// then holds the rest of the argument, its length prefix.
pub(crate) struct FarJob {
    pub run: Vec<u8>,
    pub tail: Option<Vec<u8>>,
}

/// Reads the job of a `RUN_FAR` (`head`, then its `items` in process `owner`) into fresh
/// buffers (huge pages where the system allows) of at most `max` bytes.
pub(crate) fn read_run(owner: Pid, head: &[u8], items: FarItems, max: usize) -> nix::Result<FarJob> {
    let tail_len = items.tail.map_or(0, |(_, len)| len);
    let total = [items.len, tail_len].iter().try_fold(head.len(), |t, &n| t.checked_add(n));
    let total = total.filter(|&t| t <= max).ok_or(Errno::EMSGSIZE)?;
    if let Some((addr, len)) = items.tail {
        // The pool held the lone task's byte string apart: the items are the item's head
        // and the string's length prefix.
        let mut prefix = vec![0; items.len];
        super::far::read_into(owner, items.addr, &mut prefix)?;
        let run = split_run(head, &prefix, tail_len).ok_or(Errno::EINVAL)?;
        let tail = read_fresh(owner, addr, len)?;
        return Ok(FarJob { run, tail: Some(tail) });
    }
    if let Some((run, at)) = lone_byte_string(owner, head, items.addr, items.len)? {
        let tail = read_fresh(owner, items.addr + at, items.len - at)?;
        return Ok(FarJob { run, tail: Some(tail) });
    }
    let mut run = try_zeroed(total).ok_or(Errno::ENOMEM)?;
    run[..head.len()].copy_from_slice(head);
    read_helped(owner, items.addr, &mut run[head.len()..])?;
    Ok(FarJob { run, tail: None })
}

/// Where the job's items are one task whose argument is a byte string of
/// [`RUN_FAR_FROM`] bytes or more (its length, then its bytes: a `(Vec<u8>,)`, say): the
/// `RUN` message short of those bytes, and where they start in the items. A guess from the
/// layout alone: a value that is not such a byte string is decoded from the message and the
/// bytes joined, as a piece of a result is.
fn lone_byte_string(owner: Pid, head: &[u8], addr: usize, len: usize) -> nix::Result<Option<(Vec<u8>, usize)>> {
    /// An item's length and descriptor count, then a length prefix of up to 10 bytes.
    const PREFIX: usize = 4 + 1 + 10;
    if len < RUN_FAR_FROM {
        return Ok(None);
    }
    let mut prefix = [0; PREFIX];
    super::far::read_into(owner, addr, &mut prefix)?;
    let Ok((n, rest)) = postcard::take_from_bytes::<usize>(&prefix[5..]) else {
        return Ok(None);
    };
    let at = PREFIX - rest.len();
    if Some(len) != at.checked_add(n) {
        return Ok(None);
    }
    Ok(split_run(head, &prefix[..at], n).map(|run| (run, at)))
}

/// The `RUN` message of the one-task job `head` whose item is `prefix` (its head and its
/// argument's start) and then `tail` bytes held apart, the item's length saying `prefix`
/// alone; `None` unless the job has one task, the item no descriptors, and its length is
/// that of `prefix` and the tail.
fn split_run(head: &[u8], prefix: &[u8], tail: usize) -> Option<Vec<u8>> {
    let one = head.get(JOB_HEAD - 4..) == Some(&1u32.to_le_bytes()[..]);
    let (len, rest) = prefix.split_first_chunk::<4>()?;
    let whole = (prefix.len() - 5).checked_add(tail)?;
    if !one || rest.first() != Some(&0) || u32::from_le_bytes(*len) as usize != whole {
        return None;
    }
    let mut run = Vec::with_capacity(head.len() + prefix.len());
    run.extend_from_slice(head);
    run.extend_from_slice(&((prefix.len() - 5) as u32).to_le_bytes());
    run.extend_from_slice(rest);
    Some(run)
}

/// The `len` bytes at `addr` in process `owner`, in a fresh buffer.
fn read_fresh(owner: Pid, addr: usize, len: usize) -> nix::Result<Vec<u8>> {
    let mut bytes = try_zeroed(len).ok_or(Errno::ENOMEM)?;
    read_helped(owner, addr, &mut bytes)?;
    Ok(bytes)
}

/// Fills `bytes`, fresh memory, from `addr` in process `owner`, a second thread faulting it
/// in from its far end (the copy is mostly page faults in fresh memory).
fn read_helped(owner: Pid, addr: usize, bytes: &mut [u8]) -> nix::Result<()> {
    fill_helped(bytes, |at, step| super::far::read_into(owner, addr + at, step))
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
        let (items, tail) = (vec![5u8; 40], vec![6u8; 3]);
        let msg = encode_run_far(&head, &items, &tail);
        let (h, far) = decode_run_far(&msg).unwrap();
        assert_eq!(h, &head[..]);
        let tail = Some((tail.as_ptr() as usize, 3));
        assert_eq!((far.addr, far.len, far.tail), (items.as_ptr() as usize, 40, tail));
        let (_, far) = decode_run_far(&encode_run_far(&head, &items, &[])).unwrap();
        assert_eq!(far.tail, None);
        for cut in 0..msg.len() {
            assert!(decode_run_far(&msg[..cut]).is_none());
        }
    }

    #[test]
    fn a_refusal_says_whether_later_jobs_may_be_lent() {
        assert_eq!(read_answer(&Ok(())), READ);
        for e in [Errno::EPERM, Errno::EACCES, Errno::ENOSYS, Errno::ESRCH] {
            assert_eq!(read_answer::<()>(&Err(e)), NOT_ALLOWED, "{e}");
        }
        for e in [Errno::ENOMEM, Errno::EFAULT, Errno::EMSGSIZE, Errno::EINVAL] {
            assert_eq!(read_answer::<()>(&Err(e)), NOT_NOW, "{e}");
        }
    }

    /// Read from this process itself (as a worker reads its pool's): the head, then the
    /// items, across several steps; too large a job is refused before any read.
    #[test]
    fn a_job_is_read_into_a_run_message() {
        let head = super::super::job_head((1, 2, 3), 1);
        let items: Vec<u8> = (0..(9 << 20)).map(|k| (k % 251) as u8).collect();
        let me = nix::unistd::getpid();
        let far = |addr: usize, len| FarItems { addr, len, tail: None };
        let job = read_run(me, &head, far(items.as_ptr() as usize, items.len()), 64 << 20).unwrap();
        assert_eq!(&job.run[..JOB_HEAD], &head[..]);
        assert!(job.run[JOB_HEAD..] == items[..] && job.tail.is_none());
        assert!(resends(&job.run, &head));
        let small = read_run(me, &head, far(items.as_ptr() as usize, items.len()), 1 << 20);
        assert_eq!(small.err(), Some(Errno::EMSGSIZE));
        assert_eq!(read_run(me, &head, far(8, 16), 1 << 20).err(), Some(Errno::EFAULT));
    }
}
