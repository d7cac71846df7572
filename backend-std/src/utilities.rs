//! Process utilities with Python's names: [`cpu_count`], [`current_process`],
//! [`parent_process`], [`active_children`].

use crate::sys;
use std::sync::{Mutex, OnceLock};
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
    /// `MainProcess`, `PoolWorker-PID` (a pool worker), or a `Process` child's name
    /// (`ProcessBuilder::name`, by default `Process-PID`), as Python names them (with pids
    /// where Python counts).
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

/// A `Process` child's name, if it was given one: per process, so a child's own children
/// do not inherit it, and never a lock another thread of the parent held.
static CHILD_NAME: sys::PerProcess<OnceLock<&'static str>> = sys::PerProcess::new();

/// Marks this process as a `Process` child, named `name` (right after fork: no lock of the
/// parent's is taken).
pub(crate) fn became_child(name: Option<&'static str>) {
    if let Some(name) = name {
        let _ = CHILD_NAME.get(OnceLock::new).set(name);
    }
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
        CHILD => child_name(pid, CHILD_NAME.get(OnceLock::new).get().copied()),
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

/// A `Process` child's name.
pub(crate) fn child_name(pid: u32, name: Option<&'static str>) -> String {
    name.map_or_else(|| format!("Process-{pid}"), str::to_string)
}

/// This process's `Process` children, by pid (and name), from spawn until joined or
/// dropped.
static CHILDREN: sys::PerProcess<Mutex<Vec<Child>>> = sys::PerProcess::new();

/// A child's pid and the name it was given.
type Child = (u32, Option<&'static str>);

fn children() -> std::sync::MutexGuard<'static, Vec<Child>> {
    CHILDREN
        .get(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn child_spawned(pid: u32, name: Option<&'static str>) {
    children().push((pid, name));
}

pub(crate) fn child_reaped(pid: u32) {
    children().retain(|&(p, _)| p != pid);
}

/// The `Process` children of this process that are still running: Python's
/// `multiprocessing.active_children()` (ended children are left out, though they are only
/// reaped when joined or dropped).
pub fn active_children() -> Vec<ProcessInfo> {
    let known = children().clone();
    known
        .into_iter()
        .filter(|&(pid, _)| running(pid))
        .map(|(pid, name)| ProcessInfo {
            pid,
            name: child_name(pid, name),
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
