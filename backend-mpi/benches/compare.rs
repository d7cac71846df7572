//! forkpool-mpi against `mpi4py.futures`, in one run, on `mpirun -n 5` (rank 0 plus four
//! worker ranks) each: start-up + first result, the `apply` round trip, the per-task
//! overhead of `map` with default settings, chunk-1 throughput (each task its own call
//! on both sides: `apply_async` and `submit`), and the speed-up of CPU-bound tasks.
//!
//! `cargo bench --bench compare [-- ROUNDS]` (from `backend-mpi/`; needs `mpirun` and
//! `pip install mpi4py`). Prints a Markdown table; each figure is the median of the rounds.

use forkpool_mpi::MpiPool;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

/// Tiny tasks per throughput figure.
const N_TINY: u64 = 20_000;
/// CPU-bound tasks for the speed-up (eight per worker).
const BURN_TASKS: usize = 32;
/// The most one `mpirun` may take.
const LIMIT: Duration = Duration::from_secs(600);

fn noop(x: u64) -> u64 {
    x
}

/// CPU-bound work: `n` iterations of arithmetic (as `burn` in the Python script).
fn burn(n: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..n {
        acc = std::hint::black_box((acc * 31 + i) % 1_000_003);
    }
    acc
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Rank 0's side under `mpirun`: prints `key value` lines.
fn measure(rounds: usize) {
    let mpi = forkpool_mpi::init().expect("MPI");
    let mut figures: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut add = |k, v| figures.entry(k).or_default().push(v);
    // Iterations for a ~40 ms task here.
    let t = Instant::now();
    burn(2_000_000);
    let iters = (0.040 / (t.elapsed().as_secs_f64() / 2e6)) as u64;
    for _ in 0..rounds {
        let t = Instant::now();
        let pool = MpiPool::new(&mpi).unwrap();
        pool.apply(noop, (0,)).unwrap();
        add("startup_first_result_ms", t.elapsed().as_secs_f64() * 1e3);
        pool.map(noop, 0..100).unwrap();
        let samples = (0..300)
            .map(|i| {
                let t = Instant::now();
                pool.apply(noop, (i,)).unwrap();
                t.elapsed().as_secs_f64()
            })
            .collect();
        add("apply_rtt_us", median(samples) * 1e6);
        let t = Instant::now();
        pool.map(noop, 0..N_TINY).unwrap();
        add(
            "map_default_us_per_task",
            t.elapsed().as_secs_f64() / N_TINY as f64 * 1e6,
        );
        let t = Instant::now();
        let pending: Vec<_> = (0..N_TINY)
            .map(|i| pool.apply_async(noop, (i,)).unwrap())
            .collect();
        for p in pending {
            p.get().unwrap();
        }
        add(
            "chunk1_tasks_per_s",
            N_TINY as f64 / t.elapsed().as_secs_f64(),
        );
        let t = Instant::now();
        for _ in 0..BURN_TASKS / 4 {
            burn(iters);
        }
        let serial = t.elapsed().as_secs_f64() * 4.0;
        let t = Instant::now();
        pool.map_chunked(burn, vec![iters; BURN_TASKS], 1).unwrap();
        add("cpu_speedup", serial / t.elapsed().as_secs_f64());
    }
    for (k, v) in figures {
        println!("{k} {}", median(v));
    }
}

/// Runs `program args` under `mpirun -n 5`, bounded; its `key value` lines (none if it
/// failed, after saying so).
fn mpirun(program: &str, args: &[&str]) -> BTreeMap<String, f64> {
    let mut child = Command::new("mpirun")
        .args(["-n", "5", program])
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("mpirun (install openmpi-bin)");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("mpirun {program} took over {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        eprintln!(
            "mpirun {program} {args:?} failed ({}); its figures are left out",
            out.status
        );
        return BTreeMap::new();
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3);
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() {
        measure(rounds);
        return;
    }
    let me = std::env::current_exe().unwrap();
    let rounds_arg = rounds.to_string();
    let ours = mpirun(me.to_str().unwrap(), &[&rounds_arg]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/mpi4py_compare.py");
    let has_mpi4py = Command::new("python3")
        .args(["-c", "import mpi4py.futures"])
        .status()
        .is_ok_and(|s| s.success());
    let theirs = if has_mpi4py {
        mpirun("python3", &["-m", "mpi4py.futures", script, &rounds_arg])
    } else {
        eprintln!("mpi4py is not installed (pip install mpi4py): its column is left empty");
        BTreeMap::new()
    };
    println!(
        "forkpool-mpi vs mpi4py.futures: mpirun -n 5 (rank 0 + 4 worker ranks), {rounds} rounds, medians\n"
    );
    println!("| figure | forkpool-mpi | mpi4py.futures | ratio |\n|---|---|---|---|");
    let get = |m: &BTreeMap<String, f64>, k: &str| m.get(k).copied().unwrap_or(f64::NAN);
    for (key, name, lower_is_better) in [
        (
            "startup_first_result_ms",
            "start-up + first result (ms)",
            true,
        ),
        ("apply_rtt_us", "apply round trip, median (µs)", true),
        (
            "map_default_us_per_task",
            "per-task overhead, map of 20k no-ops, default settings (µs)",
            true,
        ),
        (
            "chunk1_tasks_per_s",
            "chunk-1 throughput, 20k apply_async / submit (tasks/s)",
            false,
        ),
        (
            "cpu_speedup",
            "CPU-bound speed-up, 32 tasks of ~40 ms on 4 workers",
            false,
        ),
    ] {
        let (a, b) = (get(&ours, key), get(&theirs, key));
        let ratio = if lower_is_better { b / a } else { a / b };
        let better = if lower_is_better { "lower" } else { "higher" };
        println!("| {name} | {a:.2} | {b:.2} | {ratio:.1}x ({better} is better) |");
    }
}
