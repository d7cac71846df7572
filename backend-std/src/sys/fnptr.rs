//! Sending a task function to a worker as an address.
//!
//! Workers run the parent's executable: forked from a fork server that was forked before
//! `main` (the same address space layout), or from one that was started again by executing
//! the same file (loaded at another base address under ASLR). So a function travels as its
//! offset from an anchor function of this crate, which is the same in every process running
//! this executable. Tasks are fn items or non-capturing closures: zero-sized types whose
//! value carries no data, so the worker can make one out of nothing.

use std::os::fd::OwnedFd;

/// The one signature every task trampoline has: decode arguments (bytes plus received
/// descriptors), run, and encode the result.
pub(crate) type ErasedCall =
    fn(crate::task::Args<'_>, Vec<OwnedFd>, &mut crate::task::Output<'_>) -> crate::task::Status;

/// What function offsets count from: a static, which (unlike a small function, which the
/// compiler may copy into each crate that uses it) has exactly one address in the
/// executable, and moves with the code when the executable is loaded elsewhere.
static ANCHOR: u8 = 0;

/// The anchor's address in this process.
fn anchor() -> usize {
    std::ptr::addr_of!(ANCHOR) as usize
}

/// Where `f` is, to send to a worker: its offset from the anchor (never 0, which stands for
/// "no function").
pub(crate) fn addr_of_call(f: ErasedCall) -> usize {
    (f as usize).wrapping_sub(anchor())
}

/// Runs the trampoline at `addr` (an offset) on encoded arguments.
///
/// `addr` must come from [`addr_of_call`] in a process running this same executable. Workers only call this with addresses read from their private socket, which only
/// their driver writes to, and the driver only writes addresses made by `task::erase`.
pub(crate) fn call_erased(
    addr: usize,
    args: crate::task::Args<'_>,
    fds: Vec<OwnedFd>,
    out: &mut crate::task::Output<'_>,
) -> crate::task::Status {
    // SAFETY: per the contract above `addr` is the offset of an `ErasedCall` from the anchor
    // in this same executable (its functions keep their distances wherever it is loaded);
    // fn pointers and usize have the same size on every supported target.
    let f = unsafe { std::mem::transmute::<usize, ErasedCall>(addr.wrapping_add(anchor())) };
    f(args, fds, out)
}

/// A value of the zero-sized type `F`.
///
/// Evaluating this for a type that is not zero-sized fails to compile.
pub(crate) fn conjure_zst<F: Copy>() -> F {
    const { assert!(std::mem::size_of::<F>() == 0, "not a zero-sized type") };
    // SAFETY: F is zero-sized (checked at compile time above), so its all-zero value is its
    // only value (there are no bytes); F is Copy, so making one out of nothing drops nothing. The only
    // zero-sized types that implement the Fn traits are fn items and closures without
    // (non-zero-sized) captures, which carry no invariant a fresh value could break.
    unsafe { std::mem::zeroed::<F>() }
}
