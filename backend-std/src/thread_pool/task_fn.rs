//! What a `ThreadPool` runs: any function `Pool` accepts, and closures that capture.

/// A function a [`ThreadPool`](crate::ThreadPool) can run with the argument tuple `A`,
/// returning `R`.
///
/// Implemented for every `Fn(A1, ..., An) -> R` (up to 8 arguments) that is `Send + Sync +
/// 'static`: fn items, closures that capture nothing (every [`TaskFn`](crate::TaskFn)), and
/// closures that capture, since a worker thread shares the caller's memory. Arguments are a
/// tuple, as with `Pool`: `(x,)` for one.
///
/// ```
/// use std::sync::Arc;
/// let pool = forkpool::ThreadPool::new(2)?;
/// let words = Arc::new(vec!["zero", "one", "two"]);
/// let name = move |i: usize| words[i].to_uppercase();
/// assert_eq!(pool.map(name, [2, 0])?, ["TWO", "ZERO"]);
/// # Ok::<(), forkpool::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run in a thread pool with the arguments `{A}`",
    label = "not a task function for the arguments `{A}`",
    note = "a thread pool task is a function or closure that is `Send + Sync + 'static`: move what it captures into it (`move |x| ...`), sharing with `Arc` what others use too",
    note = "arguments are a tuple, as in Python's `apply(f, args)`: `(x,)` for one, `(a, b)` for two"
)]
pub trait ThreadTaskFn<A, R>: Send + Sync + 'static {
    /// Calls the function with the tuple's elements as arguments.
    fn call_with(&self, args: A) -> R;
}

macro_rules! thread_task_fn {
    ($($a:ident),*) => {
        impl<Func, Ret, $($a),*> ThreadTaskFn<($($a,)*), Ret> for Func
        where
            Func: Fn($($a),*) -> Ret + Send + Sync + 'static,
        {
            #[allow(non_snake_case)]
            fn call_with(&self, ($($a,)*): ($($a,)*)) -> Ret {
                self($($a),*)
            }
        }
    };
}

thread_task_fn!();
thread_task_fn!(A1);
thread_task_fn!(A1, A2);
thread_task_fn!(A1, A2, A3);
thread_task_fn!(A1, A2, A3, A4);
thread_task_fn!(A1, A2, A3, A4, A5);
thread_task_fn!(A1, A2, A3, A4, A5, A6);
thread_task_fn!(A1, A2, A3, A4, A5, A6, A7);
thread_task_fn!(A1, A2, A3, A4, A5, A6, A7, A8);
