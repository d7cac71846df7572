//! The seed's schedule, asserted as the order of events (with a small step), not wall times.

#[path = "../examples/walkthrough/timeline.rs"]
#[allow(dead_code)]
mod timeline;

#[path = "../examples/walkthrough/seed.rs"]
#[allow(dead_code)]
mod seed;

const STEP_MS: u64 = 80;

/// (x, "start" | "finish", seconds) parsed from the pipe's lines.
fn events(lines: &[String]) -> Vec<(u64, &'static str, f64)> {
    lines
        .iter()
        .map(|l| {
            let rest = l.strip_prefix("factorial of ").expect("seed line");
            let (x, rest) = rest.split_once(": ").unwrap();
            let kind = if rest.starts_with("start@") {
                "start"
            } else {
                "finish"
            };
            let t = rest.split('@').nth(1).unwrap().split('s').next().unwrap();
            (x.parse().unwrap(), kind, t.parse().unwrap())
        })
        .collect()
}

fn at(ev: &[(u64, &str, f64)], x: u64, kind: &str) -> f64 {
    ev.iter().find(|e| e.0 == x && e.1 == kind).unwrap().2
}

const ORDERED: [u64; 5] = [24, 40320, 479001600, 2432902008176640000, 20922789888000];

fn pool_schedule(name: &str) -> Vec<u64> {
    let report = seed::run(name, STEP_MS).unwrap();
    let ev = events(&report.lines);
    assert_eq!(ev.len(), 10, "{name}: a start and a finish per task");
    let first_finish = ev.iter().position(|e| e.1 == "finish").unwrap();
    let early: Vec<u64> = ev[..first_finish].iter().map(|e| e.0).collect();
    assert_eq!(
        early.len(),
        4,
        "{name}: four tasks start before any finishes: {ev:?}"
    );
    assert!(!early.contains(&16), "{name}: 16 waits for a free worker");
    let step = STEP_MS as f64 / 1000.0;
    assert!(
        at(&ev, 16, "start") >= at(&ev, 4, "finish") - 0.011,
        "{name}: 16 starts when 4 finishes"
    );
    assert!(
        at(&ev, 16, "start") < at(&ev, 8, "finish"),
        "{name}: 16 starts before 8 finishes"
    );
    for x in [4, 8, 12, 20] {
        assert!(at(&ev, x, "start") < step, "{name}: {x} starts at once");
    }
    report.results
}

#[test]
fn process_runs_all_five_at_once_and_returns_values() {
    let report = seed::run("process", STEP_MS).unwrap();
    let ev = events(&report.lines);
    let first_finish = ev.iter().position(|e| e.1 == "finish").unwrap();
    assert_eq!(first_finish, 5, "all five start before any finishes");
    assert_eq!(report.results, ORDERED);
}

#[test]
fn apply_runs_one_after_another() {
    let report = seed::run("apply", 20).unwrap();
    let ev = events(&report.lines);
    let order: Vec<(u64, &str)> = ev.iter().map(|e| (e.0, e.1)).collect();
    let mut want = Vec::new();
    for x in seed::VAR {
        want.push((x, "start"));
        want.push((x, "finish"));
    }
    assert_eq!(order, want);
    assert_eq!(report.results, ORDERED);
}

#[test]
fn apply_async() {
    assert_eq!(pool_schedule("apply_async"), ORDERED);
}

#[test]
fn map() {
    assert_eq!(pool_schedule("map"), ORDERED);
}

#[test]
fn map_async() {
    assert_eq!(pool_schedule("map_async"), ORDERED);
}

#[test]
fn imap() {
    assert_eq!(pool_schedule("imap"), ORDERED);
}

#[test]
fn imap_unordered_lists_16_before_20() {
    assert_eq!(
        pool_schedule("imap_unordered"),
        [24, 40320, 479001600, 20922789888000, 2432902008176640000]
    );
}

#[test]
fn starmap() {
    assert_eq!(pool_schedule("starmap"), ORDERED);
}

#[test]
fn starmap_async() {
    assert_eq!(pool_schedule("starmap_async"), ORDERED);
}
