//! Every `unsafe` block of forkpool lives under this module, each with a `// SAFETY:` line.
//!
//! | file | what is unsafe there |
//! |---|---|
//! | `fork.rs` | `fork()`, signal dispositions and the environment of a fresh process |
//! | `fnptr.rs` | sending a task function to a forked worker as an address |
//! | `clock.rs` | reading the coarse monotonic clock through libc |
//! | `exec.rs` | executing this program afresh as a fork server, and taking its socket there |
//! | `groups.rs` | reading the supplementary groups with `getgroups(2)` directly |
//! | `fd.rs` | taking ownership of descriptors received with `SCM_RIGHTS` |
//! | `start.rs` | the constructor that starts the fork server before `main` |
//! | `pidfd.rs` | `pidfd_open`: a process as a descriptor that is readable once it exits |
//! | `pid.rs` | a `pthread_atfork` handler that keeps a cached process id right across forks |
//! | `per_process.rs` | a per-process value that a fork child does not inherit |
//! | `memory.rs` | zero-filled allocation of message buffers, `madvise` for huge pages, mapped receive buffers |
//! | `shm.rs` | shared memory: `memfd_create`, seals, `mmap`, and views of the mapping |
//! | `same_type.rs` | a byte sequence seen as the bytes it is, and a `Vec<u8>` handed over as a value of the same type |
//! | `pshared.rs` | robust process-shared pthread mutexes and condition variables in shared memory |
//! | `stack_guard.rs` | a worker's stack-overflow handler: `sigaltstack`, `sigaction`, the main thread's stack bounds |

mod clock;
mod exec;
mod fd;
mod fill;
mod fnptr;
mod fork;
mod groups;
mod helper;
mod memory;
mod per_process;
mod pid;
mod pidfd;
mod pshared;
pub(crate) mod same_type;
mod shm;
mod stack_guard;
mod start;
mod steer;

pub(crate) use clock::coarse_now;
pub(crate) use stack_guard::install as name_stack_overflows;
pub(crate) use exec::{Image, take_server_fd};
pub(crate) use fd::{close_inherited, open_standard_fds, owned_from_received, stdin_from_dev_null};
pub(crate) use fnptr::{addr_of_call, call_erased, conjure_zst};
pub(crate) use fork::{
    Forked, exit_now, fork, ignore_sigpipe, leave_in_background, replace_environment, set_ignored,
};
pub(crate) use groups::groups;
pub(crate) use helper::{FaultHelper, HELP_FROM, extend_helped, fill_helped};
pub(crate) use fill::FillBuf;
pub(crate) use memory::{PageBuf, advise_huge, try_zeroed};
pub(crate) use per_process::PerProcess;
pub(crate) use pid::current_pid;
pub(crate) use pidfd::{pidfd_open, wait_readable};
pub(crate) use pshared::{COND_BYTES, Held, MUTEX_BYTES, RawCond, RawMutex};
pub(crate) use shm::Mapping;
pub(crate) use steer::Steer;
