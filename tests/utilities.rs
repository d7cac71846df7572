//! Process utilities with Python's names: `cpu_count`, `current_process`,
//! `parent_process`, `active_children` (mirroring CPython's `_TestProcess.test_current`,
//! `test_parent_process` and `test_active_children`).

mod common;

use common::bounded;
use forkpool::{Pool, Process, ProcessInfo};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn who(_: u8) -> (ProcessInfo, Option<ProcessInfo>) {
    (forkpool::current_process(), forkpool::parent_process())
}

#[test]
fn cpu_count_counts_the_machines_cpus() {
    let n = forkpool::cpu_count();
    assert!(n >= 1);
    assert!(n >= std::thread::available_parallelism().map_or(1, usize::from));
}

#[test]
fn each_process_knows_what_it_is_and_who_started_it() {
    let me = std::process::id();
    let (main, main_parent) = who(0);
    assert_eq!(
        (main.pid, main.name.as_str(), main_parent),
        (me, "MainProcess", None)
    );

    let (worker, owner) = bounded(LIMIT, || Pool::new(1).unwrap().apply(who, (0,)).unwrap());
    assert_eq!(worker.name, format!("PoolWorker-{}", worker.pid));
    assert_eq!(
        owner.map(|o| o.pid),
        Some(me),
        "a worker's parent is the pool's owner"
    );

    let child = Process::spawn(|| who(0)).unwrap();
    let (child, parent) = bounded(LIMIT, move || child.join().unwrap());
    assert_eq!(child.name, format!("Process-{}", child.pid));
    assert_eq!(parent.map(|p| p.pid), Some(me));
}

#[test]
fn active_children_lists_running_children_until_they_end() {
    common::in_child(LIMIT, || {
        let (go, wait) = forkpool::pipe::<u8>().unwrap();
        let child = Process::spawn(move || wait.recv().unwrap()).unwrap();
        let pid = child.pid();
        assert_eq!(
            forkpool::active_children()
                .iter()
                .map(|c| c.pid)
                .collect::<Vec<_>>(),
            [pid]
        );
        go.send(&1).unwrap();
        assert_eq!(child.join().unwrap(), 1);
        assert!(forkpool::active_children().is_empty());
    });
}

/// Mirrors `_TestProcess.test_process` (names): a `Process` can be given a name; it reads
/// the same in the parent (`name`, `active_children`) and in the child (`current_process`).
#[test]
fn a_named_process_knows_its_name() {
    let seen = common::in_child(LIMIT, || {
        let (go, wait) = forkpool::pipe::<u8>().unwrap();
        let child = Process::<String>::builder()
            .name("hasher")
            .spawn(move || {
                wait.recv().unwrap();
                forkpool::current_process().name
            })
            .unwrap();
        let listed: Vec<String> = forkpool::active_children()
            .into_iter()
            .map(|c| c.name)
            .collect();
        let named = child.name();
        go.send(&1).unwrap();
        (named, listed, child.join().unwrap())
    });
    assert_eq!(seen.0, "hasher");
    assert_eq!(seen.1, ["hasher"]);
    assert_eq!(seen.2, "hasher");
}
