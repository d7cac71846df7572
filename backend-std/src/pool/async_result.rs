//! [`AsyncResult`]: the caller's end of an asynchronous call, and the slot the driver
//! publishes its outcome into.
//!
//! A caller that waits for an outcome not yet published first spins for a few tens of
//! microseconds (when the machine has a CPU to spare and no other caller is spinning), then
//! sleeps. A task that answers within that time then costs the caller no wake-up, which on
//! these VMs is most of a round trip: the `apply` round trip goes from about 50 µs to about
//! 17 µs. The spin is bounded, so a long task costs at most that much CPU per wait.

use super::batch_id::BatchId;
use super::lock::lock;
use crate::error::{Error, Result};
use crate::owner::Home;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

/// The end of an asynchronous call: Python's `AsyncResult`.
///
/// ```
/// fn double(x: u32) -> u32 { x * 2 }
/// let pool = forkpool::Pool::new(2)?;
/// let r = pool.apply_async(double, (21,))?;
/// r.wait();
/// assert_eq!(r.successful(), Some(true));
/// assert_eq!(r.get()?, 42);
/// # Ok::<(), forkpool::Error>(())
/// ```
pub struct AsyncResult<T> {
    pub(super) shared: Arc<Shared<T>>,
    cancel: Cancel,
    /// The call's sink (when it is not `shared` itself), kept so that it is freed here, by
    /// the thread that allocated it, and not by the driver thread: frees across threads
    /// contend for the allocator's locks.
    _sink: Option<Arc<dyn Send + Sync>>,
}

/// What cancels a call in flight: its pool's engine (`driver::Inner`), which the result
/// reaches only through this.
pub(crate) trait CancelCall: Send + Sync {
    /// Cancels what is left of call `batch`.
    fn cancel_call(&self, batch: &CallId);
}

/// A call's id: known when it was submitted at once, or to be set once a job left for the
/// driver is submitted (`pool/deferred.rs`; never set if the pool refused it).
pub(crate) enum CallId {
    Known(BatchId),
    Left(Arc<OnceLock<BatchId>>),
}

impl CallId {
    /// The id, once the call is submitted.
    pub(crate) fn get(&self) -> Option<BatchId> {
        match self {
            CallId::Known(id) => Some(*id),
            CallId::Left(cell) => cell.get().copied(),
        }
    }
}

/// How a call is cancelled: its batch in its pool, the engine's business, not the
/// result's. The pool is held weakly, as it is (not in a boxed closure: one allocation
/// less per call).
pub(crate) struct Cancel {
    pool: Weak<dyn CancelCall>,
    batch: CallId,
}

impl Cancel {
    pub(crate) fn new(pool: Weak<dyn CancelCall>, batch: CallId) -> Self {
        Self { pool, batch }
    }

    fn run(&self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.cancel_call(&self.batch);
        }
    }
}

pub(crate) struct Shared<T> {
    pub(super) value: Mutex<Slot<T>>,
    ready: Condvar,
    /// Set with the value, for a spinning waiter to watch without the lock.
    done: AtomicBool,
    /// The process whose pool delivers the value: a fork's copy never gets one.
    pub(super) home: Home,
}

/// A result's place: the outcome and how many threads wait for it, so publishing it makes
/// no wake-up call when nobody waits (the common case: results usually arrive before
/// `get`).
pub(super) struct Slot<T> {
    pub(super) value: Outcome<T>,
    waiters: usize,
    /// Tasks of async code waiting for the value (`AsyncResult` as a future), woken when
    /// it is published.
    pub(super) wakers: Vec<std::task::Waker>,
}

