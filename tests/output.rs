//! What tasks and `Process` children print reaches the output, as in Python: the part of a
//! line without its newline too, and a child may print while other threads of its parent
//! do.

mod common;

use common::bounded;
use forkpool::{Pool, Process};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// A file of the test's own, empty.
fn scratch(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("forkpool-output-{name}-{}", std::process::id()));
    std::fs::write(&path, b"").unwrap();
    path
}

/// Points this process's standard output at `path` (appending). Written through
/// `std::io::stdout()` itself, not `print!`, which the test harness captures.
fn stdout_to(path: &str) {
    let file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    nix::unistd::dup2_stdout(&file).unwrap();
}

/// Prints `x` without a newline into the file at `path`, from a pool's worker.
fn print_partly((x, path): (u64, String)) -> u64 {
    stdout_to(&path);
    std::io::stdout()
        .write_all(format!("<{x}>").as_bytes())
        .unwrap();
    x
}

#[test]
fn a_task_s_output_without_a_newline_is_written_when_its_worker_leaves() {
    let path = scratch("task");
    let p = path.to_str().unwrap().to_owned();
    bounded(LIMIT, move || {
        let pool = Pool::new(2).unwrap();
        let args: Vec<_> = (0..6).map(|x| (x, p.clone())).collect();
        assert_eq!(pool.map(print_partly, args).unwrap().len(), 6);
        pool.close();
        pool.join().unwrap();
    });
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    for x in 0..6 {
        assert!(text.contains(&format!("<{x}>")), "{text:?}");
    }
}

#[test]
fn a_child_s_output_without_a_newline_is_written_when_it_ends() {
    let path = scratch("child");
    let p = path.to_str().unwrap().to_owned();
    let child = Process::spawn(move || {
        stdout_to(&p);
        std::io::stdout().write_all(b"no newline").unwrap();
    })
    .unwrap();
    bounded(LIMIT, move || child.join()).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(text, "no newline");
}

/// A child forked while another thread of its parent holds stdout's lock would wait for
/// that lock for ever at its first print: the thread holding it does not exist in the
/// child. `Process::spawn` forks holding the lock itself, so no other thread holds it then.
#[test]
fn children_print_while_another_thread_prints_all_the_time() {
    let stop = Arc::new(AtomicBool::new(false));
    let printer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let out = std::io::stdout().lock();
                // Held about half the time, a while each, as long writes would.
                let until = std::time::Instant::now() + Duration::from_micros(50);
                while std::time::Instant::now() < until {
                    std::hint::spin_loop();
                }
                drop(out);
                let until = std::time::Instant::now() + Duration::from_micros(50);
                while std::time::Instant::now() < until {
                    std::thread::yield_now();
                }
            }
        })
    };
    let devnull = std::fs::File::options()
        .write(true)
        .open("/dev/null")
        .unwrap();
    for _ in 0..30 {
        let out = devnull.try_clone().unwrap();
        let mut child = Process::spawn(move || {
            nix::unistd::dup2_stdout(&out).unwrap();
            std::io::stdout().write_all(b"from the child\n").unwrap();
            1
        })
        .unwrap();
        assert_eq!(child.join_timeout(Duration::from_secs(10)).unwrap(), 1);
    }
    stop.store(true, Ordering::Relaxed);
    printer.join().unwrap();
}

/// A child whose last output cannot be written yet (its stdout is a full pipe nobody reads
/// for now): `join_timeout` keeps its bound while the child waits to write, and the value
/// comes once the pipe is read. (The child flushes before it answers: flushing after, the
/// parent's reap waited on it without a bound.)
#[test]
fn join_timeout_keeps_its_bound_while_a_child_waits_to_write_its_output() {
    let (r, w) = nix::unistd::pipe().unwrap();
    // Fill the pipe: written without blocking until it is full.
    let flags = nix::fcntl::fcntl(&w, nix::fcntl::FcntlArg::F_GETFL).unwrap();
    let nonblocking = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(&w, nix::fcntl::FcntlArg::F_SETFL(nonblocking)).unwrap();
    let mut filled = 0;
    while let Ok(n) = nix::unistd::write(&w, &[b'x'; 4096]) {
        filled += n;
    }
    nix::fcntl::fcntl(
        &w,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::from_bits_truncate(flags)),
    )
    .unwrap();
    let mut child = Process::spawn(move || {
        nix::unistd::dup2_stdout(&w).unwrap();
        std::io::stdout().write_all(b"the end").unwrap();
        5u8
    })
    .unwrap();
    let waited = bounded(LIMIT, move || {
        let first = child.join_timeout(Duration::from_millis(200));
        (first, child)
    });
    let (first, mut child) = waited;
    assert!(matches!(first, Err(forkpool::Error::Timeout)), "{first:?}");
    // Read the pipe: the child writes its output, then answers.
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        std::io::Read::read_to_end(&mut std::fs::File::from(r), &mut all).unwrap();
        all
    });
    assert_eq!(child.join_timeout(Duration::from_secs(20)).unwrap(), 5);
    drop(child);
    let all = reader.join().unwrap();
    assert_eq!(all.len(), filled + b"the end".len());
    assert!(all.ends_with(b"the end"));
}
