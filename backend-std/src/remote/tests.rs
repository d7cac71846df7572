//! The remote transport end to end, without MPI: a root and node agents in one process (the
//! agents on threads), joined by an in-memory [`Link`]. Each agent forks its own workers.

use super::{Cluster, Link, agent::serve_as, fingerprint, serve};
use crate::error::{Error, ExitCause};
use crate::pool::Pool;
use std::io;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One peer's end of an in-memory network.
struct Port {
    me: usize,
    peers: Vec<Sender<(usize, Vec<u8>)>>,
    inbox: Mutex<Receiver<(usize, Vec<u8>)>>,
}

impl Link for Port {
    fn send(&self, to: usize, message: &[u8]) -> io::Result<()> {
        self.peers[to]
            .send((self.me, message.to_vec()))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }

    fn recv(&self) -> io::Result<(usize, Vec<u8>)> {
        self.inbox
            .lock()
            .unwrap()
            .recv()
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }
}

/// A network of `n` peers.
fn network(n: usize) -> Vec<Arc<Port>> {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..n).map(|_| channel()).unzip();
    receivers
        .into_iter()
        .enumerate()
        .map(|(me, inbox)| {
            Arc::new(Port {
                me,
                peers: senders.clone(),
                inbox: Mutex::new(inbox),
            })
        })
        .collect()
}

/// A root (peer 0) and `agents` agents with the given fingerprints (`None`: this
/// executable's), each serving on its own thread.
fn cluster(prints: &[Option<u64>]) -> (Cluster, Vec<JoinHandle<crate::Result<()>>>) {
    let mut ports = network(prints.len() + 1).into_iter();
    let root = ports.next().unwrap();
    let agents = ports
        .zip(prints)
        .map(|(port, &print)| {
            std::thread::spawn(move || match print {
                None => serve(port, 0),
                Some(p) => serve_as(port, 0, p),
            })
        })
        .collect();
    let cluster = Cluster::new(root, (1..=prints.len()).collect()).unwrap();
    (cluster, agents)
}

fn square(x: u64) -> u64 {
    x * x
}

fn abort_on_7(x: u64) -> u64 {
    if x == 7 {
        std::process::abort();
    }
    x + 1
}

/// Appends `x` to the file at `path` (one `write` with `O_APPEND`: whole lines), then
/// aborts the process if `x` is 7.
fn record_then_abort_on_7((x, path): (u64, String)) -> u64 {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(format!("{x}\n").as_bytes()).unwrap();
    if x == 7 {
        std::process::abort();
    }
    x
}

fn send_hello(conn: crate::Connection<String>) -> bool {
    conn.send(&"hello".to_owned()).is_ok()
}

fn sleepy(ms: u64) -> u64 {
    std::thread::sleep(std::time::Duration::from_millis(ms));
    ms
}

fn ends(agents: Vec<JoinHandle<crate::Result<()>>>) {
    for a in agents {
        a.join().unwrap().unwrap();
    }
}

#[test]
fn pools_on_node_agents_run_every_kind_of_call() {
    let (cluster, agents) = cluster(&[None, None]);
    {
        let pool = cluster.pool(Pool::builder()).unwrap();
        assert_eq!(pool.processes(), 2);
        assert_eq!(pool.apply(square, (9,)).unwrap(), 81);
        let want: Vec<u64> = (0..500).map(|x| x * x).collect();
        assert_eq!(pool.map(square, 0..500).unwrap(), want);
        let got: Vec<u64> = pool.imap(square, 0..500).unwrap().map(Result::unwrap).collect();
        assert_eq!(got, want);
        let mut got: Vec<u64> = pool
            .imap_unordered(square, 0..500)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        got.sort_unstable();
        assert_eq!(got, want);
        let r = pool.apply_async(square, (12,)).unwrap();
        assert_eq!(r.get().unwrap(), 144);
        pool.close();
        pool.join().unwrap();
    }
    cluster.shutdown().unwrap();
    ends(agents);
}