impl<T> Shared<T> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            value: Mutex::new(Slot {
                value: Outcome::Pending,
                waiters: 0,
                wakers: Vec::new(),
            }),
            ready: Condvar::new(),
            done: AtomicBool::new(false),
            home: Home::here(),
        })
    }

    /// Publishes the outcome; a second one is dropped (an outcome is final).
    pub(crate) fn set(&self, value: Result<T>) {
        let (waiters, wakers) = {
            let mut g = lock(&self.value);
            if g.value.is_ready() {
                return;
            }
            g.value = Outcome::Ready(value.map_err(Box::new));
            self.done.store(true, Ordering::Release);
            (g.waiters, std::mem::take(&mut g.wakers))
        };
        if waiters > 0 {
            self.ready.notify_all();
        }
        // Outside the lock: a waker may run its task at once, on this thread.
        for w in wakers {
            wake(w);
        }
    }

    fn wait_until(&self, deadline: Option<Instant>) -> MutexGuard<'_, Slot<T>> {
        spin_until(&self.done, deadline);
        let mut g = lock(&self.value);
        while !g.value.is_ready() {
            g.waiters += 1;
            match deadline {
                None => g = self.ready.wait(g).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        g.waiters -= 1;
                        break;
                    }
                    g = self
                        .ready
                        .wait_timeout(g, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
            g.waiters -= 1;
        }
        g
    }
}

impl<T> AsyncResult<T> {
    pub(crate) fn new(
        shared: Arc<Shared<T>>,
        cancel: Cancel,
        sink: Option<Arc<dyn Send + Sync>>,
    ) -> Self {
        Self {
            shared,
            cancel,
            _sink: sink,
        }
    }

    /// Cancels the call: tasks not started are dropped, and workers running one of its tasks
    /// are killed and replaced. The result then resolves to [`Error::Cancelled`] (unless it
    /// was ready already). Returns whether it was still pending.
    pub fn cancel(&self) -> bool {
        if !self.shared.home.is_here() || self.ready() {
            return false;
        }
        self.cancel.run();
        true
    }

    /// Waits for the result and returns it.
    pub fn get(self) -> Result<T> {
        self.shared.home.check()?;
        let mut g = self.shared.wait_until(None);
        take(&mut g.value)
    }

    /// Waits at most `timeout` for the result. [`Error::Timeout`] if it is not ready (call
    /// again to wait more); once it was returned, later calls fail with
    /// [`Error::InvalidArgument`].
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        self.shared.home.check()?;
        let mut g = self.shared.wait_until(Some(Instant::now() + timeout));
        if !g.value.is_ready() {
            return Err(Error::Timeout);
        }
        take(&mut g.value)
    }

    /// Waits until the result is ready.
    pub fn wait(&self) {
        if !self.shared.home.is_here() {
            return; // never comes here: `get` says why
        }
        drop(self.shared.wait_until(None));
    }

    /// Waits at most `timeout`; whether the result is ready.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        if !self.shared.home.is_here() {
            return false;
        }
        self.shared
            .wait_until(Some(Instant::now() + timeout))
            .value
            .is_ready()
    }

    /// Whether the result is ready.
    pub fn ready(&self) -> bool {
        if !self.shared.home.is_here() {
            return false;
        }
        lock(&self.shared.value).value.is_ready()
    }

    /// `None` while not ready; then whether the call succeeded.
    pub fn successful(&self) -> Option<bool> {
        if !self.shared.home.is_here() {
            return None;
        }
        match &lock(&self.shared.value).value {
            Outcome::Pending => None,
            Outcome::Ready(r) => Some(r.is_ok()),
            Outcome::Taken => Some(true),
        }
    }
}

/// Wakes an async task. Its executor's waker is user code, run here on the pool's driver
/// thread: a panic in it must not take the driver down (every other call would hang), so
/// it is caught and reported.
pub(crate) fn wake(w: std::task::Waker) {
    if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.wake())) {
        let message = crate::task::panic_message(p.as_ref());
        eprintln!("forkpool: an async task's waker panicked: {message}");
    }
}

pub(super) fn take<T>(g: &mut Outcome<T>) -> Result<T> {
    g.take()
        .unwrap_or(Err(Error::InvalidArgument("this result was already taken")))
}

