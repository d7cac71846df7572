//! The public face of the `imap` iterators' type parameters: whether results come in input
//! order ([`InOrder`]) or as they complete ([`AsCompleted`]), hiding the core's result
//! windows behind them; and [`OneArg`], the input of a one-argument `imap`.

use super::sink::Raw;
use crate::error::Result;
use forkpool_core::{Ordered, ResultOrder, Unordered};

/// Most tasks an `imap` keeps submitted or finished-but-not-yielded: the size of the
/// windows behind [`InOrder`] and [`AsCompleted`].
pub const WINDOW: usize = 1024;

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
    /// A new, empty window (boxed: it is large).
    #[doc(hidden)]
    fn window() -> Box<Self::Window>;
}

impl IMapOrder for InOrder {
    type Window = Ordered<u64, Result<Raw>, WINDOW>;
    fn window() -> Box<Self::Window> {
        Box::new(Ordered::starting_at(0))
    }
}

impl IMapOrder for AsCompleted {
    type Window = Unordered<u64, Result<Raw>, WINDOW>;
    fn window() -> Box<Self::Window> {
        Box::new(Unordered::new())
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