#[test]
fn a_task_that_kills_its_process_fails_alone_and_the_agents_carry_on() {
    let (cluster, agents) = cluster(&[None, None]);
    {
        // Deep pipelines (the default): the dying worker holds queued tasks too; each runs
        // once elsewhere, and every result computed before the crash is kept.
        let pool = cluster.pool(Pool::builder().processes(3)).unwrap();
        let results: Vec<_> = pool.imap(abort_on_7, 0..400).unwrap().collect();
        for (x, r) in results.iter().enumerate() {
            match (x, r) {
                (7, Err(Error::WorkerDied { cause, .. })) => {
                    assert!(
                        matches!(cause, ExitCause::Signaled { name: "SIGABRT", .. }),
                        "{cause}"
                    );
                }
                (7, other) => panic!("task 7: {other:?}"),
                (x, Ok(v)) => assert_eq!(*v, x as u64 + 1),
                (x, Err(e)) => panic!("task {x} failed: {e}"),
            }
        }
        // The pool replaced the worker and goes on.
        assert_eq!(pool.map(square, 0..50).unwrap()[49], 49 * 49);
    }
    cluster.shutdown().unwrap();
    ends(agents);
}

#[test]
fn a_remote_crash_in_a_deep_pipeline_runs_every_other_task_exactly_once() {
    let dir = std::env::temp_dir().join(format!("forkpool-remote-{}", std::process::id()));
    std::fs::write(&dir, b"").unwrap();
    let path = dir.to_str().unwrap().to_owned();
    let (cluster, agents) = cluster(&[None, None]);
    {
        let pool = cluster.pool(Pool::builder().processes(2)).unwrap();
        let args: Vec<(u64, String)> = (0..2000).map(|x| (x, path.clone())).collect();
        for (x, r) in pool.imap(record_then_abort_on_7, args).unwrap().enumerate() {
            match r {
                Err(Error::WorkerDied { .. }) if x == 7 => {}
                Ok(v) if x != 7 => assert_eq!(v, x as u64),
                other => panic!("task {x}: {other:?}"),
            }
        }
    }
    cluster.shutdown().unwrap();
    ends(agents);
    let text = std::fs::read_to_string(&dir).unwrap();
    let _ = std::fs::remove_file(&dir);
    let mut runs = vec![0u32; 2000];
    for line in text.lines() {
        runs[line.parse::<usize>().unwrap()] += 1;
    }
    // Every task ran once: none lost with the crashed worker, none run again.
    let wrong: Vec<_> = runs.iter().enumerate().filter(|(_, n)| **n != 1).collect();
    assert!(wrong.is_empty(), "tasks not run exactly once: {wrong:?}");
}

#[test]
fn a_connection_in_a_remote_task_fails_that_task_saying_why() {
    let (cluster, agents) = cluster(&[None]);
    {
        let pool = cluster.pool(Pool::builder()).unwrap();
        let (_keep, theirs) = crate::pipe::<String>().unwrap();
        match pool.apply(send_hello, (theirs,)) {
            Err(Error::Decode(message)) => {
                assert!(message.contains("another machine"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // The worker is fine: the next task runs.
        assert_eq!(pool.apply(square, (3,)).unwrap(), 9);
    }
    cluster.shutdown().unwrap();
    ends(agents);
}

#[test]
fn a_remote_task_past_its_deadline_is_stopped_on_its_node_and_fails_alone() {
    use std::time::Duration;
    let (cluster, agents) = cluster(&[None, None]);
    {
        let pool = cluster.pool(Pool::builder()).unwrap();
        let limit = crate::AsyncOptions::new().timeout(Duration::from_millis(200));
        let stuck = pool.apply_async_with(sleepy, (60_000,), limit).unwrap();
        let fine = pool.apply_async(sleepy, (300,)).unwrap();
        assert!(matches!(stuck.get(), Err(Error::TimedOut { .. })));
        assert_eq!(fine.get().unwrap(), 300);
        // Replaced on a node: the pool has its two workers again and runs tasks.
        assert_eq!(pool.map(square, 0..20).unwrap()[19], 361);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while pool.pids().len() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(pool.pids().len(), 2);
        // `terminate` stops what is still running on the nodes.
        let _long = pool.apply_async(sleepy, (60_000,)).unwrap();
        pool.terminate();
        pool.join().unwrap();
    }
    cluster.shutdown().unwrap();
    ends(agents);
}

#[test]
fn an_agent_running_another_executable_refuses_to_start_workers() {
    let (cluster, agents) = cluster(&[Some(fingerprint() ^ 1)]);
    let err = cluster
        .pool(Pool::builder().processes(1).max_restarts(1, std::time::Duration::from_secs(1)))
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("another executable"), "{text}");
    cluster.shutdown().unwrap();
    ends(agents);
}
