//! Workers the fork server forks ahead of demand once a pool has asked for some: the next
//! pool takes them instead of waiting for forks; they take on their owner as it is when
//! they are taken, not as it was when they were forked; and they end with their program.
//!
//! Each scenario runs in a `Process` child of its own, with its own fork server.

mod common;

use common::{await_spare, eventually, in_child, spares_of};
use forkpool::Pool;
use std::collections::BTreeSet;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// The worker's pid, process name, working directory and `SPARES_TEST` variable.
fn whoami(_: u8) -> (u32, String, String, String) {
    let name = std::fs::read_to_string("/proc/self/comm").unwrap_or_default();
    let cwd = std::env::current_dir().map(|d| d.display().to_string());
    (
        std::process::id(),
        name.trim_end().to_owned(),
        cwd.unwrap_or_default(),
        std::env::var("SPARES_TEST").unwrap_or_default(),
    )
}

#[test]
fn the_next_pool_takes_the_workers_forked_ahead_as_its_owner_is_now() {
    let (ahead, seen, own_name, dir) = in_child(LIMIT, || {
        drop(Pool::new(2).unwrap());
        let server = forkpool::fork_server_pid().unwrap();
        await_spare(server);
        assert!(eventually(Duration::from_secs(10), || spares_of(server)
            .len()
            == 2));
        let ahead: BTreeSet<u32> = spares_of(server).into_iter().collect();
        // The owner moves and sets a variable after they were forked: the pool's workers
        // follow it.
        let dir = std::env::temp_dir().canonicalize().unwrap();
        std::env::set_current_dir(&dir).unwrap();
        // SAFETY: this child process runs no other thread that reads the environment.
        unsafe { std::env::set_var("SPARES_TEST", "set after the fork") };
        let pool = Pool::new(2).unwrap();
        let seen = pool.map(whoami, [0u8, 1, 2, 3]).unwrap();
        // The name every worker of this server has (a server started after `main` is the
        // program executed afresh).
        let own_name = std::fs::read_to_string(format!("/proc/{server}/comm")).unwrap();
        let own_name = own_name.trim_end().to_owned();
        (ahead, seen, own_name, dir.display().to_string())
    });
    let pids: BTreeSet<u32> = seen.iter().map(|s| s.0).collect();
    assert!(pids.is_subset(&ahead), "{pids:?} not among {ahead:?}");
    for (_, name, cwd, var) in &seen {
        assert_eq!(name, &own_name, "a taken worker has its server's name back");
        assert_eq!(cwd, &dir);
        assert_eq!(var, "set after the fork");
    }
}

#[test]
fn workers_forked_ahead_end_with_their_program() {
    let ahead = in_child(LIMIT, || {
        let pool = Pool::new(3).unwrap();
        assert_eq!(pool.map(whoami, [0u8]).unwrap().len(), 1);
        let server = forkpool::fork_server_pid().unwrap();
        assert!(eventually(Duration::from_secs(10), || spares_of(server)
            .len()
            == 3));
        spares_of(server)
    });
    let gone = |p: &u32| !std::path::Path::new(&format!("/proc/{p}")).exists();
    assert!(
        eventually(Duration::from_secs(10), || ahead.iter().all(gone)),
        "left behind: {ahead:?}"
    );
}

#[test]
fn a_replacement_takes_a_worker_forked_ahead() {
    let (ahead, replaced) = in_child(LIMIT, || {
        let pool = Pool::builder()
            .processes(1)
            .maxtasksperchild(1)
            .build()
            .unwrap();
        let server = forkpool::fork_server_pid().unwrap();
        await_spare(server);
        let ahead = spares_of(server);
        // The worker leaves after this task; its replacement is the one forked ahead.
        let first = pool.apply(whoami, (0,)).unwrap().0;
        let replaced = eventually(Duration::from_secs(10), || {
            let now = pool.pids();
            now != [first] && now.iter().all(|p| ahead.contains(p))
        });
        (ahead, replaced)
    });
    assert_eq!(ahead.len(), 1);
    assert!(
        replaced,
        "the replacement is the worker forked ahead {ahead:?}"
    );
}
