//! Producers and consumers on a `JoinableQueue` between processes, Python's classic
//! `multiprocessing` pattern: two producer processes put jobs, three consumer processes
//! take them and put results on a second queue, the parent waits until every job is done
//! (`join`), then tells the consumers to stop and collects the results.
//!
//!     cargo run --example producer_consumer

use forkpool::{Error, JoinableQueue, Process, Queue};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Serialize, Deserialize, Debug)]
enum Job {
    /// Count the primes below this.
    Primes(u64),
    /// No more jobs: the consumer leaves.
    Stop,
}

fn primes_below(n: u64) -> u64 {
    (2..n)
        .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .count() as u64
}

fn main() -> Result<(), Error> {
    let jobs = JoinableQueue::<Job>::new(8)?;
    let results = Queue::<(u32, u64, u64)>::new(64)?;

    let producers: Vec<Process<()>> = (0..2)
        .map(|p| {
            let jobs = jobs.clone();
            Process::spawn(move || {
                for i in 0..6 {
                    jobs.put(&Job::Primes(10_000 + 5_000 * (2 * i + p)))
                        .unwrap();
                }
            })
        })
        .collect::<Result<_, _>>()?;

    let consumers: Vec<Process<u32>> = (0..3)
        .map(|_| {
            let (jobs, results) = (jobs.clone(), results.clone());
            Process::spawn(move || {
                let me = std::process::id();
                let mut done = 0;
                loop {
                    let job = jobs.get().unwrap();
                    if let Job::Primes(n) = job {
                        results.put(&(me, n, primes_below(n))).unwrap();
                        done += 1;
                    }
                    jobs.task_done().unwrap();
                    if matches!(job, Job::Stop) {
                        return done;
                    }
                }
            })
        })
        .collect::<Result<_, _>>()?;

    for p in producers {
        p.join()?;
    }
    jobs.join()?; // every job put so far is done
    for _ in &consumers {
        jobs.put(&Job::Stop)?;
    }
    for c in consumers {
        let pid = c.pid();
        println!("consumer {pid} did {} jobs", c.join()?);
    }
    let mut all = Vec::new();
    while let Ok(r) = results.get_timeout(Duration::from_millis(100)) {
        all.push(r);
    }
    all.sort_by_key(|&(_, n, _)| n);
    for (pid, n, count) in &all {
        println!("{count:5} primes below {n:6} (process {pid})");
    }
    assert_eq!(all.len(), 12);
    Ok(())
}
