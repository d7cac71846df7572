//! forkpool's figures: the same workloads as `mp_compare.py` runs under Python.

use forkpool::Pool;
use std::time::Instant;

#[path = "../../examples/walkthrough/seed.rs"]
#[allow(dead_code)]
mod seed;

pub fn inc(x: u64) -> u64 {
    x + 1
}

fn spin(n: u64) -> u64 {
    let mut acc = n;
    for i in 0..n {
        acc = acc.wrapping_mul(6364136223846793005).wrapping_add(i);
    }
    acc
}

/// Each seed variant's seconds over the ideal with 50 ms steps, and the number of sleeps on
/// its critical path. The walk-through is a program of its own: each round runs it whole,
/// every variant in order as the seed script does, in a fresh process (this bench re-run
/// with `--seed`), not in this one, whose heap the other figures grow (a fork of it takes
/// several times as long after a round).
pub fn seed_overheads() -> Vec<(&'static str, f64, f64)> {
    let mut over = crate::rerun(&["--seed"]).into_iter();
    seed::VARIANTS
        .iter()
        .map(|&name| {
            let sleeps = if name == "apply" { 55.0 } else { 19.0 };
            (name, over.next().unwrap_or(f64::NAN), sleeps)
        })
        .collect()
}

/// The re-run side of [`seed_overheads`]: prints each variant's seconds over the ideal.
pub fn seed_child() {
    for name in seed::VARIANTS {
        let report = seed::run(name, 50).expect("seed variant");
        let ideal = if name == "apply" { 2.75 } else { 0.95 };
        println!("{}", report.total - ideal);
    }
}

pub fn seed_variants() -> &'static [&'static str] {
    &seed::VARIANTS
}

