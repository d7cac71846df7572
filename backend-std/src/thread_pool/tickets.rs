//! How a `ThreadPool`'s tasks and results cross the worker protocol without serde: the
//! value stays in this process, in a table, and a [`Ticket`] naming it travels instead.
//! A worker thread takes the task's closure by its ticket, runs it, and puts the result
//! back under a new one; the caller's side takes the result out as it decodes the ticket
//! ([`Carried`]).
//!
//! Values live in a [`Scope`]: the pool's, or one `imap` iterator's. Dropping the scope
//! drops what is left in it (the tasks that never ran, the results nobody took), and a
//! value put into a scope already dropped is dropped at once. All safe code: a ticket that
//! names nothing, or a value of another type, is an error, never a wrong value.
//!
//! The table is one for the process (a result is decoded where only its ticket is known),
//! behind one lock that is held only to insert or remove: values are dropped outside it,
//! so a value's `Drop` may use the pool.

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};

/// A value kept in the table.
pub(crate) type Value = Box<dyn Any + Send>;

/// A task: the closure with its arguments, returning the result as a [`Value`].
pub(crate) type Job = Box<dyn FnOnce() -> Value + Send>;

/// Values by scope, then by id.
type Table = HashMap<u64, HashMap<u64, Value>>;

static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(Mutex::default);
/// Scope and value ids: never reused in a process.
static NEXT: AtomicU64 = AtomicU64::new(1);

fn table() -> MutexGuard<'static, Table> {
    TABLE.lock().unwrap_or_else(|p| p.into_inner())
}

/// What travels in place of a value: its scope and id.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub(crate) struct Ticket {
    scope: u64,
    id: u64,
}

/// Values with one lifetime (a pool's, an iterator's); see the module docs.
#[derive(Debug)]
pub(crate) struct Scope(u64);

impl Scope {
    pub(crate) fn new() -> Self {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        table().insert(id, HashMap::new());
        Self(id)
    }

    /// Keeps `value` in this scope; its ticket.
    pub(crate) fn put(&self, value: Value) -> Ticket {
        put(self.0, value)
    }

    /// Keeps a task in this scope; its ticket.
    pub(crate) fn put_job(&self, job: Job) -> Ticket {
        self.put(Box::new(job))
    }

    /// A list of tasks being put in this scope, withdrawn unless kept (a call whose
    /// input panics part-way leaves none behind).
    pub(crate) fn taking(&self) -> Taking<'_> {
        Taking {
            scope: self,
            tickets: Vec::new(),
        }
    }

    /// Drops the values of `tickets` (tasks that were not submitted after all).
    pub(crate) fn withdraw(&self, tickets: impl IntoIterator<Item = Ticket>) {
        let taken: Vec<Value> = {
            let mut t = table();
            tickets
                .into_iter()
                .filter_map(|k| t.get_mut(&k.scope)?.remove(&k.id))
                .collect()
        };
        drop(taken);
    }
}

/// Tasks being put in a scope for one call (see [`Scope::taking`]).
pub(crate) struct Taking<'a> {
    scope: &'a Scope,
    tickets: Vec<Ticket>,
}

impl Taking<'_> {
    /// Puts a task in the scope.
    pub(crate) fn push(&mut self, job: Job) {
        self.tickets.push(self.scope.put_job(job));
    }

    /// The tickets, kept in the scope.
    pub(crate) fn keep(mut self) -> Vec<Ticket> {
        std::mem::take(&mut self.tickets)
    }
}

impl Drop for Taking<'_> {
    fn drop(&mut self) {
        self.scope.withdraw(std::mem::take(&mut self.tickets));
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let left = table().remove(&self.0);
        drop(left); // outside the lock
    }
}

/// Keeps `value` under a new id in scope `scope`, or drops it if the scope is gone.
fn put(scope: u64, value: Value) -> Ticket {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let refused = match table().get_mut(&scope) {
        Some(values) => {
            values.insert(id, value);
            None
        }
        None => Some(value),
    };
    drop(refused); // outside the lock
    Ticket { scope, id }
}

