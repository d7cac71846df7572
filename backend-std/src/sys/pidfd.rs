//! A process as a descriptor (`pidfd_open(2)`, Linux 5.3+): readable once the process has
//! exited, whoever holds its sockets. A worker that forked (a task that started a `Process`
//! or called a library that forks) and then died is seen dead at once, though a grandchild
//! still holds its socket open and so no end-of-file comes.

use std::os::fd::{FromRawFd, OwnedFd};

/// A descriptor for process `pid` (close-on-exec, as every pidfd is); `None` where the
/// kernel has no `pidfd_open`, or the process is gone and reaped.
pub(crate) fn pidfd_open(pid: nix::unistd::Pid) -> Option<OwnedFd> {
    // SAFETY: pidfd_open(2) takes a pid and flags (none) and only returns a new descriptor
    // or -1; no memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0u32) };
    let fd = i32::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: the kernel just installed `fd` in this process for this call; nothing else
    // refers to it, so it gets exactly one owner here.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Whether the process behind `pidfd` exits within `timeout`.
pub(crate) fn wait_readable(pidfd: &OwnedFd, timeout: std::time::Duration) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let ms = PollTimeout::try_from(left.as_millis().min(60_000) as i32 + 1)
            .unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, ms) {
            Ok(n) if n > 0 => return true,
            Ok(_) if left.is_zero() => return false,
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
}
