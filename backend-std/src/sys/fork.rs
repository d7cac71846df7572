//! `fork()` and the little a fresh child needs.

use nix::sys::signal::{SigHandler, Signal};
use nix::unistd::Pid;

/// Which side of a fork this is.
pub(crate) enum Forked {
    /// The parent; the child has this pid.
    Parent(Pid),
    /// The child.
    Child,
}

/// Forks the calling process.
///
/// The child must only run code that is safe after `fork()` from a possibly multi-threaded
/// parent (no lock another thread may hold) and must leave with `_exit`, never by returning
/// into the parent's frames: callers pass it a function that ends in `_exit`.
pub(crate) fn fork() -> nix::Result<Forked> {
    // SAFETY: nix::unistd::fork is unsafe because the child of a multi-threaded process may
    // only call async-signal-safe functions. Every caller in this crate (zygote.rs,
    // process.rs) runs in the child only the fork server loop or the user's closure and then
    // calls `_exit`; the fork server itself is started before `main`, single-threaded
    // (start.rs), and glibc's malloc re-initialises its locks in the child.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Parent { child } => Ok(Forked::Parent(child)),
        nix::unistd::ForkResult::Child => Ok(Forked::Child),
    }
}

/// Ignores `SIGPIPE`, as Rust's runtime does before `main`: a write to a closed socket then
/// fails with `EPIPE` instead of killing the process. Needed in processes forked before
/// `main` ran.
pub(crate) fn ignore_sigpipe() {
    // SAFETY: installing SIG_IGN runs no handler code, so no async-signal-safety
    // requirement applies; it races with nothing because the fork server is single-threaded.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGPIPE, SigHandler::SigIgn) };
}

/// Sets `sig` to be ignored (`ignored`) or to take its default action. No handler runs, so
/// this is sound anywhere, also in a freshly forked child.
pub(crate) fn set_ignored(sig: Signal, ignored: bool) {
    let how = if ignored {
        SigHandler::SigIgn
    } else {
        SigHandler::SigDfl
    };
    // SAFETY: SIG_IGN and SIG_DFL run no handler code in this process, so no
    // async-signal-safety requirement applies.
    let _ = unsafe { nix::sys::signal::signal(sig, how) };
}

/// Ends the calling process at once with `code`: no destructors, no exit handlers, no
/// stdio flush. How every forked child leaves, so it never runs the parent's cleanup.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and takes no lock; it is always sound to call.
    unsafe { nix::libc::_exit(code) }
}

/// The largest peak resident size (KiB) of a worker whose memory is torn down at the lowest CPU
/// priority when it leaves (about 1-2 ms of teardown). A larger one leaves at its usual
/// priority, so a busy owner never keeps its memory held for long.
const IDLE_TEARDOWN_MOST_KIB: libc::c_long = 32 << 10;

/// Ends a worker process whose work is done: it closes every descriptor, `socket` (its
/// pool's) last, then `_exit`s with `code`.
///
/// Closing first means its pool sees the socket hang up, every pipe, file or lock it held
/// already released, before the kernel tears its memory down. Then a small worker (all of
/// them but those that held large values) drops to the lowest CPU priority (`SCHED_IDLE`)
/// and lets any other runnable thread on its CPU go first: its teardown (100-300 µs for a
/// worker that ran tasks) takes only CPU time nobody else wants, instead of preempting the
/// pool's driver and holding up the caller's `join`. (It closes at its usual priority, so
/// a busy CPU never holds up the hang-up itself.)
pub(crate) fn leave_in_background(code: i32, socket: std::os::fd::RawFd) -> ! {
    let peak_kib = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
        .map_or(libc::c_long::MAX, |u| u.max_rss());
    super::fd::close_all_but(0, socket);
    // Its pool takes the hang-up as the end of this worker: nothing may be held after it.
    // SAFETY: as in `close_all_but`: `_exit` follows and no owner of `socket` runs again.
    unsafe { libc::close(socket) };
    if peak_kib <= IDLE_TEARDOWN_MOST_KIB {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: sched_setscheduler(2) with a valid `sched_param` for this thread (pid
        // 0); an unprivileged thread may always switch to SCHED_IDLE. On failure the
        // priority stays as it was.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } == 0 {
            // SAFETY: sched_yield(2) takes no arguments and cannot fail on Linux.
            let _ = unsafe { libc::sched_yield() };
        }
    }
    exit_now(code)
}

/// Makes `vars` this process's whole environment, in a pool worker (which runs one thread)
/// before it runs anything.
pub(crate) fn replace_environment(vars: &[(Vec<u8>, Vec<u8>)]) {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let old: Vec<_> = std::env::vars_os().map(|(k, _)| k).collect();
    for k in old {
        // SAFETY: a pool worker runs a single thread (forked from the single-threaded fork
        // server), and nothing of the task has run yet: no other thread reads the
        // environment.
        unsafe { std::env::remove_var(k) };
    }
    for (k, v) in vars {
        let (k, v) = (OsStr::from_bytes(k), OsStr::from_bytes(v));
        if k.is_empty() || k.as_bytes().contains(&b'=') || k.as_bytes().contains(&0) || v.as_bytes().contains(&0) {
            continue; // not a name set_var accepts
        }
        // SAFETY: as above, the worker's only thread.
        unsafe { std::env::set_var(k, v) };
    }
}
