//! Python's `multiprocessing` for Rust: [`Pool`], [`Process`] and [`pipe`] with Python's
//! method names, on `fork()`ed worker processes. Unlike Python it never hangs when a worker
//! dies, `imap` is lazy with bounded memory, a task's panic or crash comes back as a clear
//! [`Error`], and a task costs about a pipe round trip. Linux only.
//!
//! ```
//! use forkpool::Pool;
//!
//! fn square(x: u64) -> u64 { x * x }
//!
//! let pool = Pool::new(4)?;
//! assert_eq!(pool.map(square, 1..=4)?, [1, 4, 9, 16]);          // input order
//! assert_eq!(pool.apply(|a: u64, b: u64| a + b, (2, 3))?, 5);     // args are a tuple
//! let r = pool.apply_async(square, (7,))?;                         // returns at once
//! for x in pool.imap(square, 0..1_000_000u64)?.take(3) {           // lazy, bounded memory
//!     println!("{}", x?);
//! }
//! assert_eq!(r.get()?, 49);
//! # Ok::<(), forkpool::Error>(())
//! ```
//!
//! # From Python's `multiprocessing`
//!
//! | Python | forkpool |
//! |---|---|
//! | `Pool(4)` | [`Pool::new(4)?`](Pool::new) |
//! | `Pool(4, initializer=f, initargs=(a,), maxtasksperchild=n)` | [`Pool::builder()`](Pool::builder)`.processes(4).initializer(f, (a,)).maxtasksperchild(n).build()?` |
//! | `with Pool(4) as p: ...` | `let p = Pool::new(4)?;` (dropping it terminates and reaps the workers) |
//! | `p.apply(f, (a, b))` | [`p.apply(f, (a, b))?`](Pool::apply) |
//! | `p.apply_async(f, (a,), callback=cb, error_callback=ecb)` | [`p.apply_async_with(f, (a,), AsyncOptions::new().callback(cb).error_callback(ecb))?`](Pool::apply_async_with) |
//! | `p.map(f, xs)` / `p.map(f, xs, chunksize=8)` | [`p.map(f, xs)?`](Pool::map) / [`p.map_chunked(f, xs, 8)?`](Pool::map_chunked) |
//! | `p.map_async(f, xs)` | [`p.map_async(f, xs)?`](Pool::map_async) ([`map_async_with`](Pool::map_async_with) for options) |
//! | `p.imap(f, xs)` / `p.imap(f, xs, chunksize=8)` | [`p.imap(f, xs)?`](Pool::imap) / [`p.imap_chunked(f, xs, 8)?`](Pool::imap_chunked) |
//! | `p.imap_unordered(f, xs)` | [`p.imap_unordered(f, xs)?`](Pool::imap_unordered) |
//! | `p.starmap(f, [(a, b), ...])` | [`p.starmap(f, [(a, b), ...])?`](Pool::starmap) |
//! | `p.starmap_async(f, pairs)` | [`p.starmap_async(f, pairs)?`](Pool::starmap_async) |
//! | `p.close()`, `p.terminate()`, `p.join()` | [`p.close()`](Pool::close), [`p.terminate()`](Pool::terminate), [`p.join()?`](Pool::join) |
//! | `r.get()` / `r.get(timeout=5)` | [`r.get()?`](AsyncResult::get) / [`r.get_timeout(Duration::from_secs(5))?`](AsyncResult::get_timeout) |
//! | `r.wait()`, `r.wait(t)`, `r.ready()`, `r.successful()` | [`r.wait()`](AsyncResult::wait), [`r.wait_timeout(t)`](AsyncResult::wait_timeout), [`r.ready()`](AsyncResult::ready), [`r.successful()`](AsyncResult::successful) |
//! | `multiprocessing.pool.ThreadPool(4)` | [`ThreadPool::new(4)?`](ThreadPool::new): the same methods, on threads; closures may capture, values need no serde |
//! | `concurrent.futures.as_completed(fs)` | [`as_completed(results)`](as_completed) |
//! | `await loop.run_in_executor(...)` | [`p.apply_async(f, args)?.await`](ResultFuture) |
//! | `Process(target=f, args=(a,)).start()` | [`Process::spawn(move \|\| f(a))?`](Process::spawn) (the closure may capture) |
//! | `p.join(); p.exitcode` | [`let value = p.join()?;`](Process::join) (the closure's return value), [`p.exit_status()`](Process::exit_status) |
//! | `p.join(timeout)`, `p.is_alive()`, `p.pid`, `p.terminate()`, `p.kill()` | [`p.join_timeout(t)`](Process::join_timeout), [`p.is_alive()`](Process::is_alive), [`p.pid()`](Process::pid), [`p.terminate()?`](Process::terminate), [`p.kill()?`](Process::kill) |
//! | `a, b = Pipe()` / `Pipe(duplex=False)` | [`let (a, b) = pipe::<T>()?;`](pipe) / [`pipe_oneway::<T>()?`](pipe_oneway) |
//! | `c.send(x)`, `c.recv()`, `c.poll(t)` | [`c.send(&x)?`](Connection::send), [`c.recv()?`](Connection::recv), [`c.poll(t)?`](Connection::poll) |
//! | `c.send_bytes(b)`, `c.recv_bytes()` | [`c.send_bytes(b)?`](Connection::send_bytes), [`c.recv_bytes()?`](Connection::recv_bytes) |
//! | `connection.wait([c, p.sentinel], timeout)` | [`wait(&[&c, &p], Some(timeout))?`](wait) (indices of the ready ones) |
//! | `c.fileno()`, `p.sentinel` | `c.as_fd()`, `p.as_fd()` ([`std::os::fd::AsFd`]) |
//! | `cpu_count()`, `current_process()`, `parent_process()`, `active_children()` | [`cpu_count()`], [`current_process()`], [`parent_process()`], [`active_children()`] |
//! | `Queue(8)`, `q.put(x)`, `q.get()`, `q.put_nowait(x)`, `q.get(timeout=t)`, `q.qsize()`, `q.close()` | [`Queue::new(8)?`](Queue::new), [`q.put(&x)?`](Queue::put), [`q.get()?`](Queue::get), [`q.try_put(&x)?`](Queue::try_put) ([`Error::Full`]), [`q.get_timeout(t)?`](Queue::get_timeout), [`q.len()`](Queue::len), [`q.close()`](Queue::close) |
//! | `JoinableQueue()`, `q.task_done()`, `q.join()` / `SimpleQueue()` | [`JoinableQueue::new(n)?`](JoinableQueue::new), [`q.task_done()?`](JoinableQueue::task_done), [`q.join()?`](JoinableQueue::join) / [`SimpleQueue::new()?`](SimpleQueue::new) |
//! | `Lock()`, `with lock:`, `lock.acquire(timeout=t)` / `RLock()` | [`Lock::new()?`](Lock::new), [`let _g = lock.lock()?;`](Lock::lock), [`lock.lock_timeout(t)?`](Lock::lock_timeout) / [`RLock::new()?`](RLock::new) (a dead holder: [`Error::OwnerDied`]) |
//! | `Semaphore(n)`, `BoundedSemaphore(n)`, `s.acquire()`, `s.release()` | [`Semaphore::new(n)?`](Semaphore::new), [`BoundedSemaphore::new(n)?`](BoundedSemaphore::new), [`s.acquire()?`](Semaphore::acquire), [`s.release()?`](Semaphore::release) |
//! | `Event()`, `e.set()`, `e.wait(t)` / `Condition(lock)`, `c.wait_for(pred, t)` | [`Event::new()?`](Event::new), [`e.set()?`](Event::set), [`e.wait_timeout(t)`](Event::wait_timeout) / [`Condition::new(lock)?`](Condition::new), [`c.wait_for(guard, pred, Some(t))?`](Condition::wait_for) |
//! | `Barrier(n)`, `b.wait()` | [`Barrier::new(n)?`](Barrier::new), [`b.wait()?`](Barrier::wait) (a dead party: [`Error::BrokenBarrier`]) |
//! | `Value('d', 0.0)`, `with v.get_lock(): v.value += 1` / `Array('i', 10)` | [`Value::new(0.0f64)?`](Value::new), [`v.update(\|x\| *x += 1.0)`](Value::update) / [`Array::<i32>::new(10)?`](Array::new), [`a.with(\|s\| ..)`](Array::with) |
//! | `shared_memory.SharedMemory(create=True, size=n)`, `m.buf` | [`SharedMemory::new(n)?`](SharedMemory::new), [`m.as_slice()`](SharedMemory::as_slice) / [`as_mut_slice()`](SharedMemory::as_mut_slice); read-only data for every worker: [`SharedBytes`] |
//! | `c.recv_bytes_into(buf)` | [`c.recv_bytes_into(&mut buf)?`](Connection::recv_bytes_into) |
//! | raising in a task | panicking ([`Error::Panicked`], with `file.rs:LINE`), or returning `Result<T, `[`TaskError`]`>` |
//!
//! # The fork rules
//!
//! Pool workers are forked from a small fork server that starts **before `main`**, while
//! the process has one thread (a fork copies only the calling thread, so forking a program
//! with other threads could copy a lock held by a thread that is not there, and deadlock).
//! What follows for your code:
//!
//! - **Workers see the program as it was before `main`.** A static set in `main` (a
//!   `OnceLock`, an atomic, a `Mutex`) is not set in a worker, and `get_or_init` there
//!   builds a value of its own. Pass what tasks need as arguments, or build per-worker state
//!   in the pool's initializer:
//!
//! ```
//! use std::sync::OnceLock;
//!
//! static TABLE: OnceLock<Vec<u64>> = OnceLock::new();
//!
//! /// Runs once in each worker, before any task.
//! fn load(n: u64) {
//!     TABLE.set((0..n).map(|x| x * x).collect()).unwrap();
//! }
//!
//! fn lookup(i: usize) -> u64 {
//!     TABLE.get().expect("set by the initializer")[i]
//! }
//!
//! let pool = forkpool::Pool::builder().processes(2).initializer(load, (100,)).build()?;
//! assert_eq!(pool.map(lookup, [3, 9])?, [9, 81]);
//! # Ok::<(), forkpool::Error>(())
//! ```
//!
//! - **Task functions are fn items or closures that capture nothing** (their captures could
//!   not reach the worker): [`TaskFn`] says so when one does not fit. Arguments and results
//!   cross the process boundary with serde; a [`Connection`] may be part of them.
//! - **Workers take your process's identity as it is when each starts**: uid, gid and
//!   supplementary groups, environment, working directory and umask (drop root or set a
//!   variable in `main` and the tasks see it). Not resource limits, seccomp or Landlock
//!   filters and namespaces set after the fork server started: set those before `main` or
//!   in the initializer. This holds for workers the server forked ahead of a pool, too:
//!   once a pool has asked for workers, the server keeps as many forked and waiting (named
//!   `forkpool-spare` until taken, let go 10 s after the last pool's workers were), and
//!   each takes on your process's identity when a pool takes it.
//! - **Ctrl-C** does not kill workers (the owner's own handling decides), unless
//!   [`PoolBuilder::terminate_on_interrupt`].
//! - **A [`Process`] child is forked from the calling thread** and may capture anything; it
//!   should compute and talk through [`Connection`]s, not take locks other threads may hold.
//!   A pool it captured from its parent refuses to work there ([`Error::NotOwner`]).
//!
//! # Features
//!
//! - `stream`: the `imap` iterators are `futures_core::Stream`s.
//! - `tracing`: `tracing` events for workers spawned, replaced and lost, and tasks failed.
//! - `lazy-fork-server`: start the fork server with the first pool instead of before
//!   `main` (also `FORKPOOL_FORK_SERVER=lazy` at run time): runs that build no pool pay
//!   nothing; the first pool pays for starting the program afresh.
//!
//! # More
//!
//! [`Pool::stats`] for live numbers, [`AsyncOptions::timeout`] and [`IMap::timeout`] for
//! per-task deadlines, [`PoolBuilder::pipeline_depth`] for throughput on tiny tasks. The
//! `no_std` scheduling core is re-exported as [`core`]. Pools whose workers run on other
//! machines (node agents reached over any message link) are in [`remote`]; on MPI, the
//! `forkpool-mpi` crate (`backend-mpi/`) gives them as `MpiPool`. The README and
//! `BENCHMARKS.md` have the rest.

pub use forkpool_core as core;
#[cfg(target_os = "linux")]
pub use forkpool_std::remote;
#[cfg(target_os = "linux")]
pub use forkpool_std::{
    Array, AsCompleted, AsyncOptions, AsyncResult, Barrier, BoundedSemaphore, Completions,
    Condition, Connection, Error, Event, ExitCause, IMAP_WINDOW, IMap, IMapOrder, IMapOrdered,
    IMapUnordered, InOrder, JoinableQueue, Lock, LockGuard, MAX_PROCESSES, OneArg, Pod, Pool,
    PoolBuilder, PoolStats, Process, ProcessBuilder, ProcessInfo, Queue, RLock, RLockGuard, Result,
    ResultFuture, Semaphore, SharedBytes, SharedMemory, Signal, SimpleQueue, TaskError, TaskFn,
    ThreadIMap, ThreadIMapOrdered, ThreadIMapUnordered, ThreadPool, ThreadPoolBuilder,
    ThreadTaskFn, Value, Waitable, active_children, as_completed, cpu_count, current_process,
    fork_server_pid, parent_process, pipe, pipe_oneway, wait,
};
