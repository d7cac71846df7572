//! forkpool-mpi under `mpirun`. Run by `cargo test`, this binary starts itself under
//! `mpirun` (bounded in time) and checks what it reported; under `mpirun` (the
//! `OMPI_COMM_WORLD_SIZE` variable is set), rank 0 runs the checks and every other rank is
//! a node agent.
//!
//! - `mpirun -n 3`: every `Pool` method across two agent ranks, workers spread over both,
//!   a task that panics, a task that aborts its process (it fails alone; the ranks carry on).
//! - `mpirun -n 1 <this> : -n 1 <a copy with one byte more>`: the agent runs another
//!   executable, and refuses to start workers.

use forkpool_mpi::{MpiPool, init};
use forkpool_std::{Error, ExitCause, Pool};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The most one `mpirun` may take.
const LIMIT: Duration = Duration::from_secs(240);

fn main() {
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_none() {
        launch();
        return;
    }
    let mismatch = std::env::args().any(|a| a == "--mismatch");
    let mpi = init().unwrap(); // only rank 0 gets past this line
    if mismatch {
        refuses_another_executable(&mpi);
    } else {
        every_method(&mpi);
        spreads_over_ranks(&mpi);
        a_panicking_task_fails_alone(&mpi);
        a_task_that_kills_its_process_fails_alone(&mpi);
    }
    drop(mpi);
    println!("forkpool-mpi: all checks passed");
}

fn square(x: u64) -> u64 {
    x * x
}

fn add(a: u64, b: u64) -> u64 {
    a + b
}

/// The rank of the agent whose worker runs this (workers inherit their rank's environment).
fn rank_of_worker(_: u32) -> String {
    std::env::var("OMPI_COMM_WORLD_RANK").unwrap_or_default()
}

fn panic_on_3(x: u64) -> u64 {
    assert!(x != 3, "three is not allowed");
    x
}

fn abort_on_11(x: u64) -> u64 {
    if x == 11 {
        std::process::abort();
    }
    x * 2
}

fn every_method(mpi: &forkpool_mpi::Mpi) {
    let pool = MpiPool::new(mpi).unwrap();
    assert_eq!(pool.processes(), mpi.agents());
    let want: Vec<u64> = (0..300).map(square).collect();
    assert_eq!(pool.apply(square, (7,)).unwrap(), 49);
    assert_eq!(pool.apply_async(square, (8,)).unwrap().get().unwrap(), 64);
    assert_eq!(pool.map(square, 0..300).unwrap(), want);
    assert_eq!(pool.map_async(square, 0..300).unwrap().get().unwrap(), want);
    let got: Vec<u64> = pool
        .imap(square, 0..300)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, want);
    let mut got: Vec<u64> = pool
        .imap_unordered(square, 0..300)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    got.sort_unstable();
    assert_eq!(got, want);
    let pairs: Vec<(u64, u64)> = (0..100).map(|i| (i, 2 * i)).collect();
    let sums: Vec<u64> = (0..100).map(|i| 3 * i).collect();
    assert_eq!(pool.starmap(add, pairs.clone()).unwrap(), sums);
    assert_eq!(pool.starmap_async(add, pairs).unwrap().get().unwrap(), sums);
    pool.close();
    pool.join().unwrap();
    println!("ok every_method");
}

fn spreads_over_ranks(mpi: &forkpool_mpi::Mpi) {
    let pool = MpiPool::with(mpi, Pool::builder().processes(2 * mpi.agents())).unwrap();
    let mut ranks = pool.map_chunked(rank_of_worker, 0..200, 1).unwrap();
    ranks.sort();
    ranks.dedup();
    let want: Vec<String> = (1..mpi.size()).map(|r| r.to_string()).collect();
    assert_eq!(ranks, want, "tasks ran on the agent ranks");
    println!("ok spreads_over_ranks");
}

fn a_panicking_task_fails_alone(mpi: &forkpool_mpi::Mpi) {
    let pool = MpiPool::new(mpi).unwrap();
    let results: Vec<_> = pool.imap(panic_on_3, 0..10).unwrap().collect();
    for (x, r) in results.into_iter().enumerate() {
        match r {
            Err(Error::Panicked { message, .. }) if x == 3 => {
                assert!(message.contains("three is not allowed"), "{message}");
            }
            Ok(v) if x != 3 => assert_eq!(v, x as u64),
            other => panic!("task {x}: {other:?}"),
        }
    }
    println!("ok a_panicking_task_fails_alone");
}

fn a_task_that_kills_its_process_fails_alone(mpi: &forkpool_mpi::Mpi) {
    let pool = MpiPool::new(mpi).unwrap();
    let results: Vec<_> = pool.imap(abort_on_11, 0..500).unwrap().collect();
    for (x, r) in results.into_iter().enumerate() {
        match r {
            Err(Error::WorkerDied { cause, .. }) if x == 11 => {
                assert!(
                    matches!(
                        cause,
                        ExitCause::Signaled {
                            name: "SIGABRT",
                            ..
                        }
                    ),
                    "{cause}"
                );
            }
            Ok(v) if x != 11 => assert_eq!(v, 2 * x as u64),
            other => panic!("task {x}: {other:?}"),
        }
    }
    // The rank lost a worker, not itself: the pool goes on, on every rank.
    assert_eq!(pool.map(square, 0..100).unwrap()[99], 99 * 99);
    println!("ok a_task_that_kills_its_process_fails_alone");
}

fn refuses_another_executable(mpi: &forkpool_mpi::Mpi) {
    let err =
        MpiPool::with(mpi, Pool::builder().max_restarts(1, Duration::from_secs(1))).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("another executable"), "{text}");
    println!("ok refuses_another_executable: {text}");
}

/// Runs this binary under `mpirun`, as a test: both runs must pass, each within `LIMIT`.
fn launch() {
    let me = std::env::current_exe().unwrap();
    let out = run_mpirun(&["-n", "3", me.to_str().unwrap()]);
    print!("{out}");
    for check in [
        "every_method",
        "spreads_over_ranks",
        "a_panicking_task_fails_alone",
        "a_task_that_kills_its_process_fails_alone",
    ] {
        assert!(
            out.contains(&format!("ok {check}")),
            "{check} did not pass:\n{out}"
        );
    }
    // The same program with one byte more: another executable to the fingerprint.
    let other = std::env::temp_dir().join(format!("forkpool-mpi-other-{}", std::process::id()));
    let mut bytes = std::fs::read(&me).unwrap();
    bytes.push(0);
    std::fs::write(&other, bytes).unwrap();
    std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = run_mpirun(&[
        "-n",
        "1",
        me.to_str().unwrap(),
        "--mismatch",
        ":",
        "-n",
        "1",
        other.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&other);
    print!("{out}");
    assert!(out.contains("ok refuses_another_executable"), "{out}");
    println!("mpirun tests passed");
}

/// Runs `mpirun args`, killing it past `LIMIT`; returns its output, which must show success.
fn run_mpirun(args: &[&str]) -> String {
    let mut child = Command::new("mpirun")
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun (install openmpi-bin and libopenmpi-dev)");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "mpirun {args:?} took over {LIMIT:?}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        status.success(),
        "mpirun {args:?} failed ({status}):\n{text}"
    );
    text
}
