//! `imap` and `imap_unordered`: order, laziness, endless input, and an item that cannot be
//! encoded.

mod common;

use common::bounded;
use forkpool::{Error, Pool};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn sqr(x: i64) -> i64 {
    x * x
}

/// Mirrors `_TestPool.test_imap` (with chunk sizes) and `test_imap_unordered`.
#[test]
fn imap_orders_and_imap_unordered_completes_all() {
    let pool = Pool::new(3).unwrap();
    let want: Vec<i64> = (0..50).map(|x| x * x).collect();
    let got: Vec<i64> = pool.imap(sqr, 0..50).unwrap().map(Result::unwrap).collect();
    assert_eq!(got, want);
    let got: Vec<i64> = pool
        .imap_chunked(sqr, 0..50, 7)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, want);
    let mut got: Vec<i64> = pool
        .imap_unordered_chunked(sqr, 0..50, 4)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    got.sort_unstable();
    assert_eq!(got, want);
}

/// `imap` is lazy: an endless input works, and `take` ends it.
#[test]
fn imap_over_an_endless_iterator() {
    let pool = Pool::new(2).unwrap();
    let got: Vec<i64> = bounded(LIMIT, move || {
        pool.imap(sqr, 0..)
            .unwrap()
            .take(10)
            .map(Result::unwrap)
            .collect()
    });
    assert_eq!(got, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
}

/// An input item that cannot be encoded (its `Serialize` fails past `FAILS_AT`).
struct Picky(u64);

const FAILS_AT: u64 = 1500;

impl serde::Serialize for Picky {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == FAILS_AT {
            return Err(serde::ser::Error::custom("this item cannot be encoded"));
        }
        s.serialize_u64(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Picky {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <u64 as serde::Deserialize>::deserialize(d).map(Picky)
    }
}

fn unpick(p: Picky) -> u64 {
    p.0
}

/// An item that cannot be encoded fails alone, as in Python's `imap`: its error comes in
/// its place, past the first window too, and the input goes on (it used to end the
/// iterator, dropping every item after it). With chunks, the items of its chunk before it
/// still run; unordered, every other result still comes once.
#[test]
fn imap_fails_an_item_that_cannot_be_encoded_alone() {
    let pool = Arc::new(Pool::new(2).unwrap());
    let p = Arc::clone(&pool);
    let got: Vec<_> = bounded(LIMIT, move || {
        p.imap(unpick, (0..3000).map(Picky)).unwrap().collect()
    });
    assert_eq!(got.len(), 3000);
    for (i, r) in got.iter().enumerate() {
        match r {
            Err(Error::Encode(m)) if i as u64 == FAILS_AT => {
                assert!(m.contains("this item cannot be encoded"), "{m}")
            }
            r => assert_eq!(r.as_ref().ok(), Some(&(i as u64)), "item {i}"),
        }
    }
    for chunksize in [1, 7] {
        let p = Arc::clone(&pool);
        let mut got: Vec<_> = bounded(LIMIT, move || {
            p.imap_unordered_chunked(unpick, (0..3000).map(Picky), chunksize)
                .unwrap()
                .collect()
        });
        let failed = got.iter().filter(|r| r.is_err()).count();
        assert_eq!(failed, 1, "chunks of {chunksize}");
        got.retain(Result::is_ok);
        let mut got: Vec<u64> = got.into_iter().map(Result::unwrap).collect();
        got.sort_unstable();
        let want: Vec<u64> = (0..3000).filter(|&x| x != FAILS_AT).collect();
        assert_eq!(got, want, "chunks of {chunksize}");
    }
}

/// `imap` pulls input only as the window allows.
#[test]
fn imap_pulls_input_lazily() {
    let pool = Pool::new(2).unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let input = (0..).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let mut it = pool.imap(sqr, input).unwrap();
    assert_eq!(it.next().unwrap().unwrap(), 0);
    assert!(pulled.load(Ordering::SeqCst) <= forkpool::IMAP_WINDOW + 1);
}

fn len(bytes: serde_bytes::ByteBuf) -> usize {
    bytes.len()
}

/// With large arguments the bytes in flight, not the window's count of tasks, bound what
/// `imap` pulls ahead: about 64 MiB of them, here 1 MiB each (the window is 2048 tasks).
#[test]
fn imap_pulls_large_input_by_its_size() {
    let pool = Pool::new(2).unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let input = (0..).map(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        serde_bytes::ByteBuf::from(vec![7u8; 1 << 20])
    });
    let mut it = pool.imap(len, input).unwrap();
    for _ in 0..100 {
        assert_eq!(it.next().unwrap().unwrap(), 1 << 20);
    }
    let ahead = pulled.load(Ordering::SeqCst) - 100;
    assert!(ahead <= 80, "{ahead} large items pulled ahead");
}

/// Issue 16, item 1: `close` + `join` while a read-to-the-end `imap` iterator is still in
/// scope returns (the batch is sealed when the input runs out, not when the iterator is
/// dropped); the iterator still works after `join`.
#[test]
fn close_and_join_with_an_iterator_in_scope() {
    bounded(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let mut it = pool.imap(sqr, 0..20).unwrap();
        let mut got = Vec::new();
        for r in it.by_ref() {
            got.push(r.unwrap());
        }
        pool.close();
        pool.join().unwrap();
        assert_eq!(got, (0..20).map(|x| x * x).collect::<Vec<_>>());
        assert!(it.next().is_none());

        // Read only in part: the tasks already submitted finish, their results wait.
        let pool = Pool::new(2).unwrap();
        let mut it = pool.imap_unordered(sqr, 0..10).unwrap();
        assert!(it.next().unwrap().is_ok());
        pool.close();
        pool.join().unwrap();
        assert_eq!(it.count(), 9);
    });
}

