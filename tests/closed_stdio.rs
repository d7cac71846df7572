//! A program started with its standard descriptors closed (`prog <&- >&-`, as some
//! supervisors and daemons start programs): the fork server's sockets, made before `main`,
//! took those numbers. The program then read the fork server's answers as its stdin, and
//! a task's `println!` wrote into a socket of the server. Now closed standard descriptors
//! get `/dev/null` first, as Rust's runtime gives them (later) anyway.

use std::process::{Command, Stdio};

/// Set when this binary runs again as the scenario.
const SCENARIO: &str = "FORKPOOL_TEST_CLOSED_STDIO_SCENARIO";

/// Where descriptor `fd` of this process leads.
fn target(fd: u32) -> String {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map_or_else(|e| e.to_string(), |p| p.display().to_string())
}

/// A task that prints, then says where its stdin and stdout lead.
fn where_stdio_leads(x: u32) -> (String, String) {
    println!("task {x}");
    (target(0), target(1))
}

#[test]
fn a_program_started_with_stdin_and_stdout_closed_keeps_them_apart_from_the_pool() {
    if std::env::var_os(SCENARIO).is_some() {
        for fd in [0, 1] {
            assert_eq!(target(fd), "/dev/null", "the program's descriptor {fd}");
        }
        let pool = forkpool::Pool::new(2).unwrap();
        for (stdin, stdout) in pool.map(where_stdio_leads, [1, 2, 3]).unwrap() {
            assert_eq!(
                (stdin.as_str(), stdout.as_str()),
                ("/dev/null", "/dev/null")
            );
        }
        pool.close();
        pool.join().unwrap();
        eprintln!("the scenario ran");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let name = "a_program_started_with_stdin_and_stdout_closed_keeps_them_apart_from_the_pool";
    let out = Command::new("sh")
        .args(["-c", "exec \"$0\" --exact \"$1\" --nocapture <&- >&-"])
        .arg(exe)
        .arg(name)
        .env(SCENARIO, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("the scenario ran"), "{text}");
}
