//! `wait`: Python's `multiprocessing.connection.wait`, over connections and processes at
//! once. A [`Connection`] is ready when a message (or the end of the stream) can be read
//! without blocking; a [`Process`] when it has ended. Each is also [`AsFd`] (Python's
//! `fileno()` and `sentinel`), for an event loop of your own.

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::process::Process;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

/// Something [`wait`] can wait on: a [`Connection`] or a [`Process`].
pub trait Waitable: AsFd {
    /// Whether it is ready already without asking the kernel (a message read earlier and
    /// buffered, a process already reaped).
    fn ready_now(&self) -> bool;
}

impl<T> Waitable for Connection<T> {
    fn ready_now(&self) -> bool {
        self.raw().buffered()
    }
}

impl<T> AsFd for Connection<T> {
    /// The socket (Python's `fileno()`): readable when a message or the end of the stream
    /// is there.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.raw().as_fd()
    }
}

impl<R> Waitable for Process<R> {
    fn ready_now(&self) -> bool {
        self.exit_status().is_some()
    }
}

/// Waits until at least one of `objects` is ready, or `timeout` passes (`None`: no limit);
/// returns the indices of the ready ones (empty on time-out), like Python's
/// `multiprocessing.connection.wait`.
///
/// ```
/// use std::time::Duration;
/// let (a, b) = forkpool::pipe::<u32>()?;
/// let quick = forkpool::Process::spawn(|| 1u8)?;
/// let slow = forkpool::Process::spawn(|| { std::thread::sleep(Duration::from_secs(30)); 2u8 })?;
/// a.send(&7)?;
/// let mut ready = Vec::new();
/// while ready.len() < 2 {
///     ready = forkpool::wait(&[&b, &quick, &slow], Some(Duration::from_secs(10)))?;
/// }
/// assert_eq!(ready, [0, 1]); // the message, and the quick process's end
/// slow.kill()?;
/// # Ok::<(), forkpool::Error>(())
/// ```
pub fn wait(objects: &[&dyn Waitable], timeout: Option<Duration>) -> Result<Vec<usize>> {
    let now: Vec<usize> = (0..objects.len())
        .filter(|&i| objects[i].ready_now())
        .collect();
    if !now.is_empty() {
        return Ok(now);
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let mut fds: Vec<PollFd> = objects
            .iter()
            .map(|o| PollFd::new(o.as_fd(), PollFlags::POLLIN))
            .collect();
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let ms = left.map_or(PollTimeout::NONE, |l| {
            PollTimeout::try_from(l.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::MAX)
        });
        match poll(&mut fds, ms) {
            Ok(0) if left.is_some_and(|l| l.as_millis() < 60_000) => return Ok(Vec::new()),
            Ok(_) => {
                let ready: Vec<usize> = fds
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty()))
                    .map(|(i, _)| i)
                    .collect();
                if !ready.is_empty() {
                    return Ok(ready);
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(Error::io("poll", e)),
        }
    }
}
