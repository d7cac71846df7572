//! The seed article's walk-through across the ranks of an MPI job: factorials of
//! (4, 8, 12, 20, 16) through the eight `Pool` methods on an `MpiPool`, one worker per rank
//! but 0, one step (default 500 ms) per multiplication.
//!
//! ```text
//! cargo build --release --example walkthrough
//! mpirun -n 5 target/release/examples/walkthrough [--step-ms N] [--only NAME]
//! ```
//!
//! The seed's tasks send progress lines over a `Pipe`; a descriptor cannot reach another
//! machine, so here each task returns its lines with its result, and they are printed in
//! time order, as the pipe would have delivered them, with the rank that ran the task.

use forkpool_mpi::{Mpi, MpiPool};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The seed's inputs.
const VAR: [u64; 5] = [4, 8, 12, 20, 16];

/// The `Pool` variants, in the article's order.
const VARIANTS: [&str; 8] = [
    "apply",
    "apply_async",
    "map",
    "map_async",
    "imap",
    "imap_unordered",
    "starmap",
    "starmap_async",
];

/// A progress line: when (seconds from the start) and what.
type Line = (f64, String);

/// Seconds since the epoch, as Python's `time.time()`.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The seed's `f(x, t0)`: `x!`, sleeping one step after each multiplication, with its
/// progress lines.
fn f(x: u64, t0: f64, step_ms: u64) -> (u64, Vec<Line>) {
    let rank = std::env::var("OMPI_COMM_WORLD_RANK").unwrap_or_else(|_| "?".into());
    let start = now() - t0;
    let mut lines = vec![(
        start,
        format!("factorial of {x}: start@{start:.2}s (rank {rank})"),
    )];
    let (mut ans, mut n) = (1u64, x);
    while n > 1 {
        ans *= n;
        std::thread::sleep(Duration::from_millis(step_ms));
        n -= 1;
    }
    let end = now() - t0;
    lines.push((
        end,
        format!("factorial of {x}: finish@{end:.2}s, res = {ans} (rank {rank})"),
    ));
    (ans, lines)
}

/// `f` with its arguments in one tuple, for `map`, `map_async`, `imap`.
fn f_packed(args: (u64, f64, u64)) -> (u64, Vec<Line>) {
    f(args.0, args.1, args.2)
}

/// Runs one variant; its results and progress lines, and the total time.
fn run(
    pool: &MpiPool<'_>,
    name: &str,
    step_ms: u64,
) -> forkpool_std::Result<(Vec<u64>, Vec<Line>, f64)> {
    let t0 = now();
    let params = || VAR.iter().map(|&x| (x, t0, step_ms));
    let out: Vec<(u64, Vec<Line>)> = match name {
        "apply" => params()
            .map(|a| pool.apply(f, a))
            .collect::<forkpool_std::Result<_>>()?,
        "apply_async" => {
            let pending = params()
                .map(|a| pool.apply_async(f, a))
                .collect::<forkpool_std::Result<Vec<_>>>()?;
            pending
                .into_iter()
                .map(|r| r.get())
                .collect::<forkpool_std::Result<_>>()?
        }
        "map" => pool.map(f_packed, params())?,
        "map_async" => pool.map_async(f_packed, params())?.get()?,
        "imap" => pool
            .imap(f_packed, params())?
            .collect::<forkpool_std::Result<_>>()?,
        "imap_unordered" => pool
            .imap_unordered(f_packed, params())?
            .collect::<forkpool_std::Result<_>>()?,
        "starmap" => pool.starmap(f, params())?,
        "starmap_async" => pool.starmap_async(f, params())?.get()?,
        _ => return Err(forkpool_std::Error::InvalidArgument("unknown variant")),
    };
    let total = now() - t0;
    let mut lines: Vec<Line> = out.iter().flat_map(|(_, l)| l.iter().cloned()).collect();
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok((out.into_iter().map(|(r, _)| r).collect(), lines, total))
}

/// `--step-ms N` and `--only NAME`.
fn options() -> Result<(u64, Option<String>), String> {
    let (mut step_ms, mut only) = (500, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--step-ms" => {
                step_ms = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--step-ms needs a number of milliseconds")?;
            }
            "--only" => {
                let name = args.next().ok_or("--only needs a variant name")?;
                if !VARIANTS.contains(&name.as_str()) {
                    return Err(format!("unknown variant {name}; one of {VARIANTS:?}"));
                }
                only = Some(name);
            }
            "--help" | "-h" => {
                println!("usage: mpirun -n 5 walkthrough [--step-ms N] [--only NAME]");
                std::process::exit(0);
            }
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    Ok((step_ms, only))
}

fn main() {
    // Every rank parses the options (a bad one ends every rank alike).
    let (step_ms, only) = options().unwrap_or_else(|e| {
        eprintln!("walkthrough: {e} (see --help)");
        std::process::exit(2);
    });
    let mpi: Mpi = forkpool_mpi::init().unwrap_or_else(|e| {
        eprintln!("walkthrough: {e}");
        std::process::exit(1);
    });
    println!(
        "{} ranks: rank 0 drives, {} run workers",
        mpi.size(),
        mpi.agents()
    );
    let pool = MpiPool::new(&mpi).unwrap_or_else(|e| {
        eprintln!("walkthrough: {e}");
        std::process::exit(1);
    });
    for name in VARIANTS {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        println!("== {name}");
        match run(&pool, name, step_ms) {
            Ok((results, lines, total)) => {
                println!("output:");
                for (_, line) in lines {
                    println!("{line}");
                }
                println!("factorial of {VAR:?}@{total:.2}s: {results:?}");
            }
            Err(e) => {
                eprintln!("{name} failed: {e}");
                std::process::exit(1);
            }
        }
    }
}