/// Takes the value a ticket names out of the table.
fn take(t: Ticket) -> Option<Value> {
    table().get_mut(&t.scope)?.remove(&t.id)
}

/// The task function every `ThreadPool` task runs in its worker thread: takes the task
/// by its ticket, runs it, and keeps its result in the same scope.
pub(crate) fn run_job(t: Ticket) -> Ticket {
    let job = take(t).and_then(|v| v.downcast::<Job>().ok());
    let Some(job) = job else {
        // Its caller is gone (the scope was dropped): nobody waits for this result.
        panic!("forkpool: the task was withdrawn before it ran");
    };
    put(t.scope, job())
}

/// The initializer every `ThreadPool` worker runs: the pool's, which stays in the table
/// (each worker, replacements too, runs it).
pub(crate) type InitFn = std::sync::Arc<dyn Fn() + Send + Sync>;

/// Runs the initializer a ticket names, leaving it in the table.
pub(crate) fn run_init(t: Ticket) {
    let init = table()
        .get(&t.scope)
        .and_then(|values| values.get(&t.id))
        .and_then(|v| v.downcast_ref::<InitFn>())
        .cloned();
    match init {
        Some(init) => init(),
        None => panic!("forkpool: the pool's initializer is gone"),
    }
}

/// A result taken out of the table as its ticket is decoded.
pub(crate) struct Carried<R>(pub R);

impl<'de, R: Send + 'static> Deserialize<'de> for Carried<R> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = Ticket::deserialize(d)?;
        let value = take(t).ok_or_else(|| {
            D::Error::custom("the result is gone (its pool or iterator was dropped)")
        })?;
        value
            .downcast::<R>()
            .map(|v| Carried(*v))
            .map_err(|_| D::Error::custom("the result is not of the type expected"))
    }
}

/// The values of results taken out of the table (the `finish` of a mapping call).
pub(crate) fn unwrap_all<R>(v: Vec<Carried<R>>) -> crate::error::Result<Vec<R>> {
    Ok(v.into_iter().map(|c| c.0).collect())
}

/// The value of a call's one result (the `finish` of `apply_async`).
pub(crate) fn unwrap_one<R>(v: Vec<Carried<R>>) -> crate::error::Result<R> {
    v.into_iter()
        .next()
        .map(|c| c.0)
        .ok_or(crate::error::Error::Internal("no result for apply"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_runs_once_and_its_result_is_taken_once() {
        let scope = Scope::new();
        let t = scope.put_job(Box::new(|| Box::new(41u32 + 1)));
        let r = run_job(t);
        let bytes = postcard::to_allocvec(&r).unwrap();
        let got: Carried<u32> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(got.0, 42);
        assert!(postcard::from_bytes::<Carried<u32>>(&bytes).is_err());
        assert!(std::panic::catch_unwind(|| run_job(t)).is_err());
    }

    #[test]
    fn a_ticket_of_another_type_or_a_dropped_scope_finds_nothing() {
        let scope = Scope::new();
        let t = scope.put(Box::new(String::from("x")));
        let bytes = postcard::to_allocvec(&t).unwrap();
        assert!(postcard::from_bytes::<Carried<u32>>(&bytes).is_err());
        let t = scope.put(Box::new(7u8));
        let bytes = postcard::to_allocvec(&t).unwrap();
        drop(scope);
        assert!(postcard::from_bytes::<Carried<u8>>(&bytes).is_err());
    }

    #[test]
    fn values_left_in_a_scope_are_dropped_with_it() {
        let alive = std::sync::Arc::new(());
        let scope = Scope::new();
        let held = std::sync::Arc::clone(&alive);
        scope.put_job(Box::new(move || Box::new(held)));
        assert_eq!(std::sync::Arc::strong_count(&alive), 2);
        drop(scope);
        assert_eq!(std::sync::Arc::strong_count(&alive), 1);
    }
}
