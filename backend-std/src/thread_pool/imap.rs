//! `ThreadPool::imap` and `imap_unordered`: the engine's lazy iterator over tickets, with
//! the input turned into tasks as it is pulled and the results taken out as they come.

use super::ThreadPool;
use super::task_fn::ThreadTaskFn;
use super::tickets::{Carried, Job, Scope, Ticket};
use crate::error::Result;
use crate::pool::{AsCompleted, IMap, IMapOrder, InOrder};
use std::sync::Arc;

/// Turns each input item into a task in the iterator's scope, as the engine pulls it.
pub(crate) struct Tasks<I: Iterator> {
    input: I,
    make: Arc<dyn Fn(I::Item) -> Job + Send + Sync>,
    /// The iterator's own scope: what is left in it goes when the iterator does.
    scope: Scope,
}

impl<I: Iterator> Iterator for Tasks<I> {
    type Item = (Ticket,);

    fn next(&mut self) -> Option<(Ticket,)> {
        let item = self.input.next()?;
        Some((self.scope.put_job((self.make)(item)),))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.input.size_hint()
    }
}

impl<I: ExactSizeIterator> ExactSizeIterator for Tasks<I> {}

/// The iterator [`ThreadPool::imap`] (`O` = [`InOrder`]) and
/// [`ThreadPool::imap_unordered`] (`O` = [`AsCompleted`]) return: the same lazy, bounded
/// iterator as [`IMap`], yielding each task's result or its error. Dropping it cancels the
/// tasks not yet started and drops what they would have used.
pub struct ThreadIMap<I: Iterator, R, O: IMapOrder> {
    inner: IMap<Tasks<I>, (Ticket,), Carried<R>, O>,
}

/// The ordered `ThreadPool::imap` iterator type.
pub type ThreadIMapOrdered<I, R> = ThreadIMap<I, R, InOrder>;
/// The `ThreadPool::imap_unordered` iterator type.
pub type ThreadIMapUnordered<I, R> = ThreadIMap<I, R, AsCompleted>;

impl<I: Iterator, R: Send + 'static, O: IMapOrder> ThreadIMap<I, R, O> {
    /// Gives each task at most `limit` once started (see [`IMap::timeout`]); a thread
    /// cannot be stopped, so the task's thread is let go and replaced.
    pub fn timeout(self, limit: std::time::Duration) -> Self {
        Self {
            inner: self.inner.timeout(limit),
        }
    }
}

impl<I: Iterator, R: Send + 'static, O: IMapOrder> Iterator for ThreadIMap<I, R, O> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        self.inner.next().map(|r| r.map(|c| c.0))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<I: ExactSizeIterator, R: Send + 'static, O: IMapOrder> ExactSizeIterator
    for ThreadIMap<I, R, O>
{
}

impl<I: Iterator, R, O: IMapOrder> std::fmt::Debug for ThreadIMap<I, R, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ThreadIMap").field(&self.inner).finish()
    }
}

impl ThreadPool {
    fn imap_on<F, T, R, I, O>(&self, f: F, items: I, chunksize: usize) -> Result<ThreadIMap<I::IntoIter, R, O>>
    where
        F: ThreadTaskFn<(T,), R>,
        T: Send + 'static,
        R: Send + 'static,
        I: IntoIterator<Item = T>,
        O: IMapOrder,
    {
        let f = Arc::new(f);
        let make = move |x: T| -> Job {
            let f = Arc::clone(&f);
            Box::new(move || Box::new(f.call_with((x,))))
        };
        let tasks = Tasks {
            input: items.into_iter(),
            make: Arc::new(make),
            scope: Scope::new(),
        };
        let inner = self.pool.imap_erased(tasks, super::job_call(), chunksize)?;
        Ok(ThreadIMap { inner })
    }

    /// Lazily applies `f` to every item; yields results in input order (see
    /// [`Pool::imap`](crate::Pool::imap)).
    pub fn imap<F, T, R, I>(&self, f: F, items: I) -> Result<ThreadIMapOrdered<I::IntoIter, R>>
    where
        F: ThreadTaskFn<(T,), R>,
        T: Send + 'static,
        R: Send + 'static,
        I: IntoIterator<Item = T>,
    {
        self.imap_on(f, items, 1)
    }

    /// [`imap`](Self::imap) with an explicit chunk size.
    pub fn imap_chunked<F, T, R, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<ThreadIMapOrdered<I::IntoIter, R>>
    where
        F: ThreadTaskFn<(T,), R>,
        T: Send + 'static,
        R: Send + 'static,
        I: IntoIterator<Item = T>,
    {
        self.imap_on(f, items, chunksize)
    }

    /// Like [`imap`](Self::imap), but yields results as they complete.
    pub fn imap_unordered<F, T, R, I>(
        &self,
        f: F,
        items: I,
    ) -> Result<ThreadIMapUnordered<I::IntoIter, R>>
    where
        F: ThreadTaskFn<(T,), R>,
        T: Send + 'static,
        R: Send + 'static,
        I: IntoIterator<Item = T>,
    {
        self.imap_on(f, items, 1)
    }

    /// [`imap_unordered`](Self::imap_unordered) with an explicit chunk size.
    pub fn imap_unordered_chunked<F, T, R, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<ThreadIMapUnordered<I::IntoIter, R>>
    where
        F: ThreadTaskFn<(T,), R>,
        T: Send + 'static,
        R: Send + 'static,
        I: IntoIterator<Item = T>,
    {
        self.imap_on(f, items, chunksize)
    }
}
