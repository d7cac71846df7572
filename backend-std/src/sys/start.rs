//! Starts the fork server before `main`, while the process is still single-threaded.
//!
//! This is the one moment every forked worker can be guaranteed a clean copy of the
//! process: no other thread exists to hold a lock (stdout, a user's mutex, the allocator).

// SAFETY: the constructor runs before main; it only forks a child (which never returns into
// Rust's startup) and stores a handle in a OnceLock. It touches no std service that needs
// main's initialisation (no stdout, no thread spawning, no panics escape: errors are stored).
#[ctor::ctor]
fn forkpool_start_fork_server() {
    // Before any socket is made: none may take the number of a closed stdin, stdout or
    // stderr.
    super::open_standard_fds();
    // A fork server started again after `main` began is this program executed afresh: it
    // serves and never reaches `main` (see `exec.rs`).
    if let Some(fd) = super::take_server_fd() {
        crate::zygote::serve_executed(fd);
    }
    if !lazy() {
        crate::zygote::start_before_main();
    }
}

/// Whether the fork server waits for the first pool: the `lazy-fork-server` feature, or
/// `FORKPOOL_FORK_SERVER=lazy` in the environment.
fn lazy() -> bool {
    cfg!(feature = "lazy-fork-server")
        || std::env::var_os("FORKPOOL_FORK_SERVER").is_some_and(|v| v == "lazy")
}
