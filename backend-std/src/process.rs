//! `Process`: Python's `multiprocessing.Process`, whose `join` hands back the return value.

use crate::process_answer as answer;
use crate::error::{Error, ExitCause, Result};
use crate::sys::{self, Forked};
use crate::wire::{Message, RawConn, raw_pair};
use crate::zygote::cause_of;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::marker::PhantomData;
use std::os::fd::{AsFd, OwnedFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// A child process running one closure, like Python's `Process(target=...)`.
///
/// The closure may capture anything: `fork()` copies it into the child. Its return value
/// comes back through [`join`](Self::join). Dropping a `Process` that was not joined kills
/// it (`SIGKILL`) and reaps it, so it never leaves a zombie.
///
/// The child is forked from the calling thread. Stdout is safe: `spawn` forks holding its
/// lock, so the child may print, and what it printed without a final newline is written
/// when it ends, as in Python. Other locks another thread of the program may hold at that
/// moment (a mutex of yours, stderr's) the child must not take: the closure should compute
/// and talk through [`Connection`](crate::Connection)s.
///
/// ```
/// let p = forkpool::Process::spawn(|| 6 * 7)?;
/// assert_eq!(p.join()?, 42);
/// # Ok::<(), forkpool::Error>(())
/// ```
pub struct Process<R> {
    pid: Pid,
    conn: RawConn,
    result: Option<Result<R>>,
    exit: Option<ExitCause>,
    /// The child as a descriptor, readable once it has exited (`None` without pidfds).
    exited: Option<OwnedFd>,
    /// Whether `join` has given its answer (a further join is refused).
    joined: bool,
    /// The name it was given (`ProcessBuilder::name`).
    name: Option<&'static str>,
    /// Byte strings of its value read from its memory so far (see `process_answer.rs`).
    pieces: Vec<Vec<u8>>,
    _r: PhantomData<fn() -> R>,
}

/// Options for starting a [`Process`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessBuilder {
    parent_death_signal: Option<Signal>,
    name: Option<&'static str>,
}

impl ProcessBuilder {
    /// The child's name, as [`current_process`](crate::current_process) reports it there
    /// (Python's `Process(name=...)`); by default `Process-PID`.
    pub fn name(mut self, name: &'static str) -> Self {
        self.name = Some(name);
        self
    }

    /// Sends the child `signal` (e.g. `SIGKILL`) if the thread that spawned it exits or the
    /// parent dies (Linux `PR_SET_PDEATHSIG`), so the child does not outlive a killed parent.
    pub fn parent_death_signal(mut self, signal: Signal) -> Self {
        self.parent_death_signal = Some(signal);
        self
    }

    /// Forks and runs `f` in the child.
    pub fn spawn<F, R>(self, f: F) -> Result<Process<R>>
    where
        F: FnOnce() -> R,
        R: Serialize + DeserializeOwned,
    {
        let (ours, theirs) = raw_pair()?;
        // The panic hook that notes where a panic happened is installed here, in the parent:
        // the child must not take the hook's or the environment's locks, which another
        // thread of the parent may have held at the fork.
        crate::panics::install(crate::panics::backtrace_wanted());
        // Stdout's lock is held across the fork: no other thread of the parent holds it
        // then, so the child may print, and flush what it printed when it ends (its copy
        // of the lock belongs to this thread, and is released below, in both processes).
        // Flushed first, so the child does not print the parent's buffered output again.
        let mut out = std::io::stdout().lock();
        let _ = out.flush();
        let _ = std::io::stderr().flush();
        let parent = nix::unistd::getpid();
        let forked = sys::fork();
        drop(out);
        match forked.map_err(|e| Error::io("fork", e))? {
            Forked::Child => {
                drop(ours);
                crate::utilities::became_child(self.name);
                if let Some(sig) = self.parent_death_signal {
                    let _ = nix::sys::prctl::set_pdeathsig(sig);
                    if nix::unistd::getppid() != parent {
                        sys::exit_now(1);
                    }
                }
                // Everything the child runs is under this guard: a panic anywhere (the
                // closure, the value's `Serialize` or `Drop`) is reported, and the child
                // never unwinds into the parent's frames that the fork copied.
                let sent = catch_unwind(AssertUnwindSafe(|| {
                    let value = catch_unwind(AssertUnwindSafe(f));
                    // What it printed without a final newline, as Python's children do;
                    // before the answer, so `join` returns once it is written (and
                    // `join_timeout` keeps its bound while a full pipe holds it up).
                    let _ = std::io::stdout().flush();
                    answer::send(&theirs, parent, value).is_ok()
                }));
                sys::exit_now(if matches!(sent, Ok(true)) { 0 } else { 1 })
            }
            Forked::Parent(pid) => Ok(Process::started(pid, ours, self.name)),
        }
    }
}

