//! The `imap` iterators as `futures_core::Stream`s (feature `stream`): async code takes
//! results as they come without blocking its executor's thread; input is still pulled
//! lazily, with the same bounded window.

use super::imap::IMap;
use super::imap_order::IMapOrder;
use crate::error::Result;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::pin::Pin;
use std::task::{Context, Poll};

/// ```
/// use futures_core::Stream;
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
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
/// let mut squares = pool.imap(square, 1..=3u64)?;
/// let sum = block_on(async {
///     let mut sum = 0;
///     // With the `futures` crate: `while let Some(v) = squares.next().await`.
///     while let Some(v) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut squares).poll_next(cx)).await {
///         sum += v?;
///     }
///     Ok::<_, forkpool::Error>(sum)
/// })?;
/// assert_eq!(sum, 14);
/// # Ok::<(), forkpool::Error>(())
/// ```
/// Nothing in an `IMap` is pinned in place (it is never projected through a pin), so it
/// moves freely: a stream without `Box::pin`.
impl<I, A, R, O: IMapOrder> Unpin for IMap<I, A, R, O> {}

impl<I, A, R, O> futures_core::Stream for IMap<I, A, R, O>
where
    I: Iterator<Item = A>,
    A: Serialize,
    R: DeserializeOwned,
    O: IMapOrder,
{
    type Item = Result<R>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<R>>> {
        self.get_mut().advance(Some(cx.waker()), None)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        Iterator::size_hint(self)
    }
}
