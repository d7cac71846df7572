//! Queues between processes (issue 20), mirroring CPython's `_TestQueue` (each test names
//! the one it mirrors), with producers and consumers in pool workers, `Process` children
//! and the owner at once.

mod common;

use common::bounded;
use forkpool::{Error, JoinableQueue, Pool, Process, Queue, SimpleQueue};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// `_TestQueue.test_put`: fills up; a full queue refuses (`try_put`: `Full`, the value
/// stays the caller's) or times out; a get makes room.
#[test]
fn test_put() {
    bounded(LIMIT, || {
        let q = Queue::<Vec<u8>>::new(3).unwrap();
        for i in 0..3u8 {
            q.put(&vec![i]).unwrap();
        }
        assert_eq!((q.len(), q.capacity()), (3, 3));
        let kept = vec![9u8];
        assert!(matches!(q.try_put(&kept), Err(Error::Full)));
        assert_eq!(kept, [9]);
        assert!(matches!(
            q.put_timeout(&kept, Duration::from_millis(50)),
            Err(Error::Timeout)
        ));
        assert_eq!(q.get().unwrap(), [0]);
        q.try_put(&kept).unwrap();
        let got: Vec<_> = (0..3).map(|_| q.get().unwrap()[0]).collect();
        assert_eq!(got, [1, 2, 9]);
    });
}

/// `_TestQueue.test_get`: an empty queue refuses (`try_get`: `Empty`) or times out; values
/// put by another process come out in order.
#[test]
fn test_get() {
    bounded(LIMIT, || {
        let q = Queue::<u32>::new(10).unwrap();
        assert!(matches!(q.try_get(), Err(Error::Empty)));
        assert!(matches!(
            q.get_timeout(Duration::from_millis(50)),
            Err(Error::Timeout)
        ));
        let producer = q.clone();
        let child = Process::spawn(move || {
            for i in 0..5 {
                producer.put(&i).unwrap();
            }
        })
        .unwrap();
        let got: Vec<u32> = (0..5).map(|_| q.get().unwrap()).collect();
        assert_eq!(got, [0, 1, 2, 3, 4]);
        child.join().unwrap();
    });
}

/// `_TestQueue.test_qsize`.
#[test]
fn test_qsize() {
    let q = Queue::<i32>::new(5).unwrap();
    assert!(q.is_empty());
    q.put(&1).unwrap();
    q.put(&2).unwrap();
    assert_eq!(q.len(), 2);
    q.get().unwrap();
    assert_eq!(q.len(), 1);
}

/// `_TestQueue.test_task_done`: consumers in pool workers mark each value done; `join`
/// returns once all are.
#[test]
fn test_task_done() {
    bounded(LIMIT, || {
        fn consume(q: JoinableQueue<u64>, out: Queue<u64>) {
            loop {
                match q.get_timeout(Duration::from_millis(200)) {
                    Ok(v) => {
                        out.put(&(v * 2)).unwrap();
                        q.task_done().unwrap();
                    }
                    Err(_) => return,
                }
            }
        }
        let q = JoinableQueue::<u64>::new(4).unwrap();
        let out = Queue::<u64>::new(100).unwrap();
        let pool = Pool::new(3).unwrap();
        let workers = pool
            .starmap_async(consume, (0..3).map(|_| (q.clone(), out.clone())))
            .unwrap();
        for i in 0..30 {
            q.put(&i).unwrap();
        }
        assert!(q.join_timeout(Duration::from_secs(30)).unwrap());
        assert_eq!(q.unfinished(), 0);
        let mut got: Vec<u64> = (0..30).map(|_| out.get().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, (0..30).map(|i| i * 2).collect::<Vec<_>>());
        workers.get().unwrap();
        assert!(matches!(q.task_done(), Err(Error::InvalidArgument(_))));
    });
}

/// `_TestQueue.test_closed_queue`: after `close`, puts fail and gets drain what is left,
/// then fail with `Closed` (a waiting get wakes up).
#[test]
fn test_closed_queue() {
    bounded(LIMIT, || {
        let q = Queue::<u8>::new(4).unwrap();
        q.put(&1).unwrap();
        let other = q.clone();
        let closer = Process::spawn(move || other.close()).unwrap();
        closer.join().unwrap();
        assert!(q.is_closed());
        assert!(matches!(q.put(&2), Err(Error::Closed)));
        assert_eq!(q.get().unwrap(), 1);
        assert!(matches!(q.get(), Err(Error::Closed)));
    });
}

