//! Results released under the pool's lock, handed to their sinks once it is released.

use super::sink::{Raw, Sink};
use crate::error::Result;
use std::sync::Arc;

/// A task's result and its index in its call, with its sink where that changes.
type Delivery = (Option<Arc<dyn Sink>>, usize, Result<Raw>);

/// Results to hand to sinks once the lock is released, in release order.
#[derive(Default)]
pub(crate) struct Deliveries {
    /// Results in release order, each with the sink it goes to where that changes from the
    /// result before (one list for all: no allocation per sink).
    items: Vec<Delivery>,
    /// Where the sink of the latest run of results is named.
    run: usize,
}

impl Deliveries {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds the result for `index` of `sink`'s call.
    pub(crate) fn push(&mut self, sink: Arc<dyn Sink>, index: usize, result: Result<Raw>) {
        let same = self
            .items
            .get(self.run)
            .and_then(|(s, ..)| s.as_ref())
            .is_some_and(|s| Arc::ptr_eq(s, &sink));
        if same {
            self.items.push((None, index, result));
        } else {
            self.run = self.items.len();
            self.items.push((Some(sink), index, result));
        }
    }

    /// Hands every result to its sink, a run at a time (outside the lock: sinks may run
    /// user callbacks).
    pub(crate) fn deliver(&mut self) {
        let mut items = self.items.drain(..).peekable();
        while let Some((sink, index, result)) = items.next() {
            let Some(sink) = sink else { continue };
            let rest =
                std::iter::from_fn(|| items.next_if(|(s, ..)| s.is_none()).map(|(_, i, r)| (i, r)));
            sink.deliver_many(&mut std::iter::once((index, result)).chain(rest));
        }
        self.run = 0;
    }
}