impl<R> Process<R> {
    /// The parent's handle on a child just forked.
    fn started(pid: Pid, conn: RawConn, name: Option<&'static str>) -> Self {
        crate::utilities::child_spawned(pid.as_raw() as u32, name);
        Process {
                pid,
                conn,
                result: None,
                exit: None,
                exited: sys::pidfd_open(pid),
                joined: false,
                name,
                pieces: Vec::new(),
                _r: PhantomData,
            }
    }
}

impl<R: Serialize + DeserializeOwned> Process<R> {
    /// Forks and runs `f` in the child, with default options.
    pub fn spawn<F: FnOnce() -> R>(f: F) -> Result<Self> {
        ProcessBuilder::default().spawn(f)
    }
}

impl<R> Process<R> {
    /// Options for the next spawn.
    pub fn builder() -> ProcessBuilder {
        ProcessBuilder::default()
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.pid.as_raw() as u32
    }

    /// The child's name: the one given with [`ProcessBuilder::name`], else `Process-PID`
    /// (Python's `Process.name`); the same as [`current_process`](crate::current_process)
    /// reports in the child.
    pub fn name(&self) -> String {
        crate::utilities::child_name(self.pid(), self.name)
    }

    /// Whether the child is still running.
    pub fn is_alive(&mut self) -> bool {
        if self.exit.is_some() {
            return false;
        }
        match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => true,
            Ok(status) => match cause_of(status) {
                Some(c) => {
                    self.exit = Some(c);
                    crate::utilities::child_reaped(self.pid());
                    false
                }
                None => true,
            },
            Err(_) => false,
        }
    }

    /// Asks the child to stop (`SIGTERM`). Does nothing once it was reaped.
    pub fn terminate(&self) -> Result<()> {
        self.signal(Signal::SIGTERM)
    }

    /// Kills the child (`SIGKILL`). Does nothing once it was reaped.
    pub fn kill(&self) -> Result<()> {
        self.signal(Signal::SIGKILL)
    }

    fn signal(&self, sig: Signal) -> Result<()> {
        if self.exit.is_some() {
            return Ok(());
        }
        kill(self.pid, sig).map_err(|e| Error::io("kill", e))
    }

    /// How the child ended, once it was joined (or seen dead by `is_alive`).
    pub fn exit_status(&self) -> Option<ExitCause> {
        self.exit
    }

    fn reap(&mut self) -> ExitCause {
        if let Some(c) = self.exit {
            return c;
        }
        let cause = loop {
            match waitpid(self.pid, None) {
                Ok(status) => {
                    if let Some(c) = cause_of(status) {
                        break c;
                    }
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => break ExitCause::Unknown,
            }
        };
        self.exit = Some(cause);
        crate::utilities::child_reaped(self.pid());
        cause
    }
}

impl<R: DeserializeOwned> Process<R> {
    /// Waits for the child to end and returns the closure's value.
    ///
    /// [`Error::Panicked`] if it panicked; [`Error::WorkerDied`] (naming the signal or exit
    /// code) if it ended without answering.
    pub fn join(mut self) -> Result<R> {
        self.wait(None)
    }