/// Pool start-up, first result and shut-down, in ms: the median of `n` pools. Shut down
/// with `close` and `join`, or (`by_drop`) by dropping the pool, as Python's
/// `with Pool(4) as pool:` block ends. Each pool starts `pause` after the one before
/// ended (zero: back to back).
pub fn startup_ms(n: usize, by_drop: bool, pause: std::time::Duration) -> f64 {
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            std::thread::sleep(pause);
            let t = Instant::now();
            let pool = Pool::new(4).unwrap();
            pool.apply(inc, (1,)).unwrap();
            if !by_drop {
                pool.close();
                pool.join().unwrap();
            }
            drop(pool);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Start-up, first result, `close` and `join` of the first pool of a program, in ms: the
/// median of `n` fresh processes (this bench re-run with `--first-pool`).
pub fn first_pool_ms(n: usize) -> f64 {
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            crate::rerun(&["--first-pool"])
                .first()
                .copied()
                .unwrap_or(f64::NAN)
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The re-run side of [`first_pool_ms`]: prints the figure for this process's first pool.
pub fn first_pool_child() {
    println!("{}", startup_ms(1, false, std::time::Duration::ZERO));
}

/// Median `apply` round trip, in µs.
pub fn apply_rtt_us(n: usize) -> f64 {
    let pool = Pool::new(4).unwrap();
    for _ in 0..200 {
        pool.apply(inc, (1,)).unwrap();
    }
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            pool.apply(inc, (1,)).unwrap();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn pipelined() -> Pool {
    Pool::builder()
        .processes(4)
        .pipeline_depth(64)
        .build()
        .unwrap()
}

/// Tasks per second of `x + 1` with chunk size 1 through `how`: with the pool's default
/// settings (`Pool::new(4)`, what a user gets), or `tuned` (`pipeline_depth(64)`).
pub fn trivial_rate(how: &str, n: u64, tuned: bool) -> f64 {
    let pool = if tuned {
        pipelined()
    } else {
        Pool::new(4).unwrap()
    };
    let t = Instant::now();
    let done = match how {
        "map" => pool.map_chunked(inc, 0..n, 1).unwrap().len(),
        "imap" => pool.imap(inc, 0..n).unwrap().count(),
        "imap_unordered" => pool.imap_unordered(inc, 0..n).unwrap().count(),
        "apply_async" => {
            let rs: Vec<_> = (0..n)
                .map(|x| pool.apply_async(inc, (x,)).unwrap())
                .collect();
            rs.into_iter()
                .map(|r| r.get().unwrap())
                .filter(|v| *v > 0)
                .count()
        }
        _ => unreachable!(),
    };
    assert_eq!(done as u64, n);
    n as f64 / t.elapsed().as_secs_f64()
}

/// Calls per second of `apply_async` of `x + 1` with a callback that adds up the values,
/// at default settings: what callbacks cost on top of the calls.
pub fn callback_rate(n: u64) -> f64 {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let pool = Pool::new(4).unwrap();
    let sum = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let rs: Vec<_> = (0..n)
        .map(|x| {
            let s = Arc::clone(&sum);
            let opts = forkpool::AsyncOptions::new().callback(move |v: &u64| {
                s.fetch_add(*v, Ordering::Relaxed);
            });
            pool.apply_async_with(inc, (x,), opts).unwrap()
        })
        .collect();
    for r in rs {
        r.get().unwrap();
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    assert_eq!(sum.load(Ordering::Relaxed), (1..=n).sum::<u64>());
    rate
}

/// Tasks per second of `x + 1` through `imap` with chunk size 1 on a pool of `workers`
/// at default settings (the worker-count sweep).
pub fn imap_rate_with(workers: usize, n: u64) -> f64 {
    let pool = Pool::new(workers).unwrap();
    let t = Instant::now();
    assert_eq!(pool.imap(inc, 0..n).unwrap().count() as u64, n);
    n as f64 / t.elapsed().as_secs_f64()
}

/// The worker counts of the sweep: 1, 2, 4, 8, 16 and this machine's CPUs (more workers
/// than CPUs still shows whether the driver keeps up as workers are added).
pub fn sweep_workers() -> Vec<usize> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut w = vec![1, 2, 4, 8, 16];
    if !w.contains(&cpus) {
        w.push(cpus);
        w.sort_unstable();
    }
    w
}

/// Tasks per second of `map` with the given chunk size (0: the default).
pub fn map_rate(n: u64, chunk: usize) -> f64 {
    let pool = Pool::new(4).unwrap();
    let t = Instant::now();
    let r = if chunk == 0 {
        pool.map(inc, 0..n)
    } else {
        pool.map_chunked(inc, 0..n, chunk)
    };
    assert_eq!(r.unwrap().len() as u64, n);
    n as f64 / t.elapsed().as_secs_f64()
}

/// Peak RSS (MiB) of a fresh process (this binary, re-run) that runs `imap` over `n`
/// items; a forked child would count its parent's pages.
pub fn imap_peak_rss_mib(n: u64) -> f64 {
    let got = crate::rerun(&["--imap-rss", &n.to_string()]);
    got.first().copied().unwrap_or(f64::NAN)
}

/// The re-run side of [`imap_peak_rss_mib`]: prints the peak RSS in MiB.
pub fn imap_rss_child(n: u64) {
    let pool = Pool::new(4).unwrap();
    let count = pool.imap_chunked(inc, 0..n, 256).unwrap().count();
    assert_eq!(count as u64, n);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    println!("{}", kib / 1024.0);
}

/// Seconds to run 8 CPU-bound tasks (about 0.1 s each, like Python's) on `workers` workers:
/// tasks of a few ms would measure the VM's scheduling noise instead of the speed-up.
pub fn cpu_bound_secs(workers: usize) -> f64 {
    let pool = Pool::new(workers).unwrap();
    let t = Instant::now();
    pool.map_chunked(spin, [600_000_000u64; 8], 1).unwrap();
    t.elapsed().as_secs_f64()
}

/// CPU-bound tasks in [`cpu_efficiency`].
const EFFICIENCY_TASKS: usize = 64;
/// About how long each of them runs (seconds).
const EFFICIENCY_TASK_SECS: f64 = 0.04;

/// [`spin`], returning how long it ran (seconds).
fn spin_timed(n: u64) -> f64 {
    let t = Instant::now();
    std::hint::black_box(spin(n));
    t.elapsed().as_secs_f64()
}

/// Efficiency of 64 CPU-bound tasks of about 40 ms each through `map` (default chunks) on as
/// many workers as this machine has CPUs, in a fresh pool: the time the tasks ran (each
/// timed inside its worker) over the workers' time (`workers` x the time `map` took). 1.0
/// is perfect; timing the tasks where they run keeps the figure steady when the VM's CPU
/// speed drifts.
pub fn cpu_efficiency() -> f64 {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Iterations for about 40 ms, from a timed run in this process (through a pointer the
    // compiler cannot see through, so the probe runs the code the workers run).
    let probe = 1u64 << 24;
    let timed: fn(u64) -> f64 = std::hint::black_box(spin_timed);
    let n = (probe as f64 * EFFICIENCY_TASK_SECS / timed(std::hint::black_box(probe))) as u64;
    let pool = Pool::new(workers).unwrap();
    let t = Instant::now();
    let ran = pool.map(spin_timed, vec![n; EFFICIENCY_TASKS]).unwrap();
    let took = t.elapsed().as_secs_f64();
    ran.iter().sum::<f64>() / (workers as f64 * took)
}

fn proc_cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|u| u.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// CPU time (parent plus workers, user + sys) per `map(chunksize=1)` task, in µs.
pub fn cpu_per_task_us(n: u64) -> f64 {
    let pool = Pool::new(4).unwrap();
    pool.map_chunked(inc, 0..1000, 1).unwrap();
    let pids = pool.pids();
    let me = std::process::id();
    let before: f64 = pids.iter().map(|&p| proc_cpu_secs(p)).sum::<f64>() + proc_cpu_secs(me);
    pool.map_chunked(inc, 0..n, 1).unwrap();
    let after: f64 = pids.iter().map(|&p| proc_cpu_secs(p)).sum::<f64>() + proc_cpu_secs(me);
    (after - before) * 1e6 / n as f64
}
