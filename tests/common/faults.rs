//! Fault injection for the tests: signal storms, SIGTERM markers, resource limits on another
//! process, and running as an unprivileged user (root ignores `RLIMIT_NPROC`).
//!
//! Everything `unsafe` in the test suite is here, each block with its reason.

use nix::sys::resource::Resource;
use nix::sys::signal::{SaFlags, SigAction, SigEvent, SigHandler, SigSet, SigevNotify, Signal};
use nix::sys::timer::{Expiration, Timer, TimerSetTimeFlags};
use nix::time::ClockId;
use std::fs::File;
use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

extern "C" fn nothing(_: i32) {}

/// Interrupts this process with `SIGALRM` every `every`, with a handler installed without
/// `SA_RESTART`: every blocking system call in flight fails with `EINTR`. Keep the timer
/// alive for as long as the storm should last.
pub fn eintr_storm(every: Duration) -> Timer {
    let action = SigAction::new(
        SigHandler::Handler(nothing),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler does nothing, so it is async-signal-safe; it replaces no handler
    // the program relies on (these test processes install none for SIGALRM).
    unsafe { nix::sys::signal::sigaction(Signal::SIGALRM, &action) }.expect("sigaction");
    let event = SigEvent::new(SigevNotify::SigevSignal {
        signal: Signal::SIGALRM,
        si_value: 0,
    });
    let mut timer = Timer::new(ClockId::CLOCK_MONOTONIC, event).expect("timer_create");
    let every = nix::sys::time::TimeSpec::from_duration(every);
    timer
        .set(Expiration::Interval(every), TimerSetTimeFlags::empty())
        .expect("timer_settime");
    timer
}

static MARK: OnceLock<File> = OnceLock::new();

extern "C" fn mark_term(_: i32) {
    if let Some(mut f) = MARK.get() {
        let _ = f.write(b"T");
    }
}

/// Appends `T` to the file at `path` on each `SIGTERM`, and otherwise ignores it: the
/// process then only ends on `SIGKILL`.
pub fn mark_and_ignore_sigterm(path: &str) {
    let file = File::options()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    let _ = MARK.set(file);
    let action = SigAction::new(
        SigHandler::Handler(mark_term),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only calls write(2) on a file opened before it was installed
    // (`OnceLock::get` is one atomic load), which is async-signal-safe.
    unsafe { nix::sys::signal::sigaction(Signal::SIGTERM, &action) }.expect("sigaction");
}

/// Lowers resource `what` of process `pid` to `limit` (soft and hard).
pub fn prlimit(pid: u32, what: Resource, limit: u64) {
    let new = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: `new` is a valid rlimit that outlives the call; the old limit is not asked for
    // (null is allowed); prlimit only reads and writes through those pointers.
    let rc = unsafe { libc::prlimit(pid as libc::pid_t, what as _, &new, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

/// Becomes user `uid` (group `uid`, no supplementary groups) if running as root, so that
/// `RLIMIT_NPROC` applies; each test uses its own uid so their process counts are apart.
pub fn become_unprivileged(uid: u32) {
    if nix::unistd::geteuid().is_root() {
        nix::unistd::setgroups(&[]).expect("setgroups");
        nix::unistd::setgid(nix::unistd::Gid::from_raw(uid)).expect("setgid");
        nix::unistd::setuid(nix::unistd::Uid::from_raw(uid)).expect("setuid");
        // Changing credentials made the process non-dumpable, which hides its own
        // /proc/self/fd from it; the counting checks need it.
        nix::sys::prctl::set_dumpable(true).expect("set_dumpable");
    }
}

/// Tasks (threads) that user `uid` runs now, as `RLIMIT_NPROC` counts them.
pub fn tasks_of_user(uid: u32) -> u64 {
    let mut n = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue; // "self" and "thread-self" name a process counted by its pid
        }
        let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        let real_uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next()?.parse::<u32>().ok());
        let threads = status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|l| l.trim().parse::<u64>().ok());
        if real_uid == Some(uid) {
            n += threads.unwrap_or(1);
        }
    }
    n
}
