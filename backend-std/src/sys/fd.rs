//! Descriptors: taking ownership of those received over a Unix socket, closing inherited
//! ones in a fresh process, and the standard descriptors a process starts with.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Wraps descriptors that `recvmsg` just received in `SCM_RIGHTS`.
///
/// The caller passes only the raw values from one `ControlMessageOwned::ScmRights`, each
/// exactly once.
pub(crate) fn owned_from_received(fds: Vec<RawFd>) -> Vec<OwnedFd> {
    fds.into_iter()
        // SAFETY: the kernel installed each of these descriptors in this process for this
        // recvmsg call; nothing else refers to them, so each gets exactly one owner here.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect()
}

/// Closes every descriptor above stderr except `keep`, in a freshly forked process that
/// will never return to the code owning them (the fork server: it must not hand its
/// starter's descriptors down to workers; a worker: it must not keep the server's, among
/// them the driver's ends of the workers forked ahead).
pub(crate) fn close_inherited(keep: RawFd) {
    close_all_but(3, keep);
}

/// Closes every descriptor from `first` on except `keep`, in a process that never returns
/// to the code owning them: a freshly forked one (`close_inherited`), or one about to
/// `_exit` (`leave_in_background`).
pub(super) fn close_all_but(first: RawFd, keep: RawFd) {
    let ranges = [(first, keep - 1), (keep + 1, RawFd::MAX)];
    for (first, last) in ranges {
        if first > last {
            continue;
        }
        // SAFETY: close_range(2) only closes descriptors. Every caller runs in a process
        // that never returns to the frames owning the closed descriptors (it runs only the
        // fork server's loop or a worker's, on `keep`, or it calls `_exit` next), so no
        // `OwnedFd` or other owner of one is ever used or dropped afterwards.
        let rc = unsafe { libc::syscall(libc::SYS_close_range, first as u32, last as u32, 0u32) };
        if rc != 0 {
            // Kernels before 5.9 have no close_range: close one by one, up to the limit.
            let limit = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
                .map_or(1024, |(soft, _)| soft.min(1 << 20) as RawFd);
            for fd in first..=last.min(limit) {
                let _ = nix::unistd::close(fd);
            }
        }
    }
}

/// Opens `/dev/null` on each standard descriptor (0, 1, 2) that is closed, as Rust's runtime
/// does before `main`, but earlier: before the fork server makes its sockets, which would
/// otherwise take those numbers. A program started with stdin closed then read the fork
/// server's answers from "stdin", and its workers' `println!` wrote into a socket of the
/// server. Called first thing in the constructor, while the process is single-threaded.
pub(crate) fn open_standard_fds() {
    use nix::fcntl::{OFlag, open};
    use std::os::fd::IntoRawFd;
    for fd in 0..=2 {
        // SAFETY: fcntl(F_GETFD) only reads a descriptor's flags; a number not in use
        // fails with EBADF and nothing else happens.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
        if !closed {
            continue;
        }
        // The lowest free number: `fd`, as the ones below it are open.
        match open("/dev/null", OFlag::O_RDWR, nix::sys::stat::Mode::empty()) {
            // Kept open for good, as the process's standard descriptor.
            Ok(null) if null.as_raw_fd() == fd => {
                let _ = null.into_raw_fd();
            }
            _ => return,
        }
    }
}

/// Makes `/dev/null` this process's standard input (the fork server's, which its workers
/// inherit): a task that reads it gets end-of-file at once, instead of taking the
/// terminal's (or a pipe's) input from the program. Left as it is where `/dev/null` cannot
/// be opened.
pub(crate) fn stdin_from_dev_null() {
    use nix::fcntl::{OFlag, open};
    let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC;
    if let Ok(null) = open("/dev/null", flags, nix::sys::stat::Mode::empty())
        && null.as_raw_fd() != 0
    {
        let _ = nix::unistd::dup2_stdin(&null);
    }
}
