//! This process's id without a system call each time: `getpid` is a real system call (glibc
//! stopped caching it), and the pool asks on every call (is this the pool's owner?) and
//! every message (the writer id). The id is cached, and a `fork` clears the cache in the
//! child through a `pthread_atfork` handler registered before the first id is cached.

use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

/// The cached id; 0 until read (and again in a fresh fork child).
static PID: AtomicU32 = AtomicU32::new(0);

/// Clears the cache in a child right after `fork`.
extern "C" fn forget_in_child() {
    PID.store(0, Ordering::Relaxed);
}

/// This process's id.
pub(crate) fn current_pid() -> u32 {
    let pid = PID.load(Ordering::Relaxed);
    if pid != 0 {
        return pid;
    }
    static HANDLER: Once = Once::new();
    HANDLER.call_once(|| {
        // SAFETY: pthread_atfork only records the function pointers; the child handler
        // does one atomic store, which is async-signal-safe, as a handler run in the child
        // of a multi-threaded process must be.
        unsafe { libc::pthread_atfork(None, None, Some(forget_in_child)) };
    });
    let pid = std::process::id();
    PID.store(pid, Ordering::Relaxed);
    pid
}
