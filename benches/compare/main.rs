//! forkpool side by side with Python's `multiprocessing` and the machine's floor, in one run.
//!
//! `cargo bench --bench compare [-- ROUNDS]` prints a table (median and min–max over
//! ROUNDS, default 3) and writes `target/forkpool-bench/throughput.svg`.

mod figures;
mod floor;
mod plot;
mod samples;
mod sync_figures;

use samples::{Samples, med, python, show};
use std::process::Command;
use std::time::Duration;

/// Runs this bench binary again with `args` (a figure taken in a fresh process) and returns
/// the numbers it prints, separated by white space (NaN for any that does not parse).
fn rerun(args: &[&str]) -> Vec<f64> {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe).args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(f64::NAN))
        .collect()
}

/// Pools started and stopped per round for the start-up figure (its median), on both sides.
const STARTUPS: usize = 11;
/// The pause before each pool in the start-up figure of a program that makes pools now and
/// then, on both sides.
const PAUSE: Duration = Duration::from_millis(20);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--imap-rss") {
        figures::imap_rss_child(args[i + 1].parse().unwrap());
        return;
    }
    if args.iter().any(|a| a == "--floor-fork") {
        floor::process_floors_child();
        return;
    }
    if args.iter().any(|a| a == "--first-pool") {
        figures::first_pool_child();
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--first-transfer") {
        figures::program_first_transfer_child(args[i + 1].parse().unwrap());
        return;
    }
    if args.iter().any(|a| a == "--seed-floor") {
        floor::seed_process_floor_child();
        return;
    }
    if args.iter().any(|a| a == "--seed") {
        figures::seed_child();
        return;
    }
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3);
    println!("forkpool comparison: {rounds} rounds, 4 workers unless said");
    let mut ours = Samples::new();
    let mut add = |k: &str, v: f64| ours.entry(k.to_owned()).or_default().push(v);
    for round in 0..rounds {
        eprintln!("round {} of {rounds}: forkpool and floor", round + 1);
        add("floor_pipe_rtt_us", floor::pipe_rtt_us(20_000));
        add("floor_pipe_bw", floor::pipe_bandwidth(512 << 20, None));
        add(
            "floor_pipe_bw_1m",
            floor::pipe_bandwidth(512 << 20, Some(1 << 20)),
        );
        let (fork_us, four_ms) = floor::process_floors();
        add("floor_fork_us", fork_us);
        add("floor_four_ms", four_ms);
        add("floor_sleep_late_ms", floor::sleep_lateness_ms(10));
        add("floor_seed_process", floor::seed_process_floor());
        for (v, over, sleeps) in figures::seed_overheads() {
            add(&format!("seed_{v}"), over);
            add(&format!("sleeps_{v}"), sleeps);
        }
        add("startup_first_ms", figures::first_pool_ms(STARTUPS));
        add(
            "startup_ms",
            figures::startup_ms(STARTUPS, false, Duration::ZERO),
        );
        add(
            "startup_drop_ms",
            figures::startup_ms(STARTUPS, true, Duration::ZERO),
        );
        add(
            "startup_paused_ms",
            figures::startup_ms(STARTUPS, false, PAUSE),
        );
        add("apply_rtt_us", figures::apply_rtt_us(2000));
        for how in ["map", "imap", "imap_unordered", "apply_async"] {
            add(
                &format!("default_{how}"),
                figures::trivial_rate(how, 200_000, false),
            );
            add(
                &format!("trivial_{how}"),
                figures::trivial_rate(how, 200_000, true),
            );
        }
        add("callback_apply_async", figures::callback_rate(100_000));
        add("map_default_1m", figures::map_rate(1_000_000, 0));
        // Next to the figure it is the floor of: how warm fresh memory is drifts.
        add("floor_fresh_fill", floor::fresh_memory_fill(64 << 20));
        add(
            "big_result_program_first",
            figures::program_first_transfer_rate(64 << 20),
        );
        add("big_result_first", figures::big_result_first_rate(64 << 20));
        add("big_vec_first", figures::big_vec_first_rate(64 << 20));
        add("big_result", figures::big_result_rate(64 << 20));
        add("big_arg_first", figures::big_argument_first_rate(64 << 20));
        add("big_pipe", figures::big_pipe_rate(64 << 20));
        add("imap_rss_mib", figures::imap_peak_rss_mib(10_000_000));
        add("imap_rss_mib_1m", figures::imap_peak_rss_mib(1_000_000));
        add(
            "cpu_speedup",
            figures::cpu_bound_secs(1) / figures::cpu_bound_secs(2),
        );
        add("cpu_efficiency", figures::cpu_efficiency());
        add("cpu_per_task_us", figures::cpu_per_task_us(200_000));
        for w in figures::sweep_workers() {
            add(&format!("workers_{w}"), figures::imap_rate_with(w, 100_000));
        }
        add("thread_pool", sync_figures::thread_pool_rate(100_000, None));
        add(
            "thread_pool_64",
            sync_figures::thread_pool_rate(200_000, Some(64)),
        );
        add("queue_rtt_us", sync_figures::queue_rtt_us(2000));
        add("lock_handoff_us", sync_figures::lock_handoff_us(20_000));
        for chunk in plot::CHUNKS {
            add(&format!("sweep_{chunk}"), figures::map_rate(200_000, chunk));
        }
    }
    eprintln!("python side ({rounds} rounds)...");
    let py = python(rounds);
    report(&ours, &py);
    for svg in plot::write(&ours, &py, &figures::sweep_workers()) {
        println!("\nplot: {svg}");
    }
}

