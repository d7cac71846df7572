//! When the process that owns a pool is killed with SIGKILL, no worker (idle or busy) and
//! no fork server survives it for more than a few seconds.

mod common;

use forkpool::{Pool, Process, pipe};
use std::time::Duration;

fn sleepy(secs: u64) -> u64 {
    std::thread::sleep(Duration::from_secs(secs));
    secs
}

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit(')')
                .next()
                .and_then(|s| s.trim().chars().next()),
            Some('Z' | 'X')
        ),
        Err(_) => false,
    }
}

#[test]
fn workers_die_with_a_killed_parent() {
    let (rx, tx) = pipe::<Vec<u32>>().unwrap();
    let mut owner = Process::spawn(move || {
        let pool = Pool::new(3).unwrap();
        let _busy = pool.apply_async(sleepy, (120,)).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let mut pids = pool.pids();
        pids.extend(forkpool::fork_server_pid());
        tx.send(&pids).unwrap();
        std::thread::sleep(Duration::from_secs(120));
    })
    .unwrap();
    let pids = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(pids.len(), 4, "three workers and the owner's fork server");
    assert!(pids.iter().all(|&p| alive(p)));
    owner.kill().unwrap();
    let _ = owner.join_timeout(Duration::from_secs(30));
    assert!(
        common::eventually(Duration::from_secs(5), || pids.iter().all(|&p| !alive(p))),
        "survivors: {:?}",
        pids.iter().filter(|&&p| alive(p)).collect::<Vec<_>>()
    );
}
