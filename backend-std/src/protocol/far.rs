//! Large result batches read from the worker's memory instead of the socket.
//!
//! Written to the socket, a 64 MiB batch is copied three times: into the worker's batch,
//! into the kernel's socket buffers, out of them. A worker process of a local pool (told so
//! in `INIT`) offers a batch from [`FAR_FROM`] bytes on instead: `DONE_FAR` names where it
//! lies in the worker's memory; the driver copies it straight into its own buffer with
//! `process_vm_readv(2)` (the worker is its descendant, with its credentials) and answers
//! `FAR_TAKEN`, and only then does the worker reuse the memory. Where the read is not
//! allowed (a ptrace policy, seccomp) the driver answers `FAR_REFUSED` and the worker sends
//! the batch on the socket as usual: nothing is lost either way.
//!
//! | kind | direction | payload |
//! |---|---|---|
//! | `DONE_FAR` | from worker | `addr: u64`, `len: u64`: a `DONE` body in its memory |
//! | `FAR_TAKEN` | to worker | empty: the batch was read, as if sent |
//! | `FAR_REFUSED` | to worker | empty: send it on the socket |
//!
//! A `Process` child's return value is offered the same way to the parent that joins it
//! (`process_answer.rs`), which asks for it to be written into a buffer of its own, as a
//! piece is (`lend.rs`).

use nix::sys::uio::{RemoteIoVec, process_vm_readv, process_vm_writev};
use nix::unistd::Pid;
use std::io::{IoSlice, IoSliceMut};

/// A worker's offer of a result batch in its memory.
pub(crate) const DONE_FAR: u8 = 14;
/// The driver read the batch.
pub(crate) const FAR_TAKEN: u8 = 4;
/// The driver could not read the batch: send it.
pub(crate) const FAR_REFUSED: u8 = 5;

/// Batches from this size on are offered (below it, the socket's copies cost less than the
/// round trip of an offer).
pub(crate) const FAR_FROM: usize = 1 << 20;

/// The offer of `bytes`, where they lie in this process.
pub(crate) fn offer(bytes: &[u8]) -> [u8; 16] {
    let mut o = [0; 16];
    o[..8].copy_from_slice(&(bytes.as_ptr() as u64).to_le_bytes());
    o[8..].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
    o
}

/// Where an offer says the batch lies: `(addr, len)`.
pub(crate) fn decode_offer(b: &[u8]) -> Option<(usize, usize)> {
    let addr = u64::from_le_bytes(b.get(..8)?.try_into().ok()?);
    let len = u64::from_le_bytes(b.get(8..16)?.try_into().ok()?);
    (b.len() == 16).then_some((usize::try_from(addr).ok()?, usize::try_from(len).ok()?))
}

/// `len` bytes at `addr` in process `pid`, into a new vector (huge pages where the system
/// allows); at most `max` bytes.
#[cfg(test)]
pub(crate) fn read_from(pid: Pid, addr: usize, len: usize, max: usize) -> nix::Result<Vec<u8>> {
    let mut bytes = buffer(len, max)?;
    read_into(pid, addr, &mut bytes)?;
    Ok(bytes)
}

/// A buffer for `len` bytes read or written from another process (huge pages where the
/// system allows); at most `max` bytes.
pub(crate) fn buffer(len: usize, max: usize) -> nix::Result<Vec<u8>> {
    if len == 0 || len > max {
        return Err(nix::errno::Errno::EMSGSIZE);
    }
    crate::sys::try_zeroed(len).ok_or(nix::errno::Errno::ENOMEM)
}

/// Fills `bytes` from `addr` in process `pid`.
pub(crate) fn read_into(pid: Pid, addr: usize, bytes: &mut [u8]) -> nix::Result<()> {
    let mut done = 0;
    while done < bytes.len() {
        let remote = [RemoteIoVec {
            base: addr + done,
            len: bytes.len() - done,
        }];
        let n = process_vm_readv(pid, &mut [IoSliceMut::new(&mut bytes[done..])], &remote)?;
        if n == 0 {
            return Err(nix::errno::Errno::EFAULT);
        }
        done += n;
    }
    Ok(())
}

/// Writes `bytes` to `addr` in process `pid` (`process_vm_writev(2)`: allowed where this
/// process may trace `pid`).
pub(crate) fn write_to(pid: Pid, addr: usize, bytes: &[u8]) -> nix::Result<()> {
    let mut done = 0;
    while done < bytes.len() {
        let remote = [RemoteIoVec {
            base: addr + done,
            len: bytes.len() - done,
        }];
        let n = process_vm_writev(pid, &[IoSlice::new(&bytes[done..])], &remote)?;
        if n == 0 {
            return Err(nix::errno::Errno::EFAULT);
        }
        done += n;
    }
    Ok(())
}

