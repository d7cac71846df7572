//! The seed article's walk-through: factorials of (4, 8, 12, 20, 16) through `Process` and
//! the eight `Pool` methods, 4 workers, one step (default 500 ms) per multiplication. After
//! each variant it draws which worker ran which task when.
//!
//! `cargo run --release --example walkthrough -- [--step-ms N] [--only NAME] [--trace FILE]`
//!
//! `--trace FILE` writes the run as Chrome trace-event JSON (`chrome://tracing`, Perfetto).

mod seed;
mod timeline;

/// The options.
struct Options {
    step_ms: u64,
    only: Option<String>,
    trace: Option<std::path::PathBuf>,
}

fn options() -> Result<Options, lexopt::Error> {
    use lexopt::prelude::*;
    let mut o = Options {
        step_ms: 500,
        only: None,
        trace: None,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("step-ms") => o.step_ms = parser.value()?.parse()?,
            Long("only") => {
                let name: String = parser.value()?.parse()?;
                if !seed::VARIANTS.contains(&name.as_str()) {
                    return Err(
                        format!("unknown variant {name}; one of {:?}", seed::VARIANTS).into(),
                    );
                }
                o.only = Some(name);
            }
            Long("trace") => o.trace = Some(parser.value()?.into()),
            Long("help") | Short('h') => {
                println!("usage: walkthrough [--step-ms N] [--only NAME] [--trace FILE]");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(o)
}

fn main() {
    let o = options().unwrap_or_else(|e| {
        eprintln!("walkthrough: {e} (see --help)");
        std::process::exit(2);
    });
    let mut traced = Vec::new();
    for name in seed::VARIANTS {
        if o.only.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        println!("== {name}");
        match seed::run(name, o.step_ms) {
            Ok(report) => {
                println!("output:");
                for line in &report.lines {
                    println!("{line}");
                }
                println!(
                    "factorial of (4, 8, 12, 20, 16)@{:.2}s: {:?}",
                    report.total, report.results
                );
                print!("{}", timeline::chart(&report.spans, report.total));
                traced.push((name.to_string(), report.spans));
            }
            Err(e) => {
                eprintln!("{name} failed: {e}");
                std::process::exit(1);
            }
        }
    }
    if let Some(path) = o.trace {
        if let Err(e) = std::fs::write(&path, timeline::trace_json(&traced)) {
            eprintln!("walkthrough: could not write {}: {e}", path.display());
            std::process::exit(1);
        }
        println!("trace written to {}", path.display());
    }
}