fn report(ours: &Samples, py: &Samples) {
    let get = |s: &Samples, k: &str| s.get(k).cloned().unwrap_or_default();
    let late = med(&get(ours, "floor_sleep_late_ms")) / 1e3;
    let rtt = med(&get(ours, "floor_pipe_rtt_us"));
    println!("\n## Floor (this machine, this run)");
    println!("| figure | value |\n|---|---|");
    for (figure, key) in [
        ("raw pipe round trip, 8 B (µs)", "floor_pipe_rtt_us"),
        ("raw pipe bandwidth, 64 KiB writes (B/s)", "floor_pipe_bw"),
        ("same, 1 MiB pipe buffer (B/s)", "floor_pipe_bw_1m"),
        ("fork + _exit + waitpid (µs)", "floor_fork_us"),
        (
            "4 processes forked, heard from, told to leave, reaped (ms)",
            "floor_four_ms",
        ),
        (
            "first write of 64 MiB of fresh memory (B/s)",
            "floor_fresh_fill",
        ),
        ("50 ms sleep wakes late by (ms)", "floor_sleep_late_ms"),
        (
            "the seed's `Process` variant with bare fork(2), a pipe and waitpid, s over ideal (50 ms steps)",
            "floor_seed_process",
        ),
    ] {
        println!("| {figure} | {} |", show(&get(ours, key)));
    }

    println!("\n## forkpool vs Python");
    println!("| figure | forkpool | Python | ratio | target |\n|---|---|---|---|---|");
    // A row whose Python figure has another key (the same workload, Python's settings).
    let row_vs = |name: &str, k: &str, py_key: &str, ratio: String, target: &str| {
        println!(
            "| {name} | {} | {} | {ratio} | {target} |",
            show(&get(ours, k)),
            show(&get(py, py_key))
        );
    };
    let row = |name: &str, k: &str, ratio: String, target: &str| row_vs(name, k, k, ratio, target);
    for v in figures::seed_variants() {
        let k = format!("seed_{v}");
        let floor = late * med(&get(ours, &format!("sleeps_{v}")));
        let mut r = format!(
            "{:.2}x / {:.2}x timer floor",
            med(&get(ours, &k)) / floor,
            med(&get(py, &k)) / floor
        );
        if *v == "process" {
            // Its own floor: the same children with nothing but fork(2).
            let bare = med(&get(ours, "floor_seed_process"));
            r += &format!(
                "; {:.2}x / {:.2}x bare fork(2) ({:.2}x timer floor)",
                med(&get(ours, &k)) / bare,
                med(&get(py, &k)) / bare,
                bare / floor
            );
        }
        row(
            &format!("seed {v}, s over ideal (50 ms steps)"),
            &k,
            r,
            "<= 1.2x timer floor",
        );
    }
    let ms = |k: &str| med(&get(ours, k));
    let pyv = |k: &str| med(&get(py, k));
    for (name, key) in [
        (
            "start-up + first result + close + join, a program's first pool (ms)",
            "startup_first_ms",
        ),
        ("start-up + first result + close + join (ms)", "startup_ms"),
        (
            "start-up + first result + drop (ms; Python: a `with` block)",
            "startup_drop_ms",
        ),
        (
            "start-up + first result + close + join, 20 ms after the last pool (ms)",
            "startup_paused_ms",
        ),
    ] {
        let ratio = format!(
            "{:.2}x Python; {:.2}x floor (4 processes)",
            ms(key) / pyv(key),
            ms(key) / ms("floor_four_ms")
        );
        row(name, key, ratio, "<= 1 ms");
    }
    row(
        "apply round trip, median (µs)",
        "apply_rtt_us",
        format!(
            "{:.2}x pipe RTT (Python {:.2}x)",
            ms("apply_rtt_us") / rtt,
            pyv("apply_rtt_us") / rtt
        ),
        "<= 1.0x pipe RTT",
    );
    for how in ["map", "imap", "imap_unordered", "apply_async"] {
        let k = format!("default_{how}");
        let py_key = format!("trivial_{how}");
        row_vs(
            &format!("x+1, chunk 1, {how}, default settings (tasks/s)"),
            &k,
            &py_key,
            format!("{:.1}x Python", ms(&k) / pyv(&py_key)),
            ">= 1M/s",
        );
    }
    for how in ["map", "imap", "imap_unordered", "apply_async"] {
        let k = format!("trivial_{how}");
        row(
            &format!("x+1, chunk 1, {how}, pipeline_depth(64) (tasks/s)"),
            &k,
            format!("{:.1}x Python (default settings)", ms(&k) / pyv(&k)),
            "",
        );
    }
    row(
        "x+1, chunk 1, apply_async with a callback, default settings (calls/s)",
        "callback_apply_async",
        format!(
            "{:.1}x Python",
            ms("callback_apply_async") / pyv("callback_apply_async")
        ),
        "",
    );
    row(
        "x+1, map default chunk, 1M items (tasks/s)",
        "map_default_1m",
        format!(
            "{:.2}x Python",
            ms("map_default_1m") / pyv("map_default_1m")
        ),
        ">= 2x Python",
    );
    for (name, key, target) in [
        (
            "one task returning 64 MiB, a program's first transfer (B/s; fresh process)",
            "big_result_program_first",
            "",
        ),
        (
            "one task returning 64 MiB, first transfer in a fresh pool (B/s)",
            "big_result_first",
            ">= 0.5x fill, >= 4x Python",
        ),
        (
            "one task returning 64 MiB, after one transfer (B/s)",
            "big_result",
            ">= 1 GB/s",
        ),
        (
            "one task taking a 64 MiB argument, first transfer in a fresh pool (B/s)",
            "big_arg_first",
            ">= 4x Python",
        ),
    ] {
        let fill = ms(key) / ms("floor_fresh_fill");
        let ratio = format!(
            "{:.2}x Python; {fill:.2}x fresh-memory fill",
            ms(key) / pyv(key)
        );
        row(name, key, ratio, target);
    }
    row_vs(
        "one task returning a 64 MiB `Vec<u8>`, first transfer in a fresh pool (B/s; Python: `bytes`)",
        "big_vec_first",
        "big_result_first",
        format!(
            "{:.2}x Python; {:.2}x fresh-memory fill",
            ms("big_vec_first") / pyv("big_result_first"),
            ms("big_vec_first") / ms("floor_fresh_fill")
        ),
        "",
    );
    row(
        "64 MiB sent to a child process through a Pipe, and a 1-byte answer (B/s)",
        "big_pipe",
        format!("{:.2}x Python", ms("big_pipe") / pyv("big_pipe")),
        ">= 4x Python",
    );
    row(
        "imap over 10M items, parent peak RSS (MiB; Python: 2M items)",
        "imap_rss_mib",
        format!("1M items: {:.1} MiB", ms("imap_rss_mib_1m")),
        "<= 32 MiB",
    );
    row(
        "8 CPU-bound tasks, 2 workers vs 1 (speed-up)",
        "cpu_speedup",
        String::new(),
        ">= 1.9x",
    );
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    row(
        &format!(
            "64 CPU-bound tasks of 40 ms, {cpus} workers on {cpus} CPUs, map: efficiency (ideal / measured)"
        ),
        "cpu_efficiency",
        String::new(),
        ">= 0.95 on 16 cores",
    );
    row(
        "CPU per map(chunksize=1) task, all processes (µs)",
        "cpu_per_task_us",
        format!(
            "{:.2}x Python",
            ms("cpu_per_task_us") / pyv("cpu_per_task_us")
        ),
        "<= 10 µs",
    );
    for w in figures::sweep_workers() {
        let k = format!("workers_{w}");
        row(
            &format!("x+1, chunk 1, imap, default settings, {w} workers (tasks/s)"),
            &k,
            format!(
                "{:.1}x Python; {:.2}x forkpool's 1 worker",
                ms(&k) / pyv(&k),
                ms(&k) / ms("workers_1")
            ),
            "grows to 8 workers",
        );
    }
    row(
        "x+1, chunk 1, ThreadPool imap, 4 threads, default settings (tasks/s)",
        "thread_pool",
        format!(
            "{:.2}x Python's ThreadPool",
            ms("thread_pool") / pyv("thread_pool")
        ),
        "",
    );
    row_vs(
        "x+1, chunk 1, ThreadPool imap, 4 threads, pipeline_depth(64) (tasks/s)",
        "thread_pool_64",
        "thread_pool",
        format!(
            "{:.2}x Python's ThreadPool (default settings)",
            ms("thread_pool_64") / pyv("thread_pool")
        ),
        "",
    );
    row(
        "Queue round trip between two processes, median (µs)",
        "queue_rtt_us",
        format!(
            "{:.2}x Python; {:.2}x pipe RTT",
            ms("queue_rtt_us") / pyv("queue_rtt_us"),
            ms("queue_rtt_us") / rtt
        ),
        "",
    );
    row(
        "Lock hand-off, 2 processes contending, per acquire + release (µs)",
        "lock_handoff_us",
        format!(
            "{:.2}x Python",
            ms("lock_handoff_us") / pyv("lock_handoff_us")
        ),
        "",
    );
    println!(
        "\nEvery row uses the defaults (`Pool::new(4)`, or the row's number of workers) unless it is marked pipeline_depth(64), which sets the default depth explicitly. Python runs 50k tasks for chunk 1, with its defaults."
    );
}
