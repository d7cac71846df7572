//! The fork server ("zygote"): a single-threaded process, forked before `main`, that forks
//! every pool worker.
//!
//! `fork()` copies only the calling thread; a child forked while another thread holds a
//! lock (stdout, a user's mutex) deadlocks when it takes that lock. Pools are often created
//! from multi-threaded programs (every `cargo test` is one), so workers are never forked from
//! the user's process: they are forked from this server, which was itself forked before
//! `main` ran, when no other thread existed. The price: a worker sees the program as it was
//! before `main` (statics initialised later are initialised again, lazily, in the worker),
//! which is why task functions may not capture anything.
//!
//! The server keeps every worker as its child until the driver asks it to reap one, so a
//! worker's pid is never reused while the driver may still signal it; it reaps a worker when
//! its exit is signalled, serving other requests meanwhile (`server.rs`). When the parent
//! dies, the server gets `SIGKILL` (parent-death signal) and so do the workers in turn.

use crate::error::{Error, ExitCause, Result};
use crate::sys::{self, Forked};
use crate::wire::{RawConn, raw_pair};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{Pid, getpid, getppid};
use std::sync::Mutex;

mod server;
mod spares;
pub(crate) use server::encode_cause;

const SPAWN: u8 = 1;
const REAP: u8 = 2;
const SPAWNED: u8 = 3;
const FAILED: u8 = 4;
const STATUS: u8 = 5;
/// Reap a worker the driver is done with, without a reply.
const RELEASE: u8 = 6;

struct Zygote {
    conn: RawConn,
    pid: Pid,
    /// A digest of the environment the server started with (its workers start with it).
    env: u64,
    /// The CPUs to give the server back before its first request (`sys/steer.rs`).
    narrowed: Option<sys::Steer>,
}

/// This process's fork server. A fork child (a `Process`) gets its own slot: it never talks
/// over its parent's socket, nor takes a lock a parent thread may have held at the fork.
static ZYGOTE: sys::PerProcess<Mutex<Option<Zygote>>> = sys::PerProcess::new();

fn slot() -> std::sync::MutexGuard<'static, Option<Zygote>> {
    ZYGOTE
        .get(|| Mutex::new(None))
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Called by the constructor in `sys/start.rs`, before `main`.
pub(crate) fn start_before_main() {
    if let Ok(z) = Zygote::start() {
        *slot() = Some(z);
    }
}

/// A digest of this process's environment now (names and values, in order).
pub(crate) fn env_digest() -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    for (k, v) in std::env::vars_os() {
        (k, v).hash(&mut h);
    }
    h.finish()
}

/// The digest of the environment the fork server started with, if it is running.
#[cfg(test)]
pub(crate) fn server_env() -> Option<u64> {
    slot().as_ref().map(|z| z.env)
}

/// The fork server's pid, if it is running.
pub fn fork_server_pid() -> Option<u32> {
    slot().as_ref().map(|z| z.pid.as_raw() as u32)
}

fn request<T>(mut f: impl FnMut(&Zygote) -> Result<T>) -> Result<T> {
    let mut guard = slot();
    if let Some(z) = guard.as_mut()
        && let Some(steer) = z.narrowed.take()
    {
        steer.widen(z.pid);
    }
    if let Some(z) = guard.as_ref() {
        match f(z) {
            Err(Error::Disconnected | Error::Protocol(_)) => {}
            other => return other,
        }
    }
    // Not started before main, or gone: start one now, as this program executed afresh
    // (see `sys/exec.rs`), so that it holds no lock another thread of this process held.
    if let Some(old) = guard.take() {
        let _ = kill(old.pid, Signal::SIGKILL);
        let _ = waitpid(old.pid, None);
    }
    let z = Zygote::restart()?;
    let out = f(&z);
    *guard = Some(z);
    out
}

/// Forks `n` worker processes for a pool of `pool_size` and hands `each` every one's pid
/// and the driver's end of its socket (or why it could not be started) as soon as the
/// server answers. The requests go out together, so the server forks one worker while the
/// caller introduces the previous ones and they boot; `asked` runs once they are out,
/// before the first answer is awaited, with the digest of the environment the server
/// started with (the server's lock is held: it must not ask the server anything). Workers
/// the server forked ahead (`zygote/spares.rs`) are handed out first; `pool_size` is how
/// many it keeps ahead next.
pub(crate) fn spawn_workers(
    n: usize,
    pool_size: usize,
    mut asked: impl FnMut(u64),
    mut each: impl FnMut(Result<(Pid, RawConn)>),
) -> Result<()> {
    let size = u32::try_from(pool_size).unwrap_or(u32::MAX).to_le_bytes();
    // Counted across a restart of the server, so no worker is asked for twice.
    let mut answered = 0;
    request(|z| {
        for _ in answered..n {
            z.conn.send(SPAWN, &size, &[])?;
        }
        asked(z.env);
        while answered < n {
            let mut m = z.conn.recv(None)?;
            let started = match m.kind {
                SPAWNED if m.bytes.len() == 4 && m.fds.len() == 1 => {
                    let fd = m.fds.remove(0);
                    Ok((pid_from(&m.bytes), RawConn::from_fd(fd)))
                }
                // Forked, but its socket could not be received here (out of descriptors):
                // that start fails with the OS error, and the server reaps the worker.
                SPAWNED if m.bytes.len() == 4 && m.fds_lost => {
                    let pid = pid_from(&m.bytes);
                    z.conn.send(RELEASE, &reap_request(pid, true), &[])?;
                    Err(m.check_fds().unwrap_err())
                }
                FAILED => Err(decode_failure(&m.bytes)),
                _ => {
                    return Err(Error::Protocol(
                        "unexpected reply from the fork server".into(),
                    ));
                }
            };
            answered += 1;
            each(started);
        }
        Ok(())
    })
}

