//! The report: the floor table, and each figure beside Python's with its ratio and target.

use super::figures;
use super::samples::{Samples, med, show};

pub fn report(ours: &Samples, py: &Samples) {
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
