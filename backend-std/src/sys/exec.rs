//! Starting a fork server again, after `main` began: the running executable is executed
//! afresh (`/proc/self/exe`), with the server's socket as an inherited descriptor named in
//! the environment. The new process's constructor (`start.rs`) finds it and serves instead
//! of running `main`.
//!
//! Why not just fork: after `main` the process may be multi-threaded, and a fork copies
//! only the calling thread, with every lock as it was (stdout, the user's mutexes): workers
//! forked from such a copy could deadlock on them. A fresh image has no such state, exactly
//! like the server forked before `main`. And a forked server would carry the forking
//! thread's parent-death link (`PR_SET_PDEATHSIG` follows the thread), dying with it.

use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// The variable naming the server socket's descriptor in a freshly executed fork server.
pub(crate) const SERVER_FD: &str = "FORKPOOL_FORK_SERVER_FD";

/// Everything `execve` needs, made before the fork: the child only calls `fcntl` and
/// `execve`, which allocate nothing.
pub(crate) struct Image {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
}

impl Image {
    /// This executable, with `fd` named as the server socket.
    pub(crate) fn for_server(fd: BorrowedFd<'_>) -> Option<Self> {
        let arg0 = std::env::args_os()
            .next()
            .unwrap_or_else(|| OsString::from("forkpool-fork-server"));
        let mut envp: Vec<CString> = std::env::vars_os()
            .filter(|(k, _)| k != SERVER_FD)
            .filter_map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        envp.push(CString::new(format!("{SERVER_FD}={}", fd.as_raw_fd())).ok()?);
        Some(Self {
            path: CString::new("/proc/self/exe").ok()?,
            argv: vec![CString::new(arg0.as_bytes()).ok()?],
            envp,
        })
    }

    /// In a freshly forked child: lets `fd` survive the exec and executes the image.
    /// Returns only if that failed.
    pub(crate) fn exec(&self, fd: BorrowedFd<'_>) {
        let argv: Vec<*const libc::c_char> = self
            .argv
            .iter()
            .map(|a| a.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        let envp: Vec<*const libc::c_char> = self
            .envp
            .iter()
            .map(|e| e.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        // SAFETY: fcntl(F_SETFD, 0) only clears close-on-exec on a descriptor this child
        // owns (borrowed for the call). execve gets NUL-terminated strings and
        // NULL-terminated arrays that live until it returns (it only returns on failure).
        unsafe {
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, 0);
            libc::execve(self.path.as_ptr(), argv.as_ptr(), envp.as_ptr());
        }
    }
}

/// In a freshly executed fork server (from the constructor): the server socket named by
/// [`SERVER_FD`], taken out of the environment so nothing this process starts inherits the
/// name; `None` in every other process.
pub(crate) fn take_server_fd() -> Option<OwnedFd> {
    let value = std::env::var_os(SERVER_FD)?;
    // SAFETY: called from the constructor, before `main`, while the process is
    // single-threaded: no other thread reads or writes the environment.
    unsafe { std::env::remove_var(SERVER_FD) };
    let fd: i32 = std::str::from_utf8(value.as_bytes()).ok()?.parse().ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a `stat` into the buffer it is given, or fails; it is read only
    // after success.
    let is_socket = unsafe { libc::fstat(fd, stat.as_mut_ptr()) } == 0
        // SAFETY: fstat succeeded, so the buffer was written.
        && unsafe { stat.assume_init() }.st_mode & libc::S_IFMT == libc::S_IFSOCK;
    // SAFETY: the descriptor was inherited across exec for this process alone (the starter
    // cleared close-on-exec on it in its fresh child, which became this process); nothing
    // else here refers to it, so it gets exactly one owner.
    is_socket.then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}
