//! Waiting without blocking a thread: `AsyncResult` as a future, and `as_completed`.

mod common;

use common::bounded;
use forkpool::{Connection, Pool, as_completed};
use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// Counts its wake-ups.
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Waits for a word on `go`, then returns `x`.
fn when_told(x: u32, go: Connection<u8>) -> u32 {
    go.recv().unwrap();
    x
}

/// A pending result's future returns `Pending` at once (no thread blocks), is woken
/// exactly when the value arrives, and then yields it.
#[test]
fn a_result_future_is_woken_when_the_value_arrives() {
    bounded(LIMIT, || {
        let pool = Pool::new(1).unwrap();
        let (go, told) = forkpool::pipe::<u8>().unwrap();
        let mut fut = pool
            .apply_async(when_told, (7, told))
            .unwrap()
            .into_future();
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        assert!(std::pin::Pin::new(&mut fut).poll(&mut cx).is_pending());
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);
        go.send(&1).unwrap();
        assert!(common::eventually(Duration::from_secs(30), || {
            counter.0.load(Ordering::SeqCst) == 1
        }));
        match std::pin::Pin::new(&mut fut).poll(&mut cx) {
            Poll::Ready(v) => assert_eq!(v.unwrap(), 7),
            Poll::Pending => panic!("woken but not ready"),
        }
    });
}

/// `as_completed` yields results in the order their tasks finish, whatever the order of
/// the calls: here the test tells the tasks to finish in the order 2, 0, 1.
#[test]
fn as_completed_follows_the_order_of_completion() {
    bounded(LIMIT, || {
        let pool = Pool::new(3).unwrap();
        let mut go = Vec::new();
        let mut calls = Vec::new();
        for x in [10u32, 11, 12] {
            let (tell, told) = forkpool::pipe::<u8>().unwrap();
            go.push(tell);
            calls.push(pool.apply_async(when_told, (x, told)).unwrap());
        }
        let mut done = as_completed(calls);
        assert_eq!(done.len(), 3);
        let mut order = Vec::new();
        for i in [2, 0, 1] {
            go[i].send(&1).unwrap();
            let (index, value) = done.next().unwrap();
            order.push((index, value.unwrap()));
        }
        assert!(done.next().is_none());
        assert_eq!(order, [(2, 12), (0, 10), (1, 11)]);
    });
}
