//! The supplementary groups of this process, read without `nix::unistd::getgroups`, which
//! reads `/proc/sys/kernel/ngroups_max` (three more system calls) on every call: this runs
//! for every worker start, in the owner and in the worker.

/// This process's supplementary group ids.
pub(crate) fn groups() -> std::io::Result<Vec<u32>> {
    loop {
        // SAFETY: getgroups(0, NULL) only returns the count; nothing is written.
        let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
        let Ok(len) = usize::try_from(n) else {
            return Err(std::io::Error::last_os_error());
        };
        let mut v = vec![0 as libc::gid_t; len];
        // SAFETY: `v` has room for `len` ids, the size passed; getgroups writes at most that
        // many and returns how many it wrote.
        let got = unsafe { libc::getgroups(n, v.as_mut_ptr()) };
        match usize::try_from(got) {
            Ok(got) => {
                v.truncate(got);
                return Ok(v);
            }
            // The groups changed between the two calls (EINVAL: more than `len` now).
            Err(_) if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) => {}
            Err(_) => return Err(std::io::Error::last_os_error()),
        }
    }
}