/// Reaps worker `pid` (killing it first if `kill_first`) and returns how it ended, for a
/// worker whose exit cause is wanted (one that died); [`release_many`] for the others. A
/// worker that does not exit within 2 s of being asked is killed.
pub(crate) fn reap(pid: Pid, kill_first: bool) -> Result<ExitCause> {
    request(|z| {
        z.conn.send(REAP, &reap_request(pid, kill_first), &[])?;
        let m = z.conn.recv(None)?;
        if m.kind != STATUS || m.bytes.len() != 9 {
            return Err(Error::Protocol(
                "unexpected reply from the fork server".into(),
            ));
        }
        Ok(decode_cause(&m.bytes))
    })
}

/// Hands workers the driver is done with to the server, which reaps each (killing it first
/// if asked, or after 2 s) without replying: nobody waits on it, so a pool's `join` does not
/// wait for the server's round trip. Their exit causes are not wanted.
pub(crate) fn release_many(workers: &[(Pid, bool)]) -> Result<()> {
    if workers.is_empty() {
        return Ok(());
    }
    // One message for all: one send, and one wake-up of the server.
    let all: Vec<u8> = workers
        .iter()
        .flat_map(|&(pid, kill_first)| reap_request(pid, kill_first))
        .collect();
    request(|z| z.conn.send(RELEASE, &all, &[]))
}

/// The pid at the start of a request or answer (4 bytes, little-endian; the caller checked
/// the length).
fn pid_from(bytes: &[u8]) -> Pid {
    Pid::from_raw(i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn reap_request(pid: Pid, kill_first: bool) -> Vec<u8> {
    let mut req = pid.as_raw().to_le_bytes().to_vec();
    req.push(u8::from(kill_first));
    req
}

impl Zygote {
    /// Forks the server, before `main` (single-threaded): it dies with this process
    /// (parent-death signal) and serves on a copy of the process as it is now.
    fn start() -> Result<Self> {
        let (ours, theirs) = raw_pair()?;
        let parent = getpid();
        // Set up before the fork, the thread-locals are inherited by the server (and so by
        // its workers) and ready for this process's own first `Connection`: the server,
        // soon asked for the first pool's workers, need not set them up.
        crate::codec::prepare_thread();
        crate::panics::prepare_thread();
        let steer = sys::Steer::new();
        match sys::fork().map_err(|e| Error::io("fork", e))? {
            Forked::Child => {
                drop(ours);
                let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
                if getppid() != parent {
                    sys::exit_now(0);
                }
                become_server(&theirs)
            }
            Forked::Parent(pid) => Ok(Self {
                conn: ours,
                pid,
                env: env_digest(),
                // This thread goes on into `main`: the server sets itself up meanwhile on
                // another CPU instead of waiting for this one (`sys/steer.rs`).
                narrowed: steer.filter(|s| s.away_from_here(pid)),
            }),
        }
    }

    /// Starts the server again after `main` began: this executable, executed afresh, serves
    /// on the socket it inherits. No parent-death signal (it would follow the thread that
    /// forks, not the process): the server leaves when its socket to this process closes,
    /// which is when this process ends. Should the exec fail, the forked child serves
    /// itself, as a server forked before `main` does.
    fn restart() -> Result<Self> {
        let (ours, theirs) = raw_pair()?;
        let image = sys::Image::for_server(theirs.as_fd());
        match sys::fork().map_err(|e| Error::io("fork", e))? {
            Forked::Child => {
                drop(ours);
                if let Some(image) = &image {
                    image.exec(theirs.as_fd());
                }
                become_server(&theirs)
            }
            Forked::Parent(pid) => Ok(Self {
                conn: ours,
                pid,
                env: env_digest(),
                narrowed: None,
            }),
        }
    }
}

/// Runs the fork server on `conn` in this process, which was just forked or executed for
/// it, and ends it with `_exit`.
fn become_server(conn: &RawConn) -> ! {
    // Workers get only what the server has: stdio and their socket, whatever the
    // starter had open.
    sys::close_inherited(std::os::fd::AsRawFd::as_raw_fd(&conn.as_fd()));
    // Workers read standard input from /dev/null, as Python's do.
    sys::stdin_from_dev_null();
    // A task's stack overflow is named and aborts its worker, as in any Rust program.
    sys::name_stack_overflows();
    sys::ignore_sigpipe();
    // The terminal's Ctrl-C goes to the whole process group: the server (and the workers
    // it forks, until their owner's policy says otherwise) ignore it, so only the owner's
    // own handling decides (see `owner.rs`).
    sys::set_ignored(Signal::SIGINT, true);
    // What every worker's thread would set up at its first task, set up once here.
    crate::codec::prepare_thread();
    crate::panics::prepare_thread();
    // Never unwind into the starter's frames copied by the fork.
    let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server::serve(conn)));
    sys::exit_now(if served.is_ok() { 0 } else { 3 })
}

