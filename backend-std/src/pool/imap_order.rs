//! The public face of the `imap` iterators' type parameters: whether results come in input
//! order ([`InOrder`]) or as they complete ([`AsCompleted`]), hiding the core's result
//! windows behind them; and [`OneArg`], the input of a one-argument `imap`.

use super::sink::Raw;
use crate::error::Result;
use forkpool_core::{GrowableOrdered, GrowableUnordered, ResultOrder};

/// Most tasks any `imap` keeps submitted or finished-but-not-yielded (the window behind
/// [`InOrder`] and [`AsCompleted`]): the window of a pool of 16 workers or more. A smaller
/// pool's is 1024 per worker, at least 2048.
pub const WINDOW: usize = 16 * PER_WORKER;

/// Tasks an `imap` keeps in flight per worker of its pool. Far more than the deepest
/// pipeline (64 chunks per worker): with fewer, the driver's batches shrank as workers
/// were added, and on 2 vCPUs the window was what limited chunk-1 `imap` (measured, 4
/// workers: 1.57M tasks/s with 1024 for the pool, 2.27M with 4096; 16 workers: 0.74M with
/// 1024, 1.99M with 16384).
pub(crate) const PER_WORKER: usize = 1024;

/// The smallest `imap` window, whatever the pool's size.
pub(crate) const MIN_WINDOW: usize = 2048;

/// The window of an `imap` on a pool of `workers`: [`PER_WORKER`] each, from
/// [`MIN_WINDOW`] to [`WINDOW`]. Memory grows with what is in flight, not with this bound.
pub(crate) fn window_for(workers: usize) -> usize {
    workers.saturating_mul(PER_WORKER).clamp(MIN_WINDOW, WINDOW)
}

/// An `imap` iterator's order: results in input order.
#[derive(Clone, Copy, Debug, Default)]
pub struct InOrder;

/// An `imap_unordered` iterator's order: results as their tasks complete.
#[derive(Clone, Copy, Debug, Default)]
pub struct AsCompleted;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::InOrder {}
    impl Sealed for super::AsCompleted {}
}

/// How an [`IMap`](crate::IMap) orders its results: [`InOrder`] or [`AsCompleted`].
/// Sealed: implemented by those two only.
pub trait IMapOrder: sealed::Sealed + Send + 'static {
    /// The core's result window behind the order (an implementation detail).
    #[doc(hidden)]
    type Window: ResultOrder<u64, Result<Raw>> + Send;
    /// A new, empty window for at most `capacity` tasks.
    #[doc(hidden)]
    fn window(capacity: usize) -> Self::Window;
}

impl IMapOrder for InOrder {
    type Window = GrowableOrdered<u64, Result<Raw>>;
    fn window(capacity: usize) -> Self::Window {
        GrowableOrdered::starting_at(0, capacity)
    }
}

impl IMapOrder for AsCompleted {
    type Window = GrowableUnordered<u64, Result<Raw>>;
    fn window(capacity: usize) -> Self::Window {
        GrowableUnordered::with_capacity(capacity)
    }
}

/// The input of a one-argument `imap`: each item of `I` as a one-element argument tuple.
/// Keeps `I`'s length, so the iterator's `len()` is known when the input's is.
#[derive(Clone, Debug)]
pub struct OneArg<I>(pub(crate) I);

impl<I: Iterator> Iterator for OneArg<I> {
    type Item = (I::Item,);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|x| (x,))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<I: ExactSizeIterator> ExactSizeIterator for OneArg<I> {}
