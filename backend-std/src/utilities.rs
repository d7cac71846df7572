//! Process utilities with Python's names: [`cpu_count`], [`current_process`],
//! [`parent_process`], [`active_children`].

use crate::sys;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};

/// The number of CPUs online, as Python's `multiprocessing.cpu_count()` (all of the
/// machine's, not only those this process may run on: see
/// `std::thread::available_parallelism` for that).
pub fn cpu_count() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::_NPROCESSORS_ONLN)
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1)
}

/// A process as [`current_process`], [`parent_process`] and [`active_children`] describe it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// Its pid.
    pub pid: u32,
    /// `MainProcess`, `PoolWorker-PID` (a pool worker) or `Process-PID` (a `Process`
    /// child), as Python names them (with pids where Python counts).
    pub name: String,
}

/// What this process is to forkpool (set in the process itself, right after it starts).
static ROLE: AtomicU8 = AtomicU8::new(MAIN);
/// The process [`ROLE`] was set in: a fork of it is a main process again until told.
static ROLE_PID: AtomicU32 = AtomicU32::new(0);
/// For a pool worker: the pool's owner, its parent in Python's terms.
static OWNER: AtomicU32 = AtomicU32::new(0);

const MAIN: u8 = 0;
const WORKER: u8 = 1;
const CHILD: u8 = 2;

/// Marks this process as a pool worker of `owner` (only atomics: it runs right after fork).
pub(crate) fn became_worker(owner: u32) {
    OWNER.store(owner, Ordering::Relaxed);
    ROLE.store(WORKER, Ordering::Relaxed);
    ROLE_PID.store(sys::current_pid(), Ordering::Relaxed);
}

/// Marks this process as a `Process` child (only atomics: it runs right after fork).
pub(crate) fn became_child() {
    ROLE.store(CHILD, Ordering::Relaxed);
    ROLE_PID.store(sys::current_pid(), Ordering::Relaxed);
}

fn role() -> u8 {
    if ROLE_PID.load(Ordering::Relaxed) == sys::current_pid() {
        ROLE.load(Ordering::Relaxed)
    } else {
        MAIN
    }
}

/// This process: Python's `multiprocessing.current_process()`.
///
/// ```
/// fn whoami(_: u8) -> String { forkpool::current_process().name }
/// assert_eq!(forkpool::current_process().name, "MainProcess");
/// let pool = forkpool::Pool::new(1)?;
/// assert!(pool.apply(whoami, (0,))?.starts_with("PoolWorker-"));
/// # Ok::<(), forkpool::Error>(())
/// ```
pub fn current_process() -> ProcessInfo {
    let pid = sys::current_pid();
    let name = match role() {
        WORKER => format!("PoolWorker-{pid}"),
        CHILD => format!("Process-{pid}"),
        _ => "MainProcess".to_string(),
    };
    ProcessInfo { pid, name }
}

/// The process that started this one, in Python's terms: `None` in a main process; in a
/// `Process` child, the process that spawned it; in a pool worker, the pool's owner (not
/// the fork server, its parent in the kernel's terms).
pub fn parent_process() -> Option<ProcessInfo> {
    let pid = match role() {
        WORKER => OWNER.load(Ordering::Relaxed),
        CHILD => nix::unistd::getppid().as_raw() as u32,
        _ => return None,
    };
    Some(ProcessInfo {
        pid,
        name: "MainProcess".to_string(),
    })
}

/// This process's `Process` children, by pid, from spawn until joined or dropped.
static CHILDREN: sys::PerProcess<Mutex<Vec<u32>>> = sys::PerProcess::new();

fn children() -> std::sync::MutexGuard<'static, Vec<u32>> {
    CHILDREN
        .get(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn child_spawned(pid: u32) {
    children().push(pid);
}

pub(crate) fn child_reaped(pid: u32) {
    children().retain(|&p| p != pid);
}

/// The `Process` children of this process that are still running: Python's
/// `multiprocessing.active_children()` (ended children are left out, though they are only
/// reaped when joined or dropped).
pub fn active_children() -> Vec<ProcessInfo> {
    let pids = children().clone();
    pids.into_iter()
        .filter(|&pid| running(pid))
        .map(|pid| ProcessInfo {
            pid,
            name: format!("Process-{pid}"),
        })
        .collect()
}

/// Whether `pid` runs (exists and is not a zombie).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .and_then(|rest| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X')
    })
}