    /// Like [`join`](Self::join), waiting at most `timeout`. On [`Error::Timeout`] the
    /// process is untouched and may be joined again; after any other answer it is reaped,
    /// and a further call returns [`Error::InvalidArgument`].
    pub fn join_timeout(&mut self, timeout: Duration) -> Result<R> {
        self.wait(Some(timeout))
    }

    fn wait(&mut self, timeout: Option<Duration>) -> Result<R> {
        if let Some(r) = self.result.take() {
            return r;
        }
        if self.joined {
            return Err(Error::InvalidArgument("this process was already joined"));
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let pid = self.pid();
        let answer = loop {
            // A large value is read from the child's memory, or (refused) comes next.
            match self.answer(deadline) {
                Ok(m) => match answer::take(&self.conn, self.pid, m, &mut self.pieces) {
                    Ok(Some(m)) => break Ok(m),
                    Ok(None) => continue,
                    Err(e) => break Err(e),
                },
                other => break other,
            }
        };
        let outcome = match answer {
            Err(Error::Timeout) => return Err(Error::Timeout),
            Ok(m) => answer::decode(m, pid, std::mem::take(&mut self.pieces)),
            Err(Error::Disconnected) => {
                // It closed its end: it is exiting, or closed it and runs on. Wait for the
                // exit no longer than the caller allows.
                if !self.exits_by(deadline) {
                    return Err(Error::Timeout);
                }
                Err(Error::WorkerDied {
                    pid,
                    cause: ExitCause::Unknown,
                })
            }
            Err(e) => Err(e),
        };
        self.joined = true;
        let cause = self.reap();
        match outcome {
            Err(Error::WorkerDied { pid, .. }) => Err(Error::WorkerDied { pid, cause }),
            other => other,
        }
    }

    /// The child's answer, waiting until `deadline` (forever for `None`). `Disconnected`
    /// when it hung up, or exited without answering though its socket is still open (held
    /// by a process it forked).
    fn answer(&mut self, deadline: Option<Instant>) -> Result<Message> {
        let Some(exited) = &self.exited else {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            return self.conn.recv(left);
        };
        let mut gone = false;
        loop {
            if let Some(m) = self.conn.try_recv()? {
                return Ok(m);
            }
            if gone {
                return Err(Error::Disconnected);
            }
            let mut fds = [
                PollFd::new(self.conn.as_fd(), PollFlags::POLLIN),
                PollFd::new(exited.as_fd(), PollFlags::POLLIN),
            ];
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let ms = left.map_or(PollTimeout::NONE, |l| {
                PollTimeout::try_from(l.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::MAX)
            });
            match poll(&mut fds, ms) {
                Ok(0) if left.is_some_and(|l| l.as_millis() < 60_000) => {
                    return Err(Error::Timeout);
                }
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(Error::io("poll", e)),
            }
            gone = fds[1].revents().is_some_and(|r| !r.is_empty());
        }
    }

    /// Whether the child has exited by `deadline` (forever for `None`).
    fn exits_by(&mut self, deadline: Option<Instant>) -> bool {
        let Some(deadline) = deadline else {
            return true; // `reap` waits
        };
        match &self.exited {
            Some(fd) => sys::wait_readable(fd, deadline.saturating_duration_since(Instant::now())),
            None => loop {
                if !self.is_alive() {
                    return true;
                }
                if Instant::now() >= deadline {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(1));
            },
        }
    }
}

impl<R> AsFd for Process<R> {
    /// A descriptor that becomes readable when the child ends (Python's `sentinel`): its
    /// pidfd, or on kernels without pidfds its end of the result socket.
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match &self.exited {
            Some(fd) => fd.as_fd(),
            None => self.conn.as_fd(),
        }
    }
}

impl<R> std::fmt::Debug for Process<R> {
    /// The child's pid, and how it ended once that is known.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("pid", &self.pid.as_raw())
            .field("exit", &self.exit)
            .field("joined", &self.joined)
            .finish()
    }
}

impl<R> Drop for Process<R> {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = kill(self.pid, Signal::SIGKILL);
            self.reap();
        }
    }
}
