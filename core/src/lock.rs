//! A safe lock abstraction, so containers can be shared with no unchecked code in the core.
//!
//! As in embassy-sync, the lock is a type parameter chosen by the user: `spin::Mutex` when
//! several contexts (threads, interrupt handlers on a multi-core chip) share the value,
//! `RefCell` when one context owns it and only needs shared references.

use core::cell::RefCell;

/// Mutual exclusion over a `T`, entered through a closure.
pub trait Lock<T> {
    /// Wraps `value` in the lock.
    fn new(value: T) -> Self;

    /// Runs `f` with exclusive access to the value.
    ///
    /// Implementations may panic or deadlock if `f` re-enters the same lock; callers in this
    /// crate never do.
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R;
}

impl<T> Lock<T> for spin::Mutex<T> {
    fn new(value: T) -> Self {
        spin::Mutex::new(value)
    }

    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock())
    }
}

impl<T> Lock<T> for RefCell<T> {
    fn new(value: T) -> Self {
        RefCell::new(value)
    }

    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.borrow_mut())
    }
}
