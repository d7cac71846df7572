//! Waiting for results without blocking a thread: [`AsyncResult`] as a future
//! (`pool.apply_async(f, args)?.await`), and [`as_completed`], which hands results of many
//! calls back as they finish (like `concurrent.futures.as_completed`).
//!
//! The driver publishes a result into its slot and wakes the tasks (wakers) registered
//! there; nothing polls, and no executor thread is blocked while a task runs.

use super::async_result::{AsyncResult, take};
use super::lock::lock;
use crate::error::Result;
use std::collections::VecDeque;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// The future of an [`AsyncResult`]: resolves to the call's outcome.
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     // Any executor does: tokio, async-std, smol, `futures::executor::block_on`...
/// #     struct W(std::thread::Thread);
/// #     impl std::task::Wake for W { fn wake(self: std::sync::Arc<Self>) { self.0.unpark() } }
/// #     let waker = std::sync::Arc::new(W(std::thread::current())).into();
/// #     let mut cx = std::task::Context::from_waker(&waker);
/// #     let mut f = std::pin::pin!(f);
/// #     loop {
/// #         if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; }
/// #         std::thread::park();
/// #     }
/// # }
/// fn square(x: u64) -> u64 { x * x }
/// let pool = forkpool::Pool::new(2)?;
/// let value = block_on(async { pool.apply_async(square, (7,))?.await })?;
/// assert_eq!(value, 49);
/// # Ok::<(), forkpool::Error>(())
/// ```
#[derive(Debug)]
pub struct ResultFuture<T> {
    result: AsyncResult<T>,
}

impl<T> IntoFuture for AsyncResult<T> {
    type Output = Result<T>;
    type IntoFuture = ResultFuture<T>;

    fn into_future(self) -> ResultFuture<T> {
        ResultFuture { result: self }
    }
}

impl<T> Future for ResultFuture<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let shared = &self.result.shared;
        if let Err(e) = shared.home.check() {
            return Poll::Ready(Err(e));
        }
        let mut g = lock(&shared.value);
        if g.value.is_ready() {
            return Poll::Ready(take(&mut g.value));
        }
        if !g.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            g.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// The results of `calls`, each as `(its index in calls, its outcome)`, in the order they
/// finish: Python's `concurrent.futures.as_completed`. The iterator blocks while none is
/// ready; it ends after the last.
///
/// ```
/// use std::time::Duration;
/// fn nap(ms: u64) -> u64 { std::thread::sleep(Duration::from_millis(ms)); ms }
/// let pool = forkpool::Pool::new(3)?;
/// let calls = [300, 10, 150].map(|ms| pool.apply_async(nap, (ms,)));
/// let calls: Vec<_> = calls.into_iter().collect::<Result<_, _>>()?;
/// for (i, outcome) in forkpool::as_completed(calls) {
///     println!("call {i} finished: {}", outcome?); // 10 first, most likely; 300 last
/// }
/// # Ok::<(), forkpool::Error>(())
/// ```
pub fn as_completed<T>(calls: impl IntoIterator<Item = AsyncResult<T>>) -> Completions<T> {
    let ready = Arc::new(Ready::default());
    let calls: Vec<Option<ResultFuture<T>>> =
        calls.into_iter().map(|c| Some(c.into_future())).collect();
    // Every call is polled once at the start, registering its waker.
    lock(&ready.queue).extend(0..calls.len());
    Completions {
        left: calls.len(),
        calls,
        ready,
    }
}

/// The iterator [`as_completed`] returns.
pub struct Completions<T> {
    calls: Vec<Option<ResultFuture<T>>>,
    left: usize,
    ready: Arc<Ready>,
}

/// Indices of calls whose outcome may be ready, pushed by their wakers.
#[derive(Debug, Default)]
struct Ready {
    queue: Mutex<VecDeque<usize>>,
    signal: Condvar,
}

/// Wakes [`Completions`] for one call.
struct Notice {
    index: usize,
    ready: Arc<Ready>,
}

impl Wake for Notice {
    fn wake(self: Arc<Self>) {
        lock(&self.ready.queue).push_back(self.index);
        self.ready.signal.notify_one();
    }
}

impl<T> Iterator for Completions<T> {
    type Item = (usize, Result<T>);

    fn next(&mut self) -> Option<(usize, Result<T>)> {
        while self.left > 0 {
            let index = {
                let mut q = lock(&self.ready.queue);
                loop {
                    match q.pop_front() {
                        Some(i) => break i,
                        None => q = self.ready.signal.wait(q).unwrap_or_else(|p| p.into_inner()),
                    }
                }
            };
            let Some(call) = self.calls.get_mut(index).and_then(Option::as_mut) else {
                continue; // finished already (a late or repeated wake)
            };
            let waker = Waker::from(Arc::new(Notice {
                index,
                ready: Arc::clone(&self.ready),
            }));
            if let Poll::Ready(outcome) = Pin::new(call).poll(&mut Context::from_waker(&waker)) {
                self.calls[index] = None;
                self.left -= 1;
                return Some((index, outcome));
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T> ExactSizeIterator for Completions<T> {}

impl<T> std::fmt::Debug for Completions<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completions")
            .field("left", &self.left)
            .finish_non_exhaustive()
    }
}
