//! The figures of issue 20's types, taken the same way as `mp_compare.py` takes Python's:
//! a `Queue` round trip between two processes, and a `Lock` handed back and forth between
//! two processes that both want it; and `ThreadPool`'s chunk-1 throughput.

use forkpool::{Barrier, Lock, Process, Queue, ThreadPool, Value};

/// Tasks per second of `x + 1` through `ThreadPool::imap`, 4 threads: default settings,
/// or `pipeline_depth(depth)`.
pub fn thread_pool_rate(n: u64, depth: Option<usize>) -> f64 {
    let mut b = ThreadPool::builder().processes(4);
    if let Some(d) = depth {
        b = b.pipeline_depth(d);
    }
    let pool = b.build().unwrap();
    let t = Instant::now();
    assert_eq!(pool.imap(|x: u64| x + 1, 0..n).unwrap().count() as u64, n);
    n as f64 / t.elapsed().as_secs_f64()
}
use std::time::Instant;

/// Median round trip (µs) of a value put on one queue and echoed back on another by a
/// `Process` child, over `n` trips after a warm-up.
pub fn queue_rtt_us(n: usize) -> f64 {
    let (ping, pong) = (Queue::<u64>::new(8).unwrap(), Queue::<u64>::new(8).unwrap());
    let (p, q) = (ping.clone(), pong.clone());
    let total = n + 100;
    let child = Process::spawn(move || {
        for _ in 0..total {
            q.put(&p.get().unwrap()).unwrap();
        }
    })
    .unwrap();
    for i in 0..100 {
        ping.put(&i).unwrap();
        pong.get().unwrap();
    }
    let mut v: Vec<f64> = (0..n as u64)
        .map(|i| {
            let t = Instant::now();
            ping.put(&i).unwrap();
            pong.get().unwrap();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    child.join().unwrap();
    v.sort_by(f64::total_cmp);
    v[n / 2]
}

/// Two processes each take a lock `n` times to bump a shared counter, starting together;
/// microseconds per acquire and release (the longer side's time over both sides' count).
pub fn lock_handoff_us(n: u64) -> f64 {
    let (lock, count, start) = (
        Lock::new().unwrap(),
        Value::new(0u64).unwrap(),
        Barrier::new(2).unwrap(),
    );
    let bump = move |lock: Lock, count: Value<u64>, start: Barrier| {
        start.wait().unwrap();
        let t = Instant::now();
        for _ in 0..n {
            let _held = lock.lock().unwrap();
            count.update(|c| *c += 1);
        }
        t.elapsed().as_secs_f64()
    };
    let (l, c, s) = (lock.clone(), count.clone(), start.clone());
    let child = Process::spawn(move || bump(l, c, s)).unwrap();
    let mine = bump(lock, count.clone(), start);
    let theirs = child.join().unwrap();
    assert_eq!(count.load(), 2 * n);
    mine.max(theirs) * 1e6 / (2 * n) as f64
}