/// Many producers and consumers in pool workers and `Process` children at once: every
/// value arrives exactly once, whole (large values too).
#[test]
fn many_producers_and_consumers_in_any_processes() {
    bounded(LIMIT, || {
        fn produce(q: Queue<Vec<u32>>, from: u32) {
            for i in from..from + 50 {
                // Some values span several packets.
                let len = if i % 10 == 0 { 100_000 } else { 3 };
                q.put(&vec![i; len]).unwrap();
            }
        }
        let q = Queue::<Vec<u32>>::new(16).unwrap();
        let pool = Pool::new(2).unwrap();
        let pooled = pool
            .starmap_async(produce, [(q.clone(), 0), (q.clone(), 50)])
            .unwrap();
        let children: Vec<_> = (0..2)
            .map(|k| {
                let q = q.clone();
                Process::spawn(move || produce(q, 100 + 50 * k)).unwrap()
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                Process::spawn(move || {
                    let mut seen = Vec::new();
                    while let Ok(v) = q.get_timeout(Duration::from_secs(2)) {
                        assert!(v.iter().all(|&x| x == v[0]), "a value arrived torn");
                        seen.push(v[0]);
                    }
                    seen
                })
                .unwrap()
            })
            .collect();
        pooled.get().unwrap();
        for c in children {
            c.join().unwrap();
        }
        let mut all: Vec<u32> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..200).collect::<Vec<_>>());
    });
}

/// `SimpleQueue` (`_TestSimpleQueue.test_empty`): unbounded, put and get across a pool
/// worker.
#[test]
fn test_simple_queue() {
    bounded(LIMIT, || {
        fn echo(inq: SimpleQueue<String>, outq: SimpleQueue<String>) {
            let s = inq.get().unwrap();
            outq.put(&s.to_uppercase()).unwrap();
        }
        let (a, b) = (SimpleQueue::new().unwrap(), SimpleQueue::new().unwrap());
        assert!(a.is_empty());
        for _ in 0..1000 {
            a.put(&"x".to_string()).unwrap(); // far more than any bound
        }
        for _ in 0..1000 {
            a.get().unwrap();
        }
        let pool = Pool::new(1).unwrap();
        let r = pool.apply_async(echo, (a.clone(), b.clone())).unwrap();
        a.put(&"hi".to_string()).unwrap();
        r.get().unwrap();
        assert_eq!(b.get().unwrap(), "HI");
    });
}

/// Not in Python: byte vectors and strings of every size (sent from their own memory)
/// arrive whole, in order, from a `Process` child.
#[test]
fn byte_vectors_and_strings_of_every_size_arrive_whole() {
    bounded(LIMIT, || {
        let lens = [0usize, 1, 127, 128, 70_000, (3 << 20) + 7];
        let bytes = |n: usize| (0..n).map(|i| (i % 253) as u8).collect::<Vec<u8>>();
        let text = |n: usize| "ab".repeat(n / 2);
        let (q, s): (Queue<Vec<u8>>, SimpleQueue<String>) =
            (Queue::new(2).unwrap(), SimpleQueue::new().unwrap());
        let (cq, cs) = (q.clone(), s.clone());
        let child = Process::spawn(move || {
            for n in lens {
                cq.put(&bytes(n)).unwrap();
                cs.put(&text(n)).unwrap();
            }
        })
        .unwrap();
        for n in lens {
            assert_eq!(q.get().unwrap(), bytes(n));
            assert_eq!(s.get().unwrap(), text(n));
        }
        child.join().unwrap();
    });
}

/// Not in Python: a consumer killed while it waits in `get` (holding the read lock) does
/// not stop the others.
#[test]
fn a_consumer_killed_while_waiting_does_not_block_the_queue() {
    bounded(LIMIT, || {
        let q = Queue::<u32>::new(4).unwrap();
        let waiting = q.clone();
        let child = Process::<u32>::spawn(move || waiting.get().unwrap()).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        child.kill().unwrap();
        assert!(child.join().is_err());
        q.put(&7).unwrap();
        let got = q.get_timeout(Duration::from_secs(10));
        assert!(
            matches!(got, Ok(7) | Err(Error::OwnerDied { .. })),
            "{got:?}"
        );
        if got.is_err() {
            assert_eq!(q.get_timeout(Duration::from_secs(10)).unwrap(), 7);
        }
    });
}