/// `imap` submits as it is consumed, so `close` + `join` with one made on this thread and
/// not used up (Python's `imap`, `close`, `join`, then iterate) would wait for ever: `join`
/// says so at once, and the iterator still yields every result; once it is used up, `join`
/// returns. Another thread's `join` waits for the consumer, as before.
#[test]
fn join_with_an_imap_not_used_up_fails_at_once_and_loses_nothing() {
    bounded(LIMIT, || {
        let pool = Arc::new(Pool::new(2).unwrap());
        let it = pool.imap_unordered(sqr, 0..10_000).unwrap();
        pool.close();
        assert!(matches!(pool.join(), Err(Error::ImapNotConsumed)));
        let waiter = {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || pool.join())
        };
        let mut got: Vec<i64> = it.map(Result::unwrap).collect();
        got.sort_unstable();
        assert_eq!(got, (0..10_000).map(|x| x * x).collect::<Vec<_>>());
        waiter.join().unwrap().unwrap();
        pool.join().unwrap();
    });
}

fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// Python's `IMapIterator.next(timeout)`: a wait that runs out says so and takes nothing
/// from the iterator, which then yields every result in order.
#[test]
fn next_timeout_runs_out_without_losing_a_result() {
    bounded(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let mut it = pool.imap(nap, [200, 1, 2]).unwrap();
        assert!(matches!(
            it.next_timeout(Duration::from_millis(1)),
            Some(Err(Error::Timeout))
        ));
        let mut got = Vec::new();
        while let Some(r) = it.next_timeout(LIMIT) {
            got.push(r.unwrap());
        }
        assert_eq!(got, [200, 1, 2]);
        assert!(it.next_timeout(Duration::ZERO).is_none());
    });
}

/// Issue 19, point 5: an `imap` over an input of known length knows how many results are
/// still to come (`len()`), so a progress bar can show the total.
#[test]
fn imap_knows_how_many_results_remain() {
    bounded(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let mut it = pool.imap(sqr, (0..100).collect::<Vec<_>>()).unwrap();
        assert_eq!(it.len(), 100);
        for _ in 0..10 {
            it.next().unwrap().unwrap();
        }
        assert_eq!(it.len(), 90);
        assert_eq!(it.by_ref().count(), 90);
        assert_eq!(it.size_hint(), (0, Some(0)));
        let it = pool.imap_unordered(sqr, vec![1, 2, 3]).unwrap();
        assert_eq!(it.len(), 3);
        // A range of i64 is not `ExactSizeIterator`, but its size hint is exact.
        let it = pool.imap(sqr, 0..7).unwrap();
        assert_eq!(it.size_hint(), (7, Some(7)));
        // An input of unknown length gives bounds only.
        let it = pool.imap(sqr, (0..).take_while(|&x| x < 5)).unwrap();
        assert_eq!(it.size_hint().0, 0);
    });
}