/// Called by the constructor in `sys/start.rs` in a fork server executed by
/// [`Zygote::restart`]: serves on `fd` and never returns.
pub(crate) fn serve_executed(fd: std::os::fd::OwnedFd) -> ! {
    become_server(&RawConn::from_fd(fd))
}

/// How a `waitpid` status ended the process; `None` for stop/continue reports.
pub(crate) fn cause_of(status: WaitStatus) -> Option<ExitCause> {
    match status {
        WaitStatus::Exited(_, code) => Some(ExitCause::Exited(code)),
        WaitStatus::Signaled(_, sig, core_dumped) => Some(ExitCause::Signaled {
            signal: sig as i32,
            name: sig.as_str(),
            core_dumped,
        }),
        _ => None,
    }
}

/// Ops a failed start may name, by index on the wire.
const OPS: [&str; 3] = ["start a worker", "fork", "socketpair"];

fn decode_failure(b: &[u8]) -> Error {
    match b {
        [op, e0, e1, e2, e3, message @ ..] => {
            let errno = i32::from_le_bytes([*e0, *e1, *e2, *e3]);
            let op = OPS.get(usize::from(*op)).copied().unwrap_or(OPS[0]);
            let source = if errno != 0 {
                std::io::Error::from_raw_os_error(errno)
            } else {
                std::io::Error::other(String::from_utf8_lossy(message).into_owned())
            };
            Error::Io { op, source }
        }
        _ => Error::Protocol("short failure report from the fork server".into()),
    }
}

pub(crate) fn decode_cause(b: &[u8]) -> ExitCause {
    let val = i32::from_le_bytes([b[1], b[2], b[3], b[4]]);
    match b[0] {
        1 => ExitCause::Exited(val),
        2 => match Signal::try_from(val) {
            Ok(sig) => ExitCause::Signaled {
                signal: val,
                name: sig.as_str(),
                core_dumped: b[5] != 0,
            },
            Err(_) => ExitCause::Unknown,
        },
        _ => ExitCause::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::{release_many, spawn_workers};
    use crate::wire::RawConn;
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    fn spawn_one() -> (Pid, RawConn) {
        let mut got = None;
        spawn_workers(1, 1, |_| {}, |r| got = Some(r.unwrap())).unwrap();
        got.unwrap()
    }

    /// The process state letter in `/proc/PID/stat` (`T` stopped, `Z` zombie), if any.
    fn state(pid: Pid) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit(')').next()?.trim_start().chars().next()
    }

    /// The CPUs process `pid` may run on, as `/proc` lists them.
    fn cpus_allowed(pid: &str) -> String {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("Cpus_allowed_list:"));
        line.unwrap().to_owned()
    }

    /// The fork server, started away from `main`'s CPU, gets every CPU of the process back
    /// before its first request: it and its workers may run wherever the program may.
    #[test]
    fn the_server_and_its_workers_may_run_on_every_cpu_of_the_process() {
        let (worker, _conn) = spawn_one();
        let server = super::fork_server_pid().unwrap();
        let ours = cpus_allowed("self");
        assert_eq!(cpus_allowed(&server.to_string()), ours);
        assert_eq!(cpus_allowed(&worker.to_string()), ours);
        release_many(&[(worker, true)]).unwrap();
    }

    /// A released worker that has not exited (here: stopped) does not hold up the next
    /// fork: the server answers at once, and reaps the worker later (killed after its grace).
    #[test]
    fn the_server_forks_while_a_released_worker_is_still_there() {
        let (stuck, _conn) = spawn_one();
        kill(stuck, Signal::SIGSTOP).unwrap();
        while state(stuck) != Some('T') {
            std::thread::yield_now();
        }
        release_many(&[(stuck, false)]).unwrap();
        let (next, _next_conn) = spawn_one();
        assert_eq!(
            state(stuck),
            Some('T'),
            "the stopped worker was killed first"
        );
        release_many(&[(next, true), (stuck, true)]).unwrap();
    }
}
