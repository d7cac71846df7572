//! The `Pool` methods that start the lazy `imap` iterators (`imap.rs`).

use super::Pool;
use super::imap::{IMap, IMapOrdered, IMapUnordered};
use super::imap_order::{IMapOrder, OneArg};
use crate::error::Result;
use crate::task::{TaskFn, erase};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// An `imap` iterator over `I`'s items as one-argument tasks, in order `O`.
type OneArgIMap<I, T, R, O> = IMap<OneArg<<I as IntoIterator>::IntoIter>, (T,), R, O>;

impl Pool {
    /// Lazily applies `f` to every item; yields results in input order. Input is pulled
    /// only as workers need it, and at most a window of tasks is in flight or held: 1024
    /// per worker, from 2048 to [`IMAP_WINDOW`](crate::IMAP_WINDOW) (16384).
    pub fn imap<F, T, R, I>(
        &self,
        f: F,
        items: I,
    ) -> Result<IMapOrdered<OneArg<I::IntoIter>, (T,), R>>
    where
        F: TaskFn<(T,), R>,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = T>,
    {
        self.imap_chunked(f, items, 1)
    }

    /// [`imap`](Self::imap) with an explicit chunk size (at most half of the window).
    pub fn imap_chunked<F, T, R, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<IMapOrdered<OneArg<I::IntoIter>, (T,), R>>
    where
        F: TaskFn<(T,), R>,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = T>,
    {
        self.start_imap(f, items, chunksize)
    }

    /// Like [`imap`](Self::imap), but yields results as they complete.
    pub fn imap_unordered<F, T, R, I>(
        &self,
        f: F,
        items: I,
    ) -> Result<IMapUnordered<OneArg<I::IntoIter>, (T,), R>>
    where
        F: TaskFn<(T,), R>,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = T>,
    {
        self.imap_unordered_chunked(f, items, 1)
    }

    /// [`imap_unordered`](Self::imap_unordered) with an explicit chunk size.
    pub fn imap_unordered_chunked<F, T, R, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<IMapUnordered<OneArg<I::IntoIter>, (T,), R>>
    where
        F: TaskFn<(T,), R>,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = T>,
    {
        self.start_imap(f, items, chunksize)
    }

    /// An `imap` iterator of order `O` over `items`, in chunks of `chunksize`.
    fn start_imap<F, T, R, I, O>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<OneArgIMap<I, T, R, O>>
    where
        F: TaskFn<(T,), R>,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = T>,
        O: IMapOrder,
    {
        self.home.check()?;
        let input = OneArg(items.into_iter());
        IMap::new(
            Arc::clone(&self.inner),
            input,
            erase::<F, (T,), R>(f),
            chunksize,
        )
    }
}
