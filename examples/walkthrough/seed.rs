//! The seed article's job and its nine variants, shared by `examples/walkthrough` and the
//! schedule tests (`tests/walkthrough.rs`).

use forkpool::{Connection, Pool, Process, pipe};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The seed's inputs.
pub const VAR: [u64; 5] = [4, 8, 12, 20, 16];

/// The variants, in the article's order.
pub const VARIANTS: [&str; 9] = [
    "process",
    "apply",
    "apply_async",
    "map",
    "map_async",
    "imap",
    "imap_unordered",
    "starmap",
    "starmap_async",
];

/// Seconds since the epoch, as Python's `time.time()`.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The seed's `f(x, conn, t0)`: `x!`, sleeping one step after each multiplication, with
/// progress lines sent over `conn`.
pub fn f(x: u64, conn: Connection<String>, t0: f64, step_ms: u64) -> u64 {
    let x0 = x;
    let _ = conn.send(&format!("factorial of {x0}: start@{:.2}s", now() - t0));
    let (mut ans, mut x) = (1u64, x);
    while x > 1 {
        ans *= x;
        std::thread::sleep(Duration::from_millis(step_ms));
        x -= 1;
    }
    let _ = conn.send(&format!(
        "factorial of {x0}: finish@{:.2}s, res = {ans}",
        now() - t0
    ));
    ans
}

/// When one task ran: the process that ran it, its input, and its start and end in
/// seconds from `t0`.
pub type Span = (u32, u64, f64, f64);

/// `f`, also telling `spans` which process ran it and when (for the timeline; the seed's
/// own output is unchanged).
pub fn f_timed(
    x: u64,
    conn: Connection<String>,
    t0: f64,
    step_ms: u64,
    spans: Connection<Span>,
) -> u64 {
    let start = now() - t0;
    let ans = f(x, conn, t0, step_ms);
    let _ = spans.send(&(std::process::id(), x, start, now() - t0));
    ans
}

/// `f_timed` with its arguments packed in one tuple, for `map`, `map_async`, `imap`.
pub fn f_packed(args: (u64, Connection<String>, f64, u64, Connection<Span>)) -> u64 {
    f_timed(args.0, args.1, args.2, args.3, args.4)
}

/// What one variant printed: the pipe's lines, the results, the total time.
pub struct Report {
    /// Lines drained from the pipe after the run, in arrival order.
    pub lines: Vec<String>,
    /// The results, as the variant's API returned them.
    pub results: Vec<u64>,
    /// Seconds from `t0` to the end.
    pub total: f64,
    /// When each task ran, and in which process.
    pub spans: Vec<Span>,
}

/// Runs variant `name` on a 4-process pool with `step_ms` per multiplication.
pub fn run(name: &str, step_ms: u64) -> forkpool::Result<Report> {
    let pool = if name == "process" {
        None
    } else {
        Some(Pool::new(4)?)
    };
    let (p_conn, c_conn) = pipe::<String>()?;
    let (span_rx, span_tx) = pipe::<Span>()?;
    let t0 = now();
    let params = || {
        VAR.iter()
            .map(|&x| (x, c_conn.clone(), t0, step_ms, span_tx.clone()))
    };
    let results: Vec<u64> = match (name, &pool) {
        ("process", _) => {
            let procs = VAR
                .iter()
                .map(|&x| {
                    let (conn, spans) = (c_conn.clone(), span_tx.clone());
                    Process::spawn(move || f_timed(x, conn, t0, step_ms, spans))
                })
                .collect::<forkpool::Result<Vec<_>>>()?;
            procs
                .into_iter()
                .map(Process::join)
                .collect::<forkpool::Result<_>>()?
        }
        ("apply", Some(p)) => params()
            .map(|a| p.apply(f_timed, a))
            .collect::<forkpool::Result<_>>()?,
        ("apply_async", Some(p)) => {
            let pending = params()
                .map(|a| p.apply_async(f_timed, a))
                .collect::<forkpool::Result<Vec<_>>>()?;
            pending
                .into_iter()
                .map(|r| r.get())
                .collect::<forkpool::Result<_>>()?
        }
        ("map", Some(p)) => p.map(f_packed, params())?,
        ("map_async", Some(p)) => p.map_async(f_packed, params())?.get()?,
        ("imap", Some(p)) => p
            .imap(f_packed, params())?
            .collect::<forkpool::Result<_>>()?,
        ("imap_unordered", Some(p)) => p
            .imap_unordered(f_packed, params())?
            .collect::<forkpool::Result<_>>()?,
        ("starmap", Some(p)) => p.starmap(f_timed, params())?,
        ("starmap_async", Some(p)) => p.starmap_async(f_timed, params())?.get()?,
        _ => return Err(forkpool::Error::InvalidArgument("unknown variant")),
    };
    if let Some(p) = &pool {
        p.close();
        p.join()?;
    }
    let mut lines = Vec::new();
    while p_conn.poll(Duration::ZERO)? {
        lines.push(p_conn.recv()?);
    }
    let mut spans = Vec::new();
    while span_rx.poll(Duration::ZERO)? {
        spans.push(span_rx.recv()?);
    }
    Ok(Report {
        lines,
        results,
        total: now() - t0,
        spans,
    })
}
