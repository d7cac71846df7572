//! The seed article's walk-through: factorials of (4, 8, 12, 20, 16) through `Process` and
//! the eight `Pool` methods, 4 workers, one step (default 500 ms) per multiplication.
//!
//! `cargo run --release --example walkthrough -- [--step-ms N] [--only NAME]`

mod seed;

fn main() {
    let mut step_ms = 500;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--step-ms" => step_ms = args.next().and_then(|v| v.parse().ok()).unwrap_or(step_ms),
            "--only" => only = args.next(),
            other => {
                eprintln!(
                    "unknown argument {other}; use --step-ms N and --only NAME ({:?})",
                    seed::VARIANTS
                );
                std::process::exit(2);
            }
        }
    }
    for name in seed::VARIANTS {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        println!("== {name}");
        match seed::run(name, step_ms) {
            Ok(report) => {
                println!("output:");
                for line in &report.lines {
                    println!("{line}");
                }
                println!(
                    "factorial of (4, 8, 12, 20, 16)@{:.2}s: {:?}",
                    report.total, report.results
                );
            }
            Err(e) => {
                eprintln!("{name} failed: {e}");
                std::process::exit(1);
            }
        }
    }
}
