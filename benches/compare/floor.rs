//! The machine's floor, measured in the same run: raw pipes between two forked processes,
//! fork + exit + wait, and how late a sleep wakes up.

use forkpool::Process;
use std::fs::File;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Median round trip of an 8-byte message over two pipes between two processes, in µs.
pub fn pipe_rtt_us(trips: usize) -> f64 {
    let (r1, w1) = nix::unistd::pipe().unwrap();
    let (r2, w2) = nix::unistd::pipe().unwrap();
    let echo = Process::spawn(move || {
        let (mut r, mut w) = (File::from(r1), File::from(w2));
        // The child inherited the parent's ends too, so EOF never comes: stop on a marker.
        let mut buf = [0u8; 8];
        while r.read_exact(&mut buf).is_ok() && buf != [0xff; 8] {
            if w.write_all(&buf).is_err() {
                break;
            }
        }
    })
    .unwrap();
    let (mut w, mut r) = (File::from(w1), File::from(r2));
    let mut buf = [0u8; 8];
    let mut samples: Vec<f64> = (0..trips)
        .map(|i| {
            let t = Instant::now();
            w.write_all(&(i as u64).to_le_bytes()).unwrap();
            r.read_exact(&mut buf).unwrap();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    w.write_all(&[0xff; 8]).unwrap();
    echo.join().unwrap();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Bytes per second through a pipe in 64 KiB writes; `pipe_size` sets the pipe buffer.
pub fn pipe_bandwidth(total: usize, pipe_size: Option<i32>) -> f64 {
    let (r, w) = nix::unistd::pipe().unwrap();
    if let Some(size) = pipe_size {
        nix::fcntl::fcntl(&w, nix::fcntl::FcntlArg::F_SETPIPE_SZ(size)).unwrap();
    }
    let reader = Process::spawn(move || {
        let mut r = File::from(r);
        let mut buf = vec![0u8; 1 << 20];
        // The child inherited the write end too, so read the known total, not to EOF.
        let mut n = 0usize;
        while n < total {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
        n
    })
    .unwrap();
    let mut w = File::from(w);
    let chunk = vec![7u8; 64 * 1024];
    let t = Instant::now();
    let mut sent = 0;
    while sent < total {
        let k = chunk.len().min(total - sent);
        w.write_all(&chunk[..k]).unwrap();
        sent += k;
    }
    drop(w);
    let got = reader.join().unwrap();
    assert_eq!(got, sent);
    sent as f64 / t.elapsed().as_secs_f64()
}

/// Mean time of `fork()` + `_exit` + `waitpid` (through `Process`, so it includes one
/// socketpair), in µs.
pub fn fork_exit_wait_us(n: usize) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        Process::spawn(|| ()).unwrap().join().unwrap();
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// Mean lateness of a 50 ms sleep, in ms.
pub fn sleep_lateness_ms(n: usize) -> f64 {
    let step = Duration::from_millis(50);
    let late: f64 = (0..n)
        .map(|_| {
            let t = Instant::now();
            std::thread::sleep(step);
            (t.elapsed() - step).as_secs_f64() * 1e3
        })
        .sum();
    late / n as f64
}
