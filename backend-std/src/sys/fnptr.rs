//! Sending a task function to a worker as an address.
//!
//! Workers are forks of the parent's image, so a function's address in the parent is the
//! same function in the worker. Tasks are fn items or non-capturing closures: zero-sized
//! types whose value carries no data, so the worker can make one out of nothing.

use std::os::fd::OwnedFd;

/// The one signature every task trampoline has: decode arguments (bytes plus received
/// descriptors), run, and encode the result.
pub(crate) type ErasedCall =
    fn(&[u8], Vec<OwnedFd>, &mut crate::task::Output<'_>) -> crate::task::Status;

/// The address of `f`, to send to a worker.
pub(crate) fn addr_of_call(f: ErasedCall) -> usize {
    f as usize
}

/// Runs the trampoline at `addr` on encoded arguments.
///
/// `addr` must come from [`addr_of_call`] in this process or in the process it was forked
/// from. Workers only call this with addresses read from their private socket, which only
/// their driver writes to, and the driver only writes addresses made by `task::erase`.
pub(crate) fn call_erased(
    addr: usize,
    args: &[u8],
    fds: Vec<OwnedFd>,
    out: &mut crate::task::Output<'_>,
) -> crate::task::Status {
    // SAFETY: per the contract above `addr` is the address of an `ErasedCall` in this same
    // executable image (a fork keeps every address); fn pointers and usize have the same
    // size on every supported target.
    let f = unsafe { std::mem::transmute::<usize, ErasedCall>(addr) };
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