/// A call's outcome as its slot keeps it. The error is boxed: most calls succeed, and
/// unboxed every slot would be the size of the largest error (80 bytes), while a program
/// may hold millions of pending results (`apply_async` in a loop).
pub(crate) enum Outcome<T> {
    /// Not published yet.
    Pending,
    /// Published, not taken.
    Ready(std::result::Result<T, Box<Error>>),
    /// Published and taken by `get`.
    Taken,
}

impl<T> Outcome<T> {
    /// Whether it was published (taken or not).
    pub(crate) fn is_ready(&self) -> bool {
        !matches!(self, Outcome::Pending)
    }

    /// The outcome, once: `None` while pending or once taken.
    pub(crate) fn take(&mut self) -> Option<Result<T>> {
        if !matches!(self, Outcome::Ready(_)) {
            return None;
        }
        match std::mem::replace(self, Outcome::Taken) {
            Outcome::Ready(r) => Some(r.map_err(|e| *e)),
            _ => None,
        }
    }
}

/// How long a waiter spins before it sleeps: a little more than a fast round trip.
const SPIN: Duration = Duration::from_micros(50);

/// Callers spinning now, in this process.
static SPINNING: AtomicUsize = AtomicUsize::new(0);

/// Spins until `done` is set, [`SPIN`] has passed, or `deadline`, whichever comes first;
/// returns at once on a single CPU, or while another caller spins (spinners would take the
/// CPU the workers and the driver need).
fn spin_until(done: &AtomicBool, deadline: Option<Instant>) {
    static CPUS: OnceLock<usize> = OnceLock::new();
    let cpus = *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from));
    if cpus < 2 || done.load(Ordering::Acquire) {
        return;
    }
    if SPINNING.fetch_add(1, Ordering::Relaxed) == 0 {
        let start = Instant::now();
        let until = deadline.map_or(start + SPIN, |d| d.min(start + SPIN));
        while !done.load(Ordering::Acquire) && Instant::now() < until {
            std::hint::spin_loop();
        }
    }
    SPINNING.fetch_sub(1, Ordering::Relaxed);
}

impl<T> std::fmt::Debug for AsyncResult<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncResult")
            .field("ready", &self.ready())
            .field("successful", &self.successful())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value published while the waiter spins, or after it went to sleep, or while
    /// another waiter holds the spin, reaches every waiter.
    #[test]
    fn waiters_get_the_value_whenever_it_comes() {
        for delay in [0, 10, 200, 5_000] {
            let shared: Arc<Shared<u32>> = Shared::new();
            let waiters: Vec<_> = (0..3)
                .map(|_| {
                    let s = Arc::clone(&shared);
                    std::thread::spawn(move || s.wait_until(None).value.is_ready())
                })
                .collect();
            std::thread::sleep(Duration::from_micros(delay));
            shared.set(Ok(7));
            for w in waiters {
                assert!(w.join().unwrap(), "delay {delay} µs");
            }
        }
    }

    /// A pending call's memory is mostly its slot: it is sized by the value, not by the
    /// largest error (2M pending `apply_async` calls held 128 MB more with errors inline).
    #[test]
    fn a_slot_is_sized_by_its_value_not_by_the_largest_error() {
        assert!(std::mem::size_of::<Error>() >= 64);
        assert_eq!(std::mem::size_of::<Outcome<u64>>(), 16);
        assert!(std::mem::size_of::<Shared<u64>>() <= 80);
        let mut o: Outcome<u64> = Outcome::Ready(Err(Box::new(Error::Cancelled)));
        assert!(matches!(o.take(), Some(Err(Error::Cancelled))));
        assert!(o.is_ready() && o.take().is_none());
    }

    #[test]
    fn a_deadline_ends_the_wait_without_a_value() {
        let shared: Arc<Shared<u32>> = Shared::new();
        let g = shared.wait_until(Some(Instant::now() + Duration::from_micros(100)));
        assert!(!g.value.is_ready());
    }
}
