//! forkpool side by side with Python's `multiprocessing` and the machine's floor, in one run.
//!
//! `cargo bench --bench compare [-- ROUNDS]` prints a table (median and min–max over
//! ROUNDS, default 3) and writes `target/forkpool-bench/throughput.svg`.

mod figures;
mod floor;
mod plot;
mod report;
mod samples;
mod sync_figures;
mod transfers;

use report::report;
use samples::{Samples, python};
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

/// Takes the figure this run was started for, when it is a re-run (`rerun`: its flag comes
/// first, then its argument, if any); whether it was.
fn run_child() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = || args.get(1).and_then(|a| a.parse().ok()).unwrap();
    match args.first().map(String::as_str) {
        Some("--imap-rss") => figures::imap_rss_child(number()),
        Some("--floor-fork") => floor::process_floors_child(),
        Some("--first-pool") => figures::first_pool_child(),
        Some("--first-transfer") => transfers::program_first_transfer_child(number() as usize),
        Some("--seed-floor") => floor::seed_process_floor_child(),
        Some("--seed") => figures::seed_child(),
        _ => return false,
    }
    true
}

/// Pools started and stopped per round for the start-up figure (its median), on both sides.
const STARTUPS: usize = 11;
/// The pause before each pool in the start-up figure of a program that makes pools now and
/// then, on both sides.
const PAUSE: Duration = Duration::from_millis(20);

fn main() {
    if run_child() {
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
            transfers::program_first_transfer_rate(64 << 20),
        );
        add(
            "big_result_first",
            transfers::big_result_first_rate(64 << 20),
        );
        add("big_vec_first", transfers::big_vec_first_rate(64 << 20));
        add("big_result", transfers::big_result_rate(64 << 20));
        add(
            "big_arg_first",
            transfers::big_argument_first_rate(64 << 20),
        );
        add("big_pipe", transfers::big_pipe_rate(64 << 20));
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
