//! A value that belongs to one process. A child forked from a multi-threaded parent gets a
//! fresh one instead of the inherited copy, whose lock another thread (that does not exist
//! in the child) may have held at the moment of the fork.

use std::sync::atomic::{AtomicPtr, Ordering};

/// A lazily created `T` per process; cells of earlier processes are leaked, never touched.
pub(crate) struct PerProcess<T: 'static> {
    cell: AtomicPtr<(u32, T)>,
}

impl<T: 'static> PerProcess<T> {
    pub(crate) const fn new() -> Self {
        Self {
            cell: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// This process's value, created with `init` on first use in this process.
    pub(crate) fn get(&self, init: impl Fn() -> T) -> &'static T {
        let me = super::current_pid();
        loop {
            let current = self.cell.load(Ordering::Acquire);
            if !current.is_null() {
                // SAFETY: every non-null pointer stored in `cell` comes from Box::into_raw
                // below and is never freed (only a pointer that lost the race is freed, and
                // it was never stored), so it is valid for 'static; it is only read.
                let (owner, value) = unsafe { &*current };
                if *owner == me {
                    return value;
                }
            }
            let fresh = Box::into_raw(Box::new((me, init())));
            match self
                .cell
                .compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire)
            {
                // SAFETY: `fresh` was just stored and is never freed (see above).
                Ok(_) => return unsafe { &(*fresh).1 },
                // SAFETY: `fresh` came from Box::into_raw above and was never shared.
                Err(_) => drop(unsafe { Box::from_raw(fresh) }),
            }
        }
    }
}
