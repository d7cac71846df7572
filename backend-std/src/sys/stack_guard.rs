//! A stack overflow in a pool worker is named and aborts the worker, as Rust's runtime does
//! in any Rust program.
//!
//! The runtime installs its stack-overflow handler after the constructors have run; the fork
//! server is forked in one (`start.rs`), before that, so its workers had none: a task that
//! recursed too deep died of a bare `SIGSEGV`, with nothing on stderr. The fork server
//! installs this handler once, on an alternate signal stack; every worker it forks inherits
//! both. A fault in the guard area below the main thread's stack writes a line to stderr and
//! aborts (`SIGABRT`, as Rust's runtime does); any other fault takes the default action.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The guard area below the main thread's stack: `[low, high)`.
static GUARD: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

/// The alternate stack the handler runs on (its pages stay untouched until it runs).
static mut ALT_STACK: [u8; ALT_STACK_SIZE] = [0; ALT_STACK_SIZE];
const ALT_STACK_SIZE: usize = 64 << 10;

/// Below the lowest address the main thread's stack may grow to, the kernel keeps a gap
/// (`stack_guard_gap`, 256 pages by default): a frame that overflows faults in it.
const GAP: usize = 1 << 20;

/// Installs the handler in this process (the fork server, single-threaded, before it forks
/// any worker). Does nothing where the main thread's stack cannot be found.
pub(crate) fn install() {
    let Some(low) = main_stack_low() else {
        return;
    };
    GUARD[0].store(low.saturating_sub(GAP), Ordering::Relaxed);
    GUARD[1].store(low.saturating_add(page_size()), Ordering::Relaxed);
    let stack = libc::stack_t {
        ss_sp: std::ptr::addr_of_mut!(ALT_STACK).cast(),
        ss_flags: 0,
        ss_size: ALT_STACK_SIZE,
    };
    // SAFETY: `stack` describes a static buffer of `ALT_STACK_SIZE` bytes that nothing else
    // uses; sigaltstack(2) only records it for this thread.
    if unsafe { libc::sigaltstack(&stack, std::ptr::null_mut()) } != 0 {
        return;
    }
    for signal in [libc::SIGSEGV, libc::SIGBUS] {
        // SAFETY: a zeroed sigaction is a valid start; the handler below is an
        // `extern "C"` function of the signature SA_SIGINFO wants, and does only
        // async-signal-safe work (atomic loads, write(2), abort(3), signal(2)).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = on_fault;
            action.sa_sigaction = handler as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// The lowest address the main thread's stack may grow to.
fn main_stack_low() -> Option<usize> {
    // SAFETY: the attribute object is initialised by pthread_getattr_np before it is read
    // and destroyed once; the out-pointers are valid locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let (mut addr, mut size) = (std::ptr::null_mut(), 0);
        let got = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        (got == 0 && !addr.is_null()).then_some(addr as usize)
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf(3) only reads a system value.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

const MESSAGE: &[u8] =
    b"\nforkpool worker: a task has overflowed its stack (deep recursion?); aborting\n";

extern "C" fn on_fault(signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t for a SA_SIGINFO handler of SIGSEGV or
    // SIGBUS, whose fault address si_addr reads.
    let addr = unsafe { (*info).si_addr() } as usize;
    let (low, high) = (GUARD[0].load(Ordering::Relaxed), GUARD[1].load(Ordering::Relaxed));
    if (low..high).contains(&addr) {
        // SAFETY: write(2) and abort(3) are async-signal-safe; MESSAGE is static.
        unsafe {
            libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
            libc::abort();
        }
    }
    // Not a stack overflow: the default action, taken when the faulting instruction runs
    // again on return; a signal sent rather than caused by a fault (`kill`, `raise`: no
    // instruction to run again) is sent again.
    // SAFETY: signal(2) with SIG_DFL installs no code, and raise(3) is async-signal-safe;
    // `info` is valid as above.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        if (*info).si_code <= 0 {
            libc::raise(signal);
        }
    }
}
