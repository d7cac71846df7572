//! Issue 19, point 1: with `FORKPOOL_FORK_SERVER=lazy` (or the `lazy-fork-server` feature),
//! a run that never builds a pool starts no fork server; the first pool starts one (the
//! program executed afresh) and works as usual.

use std::process::Command;

/// Set when this binary runs again as the lazy scenario.
const SCENARIO: &str = "FORKPOOL_TEST_LAZY_SCENARIO";

fn double(x: u32) -> u32 {
    x * 2
}

#[test]
fn a_lazy_fork_server_starts_with_the_first_pool() {
    if std::env::var_os(SCENARIO).is_some() {
        assert_eq!(forkpool::fork_server_pid(), None, "no server before a pool");
        let pool = forkpool::Pool::new(2).unwrap();
        assert!(forkpool::fork_server_pid().is_some());
        assert_eq!(pool.map(double, [1, 2]).unwrap(), [2, 4]);
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_lazy_fork_server_starts_with_the_first_pool",
            "--nocapture",
        ])
        .env(SCENARIO, "1")
        .env("FORKPOOL_FORK_SERVER", "lazy")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}
