//! What the pool tells `tracing` (with the `tracing` feature): workers spawned, lost with
//! their cause, and tasks that failed. Without the feature every function here is empty.

#[cfg(feature = "tracing")]
use crate::error::{Error, ExitCause};

/// A worker process started in slot `slot` (`replacing`: it replaces one that left).
#[cfg(feature = "tracing")]
pub(super) fn spawned(pid: i32, slot: usize, replacing: bool) {
    if replacing {
        tracing::info!(pid, slot, "forkpool: worker replaced");
    } else {
        tracing::debug!(pid, slot, "forkpool: worker spawned");
    }
}

/// A worker left its slot for good: died, broke the protocol, or was stopped.
#[cfg(feature = "tracing")]
pub(super) fn lost(pid: u32, slot: usize, why: &str, cause: ExitCause) {
    tracing::warn!(pid, slot, why, cause = %cause, "forkpool: worker lost");
}

/// `n` tasks failed with `error`.
#[cfg(feature = "tracing")]
pub(super) fn failed(n: usize, error: &Error) {
    tracing::debug!(tasks = n, error = %error, "forkpool: task failed");
}

#[cfg(not(feature = "tracing"))]
pub(super) fn spawned(_pid: i32, _slot: usize, _replacing: bool) {}

#[cfg(not(feature = "tracing"))]
pub(super) fn lost(_pid: u32, _slot: usize, _why: &str, _cause: crate::error::ExitCause) {}

#[cfg(not(feature = "tracing"))]
pub(super) fn failed(_n: usize, _error: &crate::error::Error) {}

#[cfg(all(test, feature = "tracing"))]
mod tests {
    use std::sync::Mutex;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    /// Every event's message, from every thread (the driver's included).
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

    struct Collect;

    struct Message<'a>(&'a mut String);

    impl Visit for Message<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            use std::fmt::Write;
            let _ = write!(self.0, "{}={:?} ", field.name(), value);
        }
    }

    impl Subscriber for Collect {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut text = String::new();
            event.record(&mut Message(&mut text));
            SEEN.lock().unwrap().push(text);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    fn abort(_: u32) -> u32 {
        std::process::abort()
    }

    /// Issue 19, point 5: with the `tracing` feature the pool says when workers start, are
    /// lost (with the cause) and replaced, and when tasks fail.
    #[test]
    fn the_pool_tells_tracing_about_workers_and_failures() {
        tracing::subscriber::set_global_default(Collect).unwrap();
        let pool = crate::Pool::new(1).unwrap();
        assert!(pool.apply(abort, (1,)).is_err());
        pool.close();
        pool.join().unwrap();
        let seen = SEEN.lock().unwrap().join("\n");
        for what in [
            "worker spawned",
            "worker lost",
            "SIGABRT",
            "worker replaced",
            "task failed",
        ] {
            assert!(seen.contains(what), "no {what:?} in:\n{seen}");
        }
    }
}
