//! The `Pool` methods of a whole call over many items (`map`, `starmap` and their
//! variants), submitted through `submit.rs`.

use super::encode::exact_len;
use super::{AsyncOptions, AsyncResult, Pool};
use crate::error::Result;
use crate::task::{TaskFn, erase};
use forkpool_core::default_chunksize;
use serde::Serialize;
use serde::de::DeserializeOwned;

impl Pool {
    /// Applies `f` to every item, in parallel; results in input order.
    pub fn map<F, T, R>(&self, f: F, items: impl IntoIterator<Item = T>) -> Result<Vec<R>>
    where
        F: TaskFn<(T,), R>,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.map_async(f, items)?.get()
    }

    /// [`map`](Self::map) with an explicit chunk size.
    pub fn map_chunked<F, T, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = T>,
        chunksize: usize,
    ) -> Result<Vec<R>>
    where
        F: TaskFn<(T,), R>,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.map_async_with(f, items, AsyncOptions::new().chunksize(chunksize))?
            .get()
    }

    /// Like [`map`](Self::map) but returns at once.
    pub fn map_async<F, T, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = T>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        F: TaskFn<(T,), R>,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.map_async_with(f, items, AsyncOptions::new())
    }

    /// [`map_async`](Self::map_async) with chunk size and callbacks.
    pub fn map_async_with<F, T, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = T>,
        opts: AsyncOptions<Vec<R>>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        F: TaskFn<(T,), R>,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let items = items.into_iter().map(|x| (x,));
        self.submit_call(erase::<F, (T,), R>(f), items, opts)
    }

    /// Like [`map`](Self::map), but each item is a tuple unpacked into `f`'s arguments.
    pub fn starmap<F, A, R>(&self, f: F, items: impl IntoIterator<Item = A>) -> Result<Vec<R>>
    where
        F: TaskFn<A, R>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.starmap_async(f, items)?.get()
    }

    /// [`starmap`](Self::starmap) with an explicit chunk size.
    pub fn starmap_chunked<F, A, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<Vec<R>>
    where
        F: TaskFn<A, R>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.starmap_async_with(f, items, AsyncOptions::new().chunksize(chunksize))?
            .get()
    }

    /// Like [`starmap`](Self::starmap) but returns at once.
    pub fn starmap_async<F, A, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = A>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        F: TaskFn<A, R>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.starmap_async_with(f, items, AsyncOptions::new())
    }

    /// [`starmap_async`](Self::starmap_async) with chunk size and callbacks.
    pub fn starmap_async_with<F, A, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = A>,
        opts: AsyncOptions<Vec<R>>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        F: TaskFn<A, R>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.submit_call(erase::<F, A, R>(f), items.into_iter(), opts)
    }

    /// Submits a whole call of `call` over `items` in chunks (the default size, Python's,
    /// needs the item count: read from the iterator's exact size hint where it has one,
    /// else from a list of the items made first).
    fn submit_call<A, R>(
        &self,
        call: usize,
        items: impl Iterator<Item = A>,
        opts: AsyncOptions<Vec<R>>,
    ) -> Result<AsyncResult<Vec<R>>>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        self.home.check()?;
        let chunk = |len| opts.chunksize.unwrap_or(default_chunksize(len, self.processes));
        if let Some(len) = exact_len(&items) {
            let chunk = chunk(len);
            return self.submit_all(call, items, chunk, Ok, opts);
        }
        let items: Vec<A> = items.collect();
        let chunk = chunk(items.len());
        self.submit_all(call, items, chunk, Ok, opts)
    }
}
