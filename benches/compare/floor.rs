//! The machine's floor, measured in the same run: raw pipes between two forked processes,
//! fork + exit + wait, the bare process work of a pool's start-up and shut-down, the seed's
//! `Process` walk-through done with bare `fork(2)`, filling fresh memory, and how late a
//! sleep wakes up.

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

/// Bytes per second written into `len` bytes of fresh memory (`vec![1u8; len]`, as the
/// 64 MiB task itself does): page faults and zeroing by the kernel, and on this VM the host
/// backing pages it handed back (free page reporting). The median of 5.
pub fn fresh_memory_fill(len: usize) -> f64 {
    let mut v: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let buf = std::hint::black_box(vec![1u8; len]);
            let secs = t.elapsed().as_secs_f64();
            drop(buf);
            len as f64 / secs
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[2]
}

/// The process floors, measured in a fresh process (this bench re-run with `--floor-fork`)
/// as a user's program would see them: this one grows with the other figures, and a fork
/// of it costs several times as much after a round. Returns `(fork_us, four_ms)`: see
/// [`fork_exit_wait_us`] and [`four_up_down_ms`].
pub fn process_floors() -> (f64, f64) {
    let got = crate::rerun(&["--floor-fork"]);
    let at = |i: usize| got.get(i).copied().unwrap_or(f64::NAN);
    (at(0), at(1))
}

/// The re-run side of [`process_floors`]: prints both figures.
pub fn process_floors_child() {
    println!("{} {}", fork_exit_wait_us(200), four_up_down_ms(31));
}

/// Mean time of `fork()` + `_exit` + `waitpid` (through `Process`, so it includes one
/// socketpair), in µs.
fn fork_exit_wait_us(n: usize) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        Process::spawn(|| ()).unwrap().join().unwrap();
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// The skeleton of a 4-worker pool's start-up + shut-down with no library work in it: fork
/// 4 processes, hear one byte from each, tell each to leave, reap all 4. Median of `n`, in
/// ms.
fn four_up_down_ms(n: usize) -> f64 {
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            let (up_r, up_w) = nix::unistd::pipe().unwrap();
            let (go_r, go_w) = nix::unistd::pipe().unwrap();
            let t = Instant::now();
            let children: Vec<Process<()>> = (0..4)
                .map(|_| {
                    let (up, go) = (up_w.try_clone().unwrap(), go_r.try_clone().unwrap());
                    Process::spawn(move || {
                        let _ = File::from(up).write_all(b"u");
                        let _ = File::from(go).read_exact(&mut [0u8]);
                    })
                    .unwrap()
                })
                .collect();
            File::from(up_r).read_exact(&mut [0u8; 4]).unwrap();
            File::from(go_w).write_all(b"gggg").unwrap();
            for c in children {
                c.join().unwrap();
            }
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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

/// The seed's `Process` variant with nothing but the kernel's calls: `fork(2)` five
/// children that compute the factorials with the seed's sleeps (`step_ms` each), each
/// writing its answer to a pipe; read the answers, `waitpid` each. Seconds over the ideal,
/// in a fresh process (this bench re-run with `--seed-floor`), as the seed itself runs.
pub fn seed_process_floor() -> f64 {
    crate::rerun(&["--seed-floor"])
        .first()
        .copied()
        .unwrap_or(f64::NAN)
}

/// The re-run side of [`seed_process_floor`].
pub fn seed_process_floor_child() {
    use nix::unistd::{ForkResult, fork, pipe, write};
    const VAR: [u64; 5] = [4, 8, 12, 20, 16];
    let step = Duration::from_millis(50);
    let t = Instant::now();
    let mut children = Vec::new();
    for x in VAR {
        let (r, w) = pipe().unwrap();
        // SAFETY: this process is single-threaded here (a fresh re-run of the bench; the
        // fork server is a process of its own), so the child may run anything; it only
        // sleeps, multiplies, writes to a pipe and leaves with `_exit`.
        match unsafe { fork() }.unwrap() {
            ForkResult::Child => {
                let (mut ans, mut y) = (1u64, x);
                while y > 1 {
                    ans *= y;
                    std::thread::sleep(step);
                    y -= 1;
                }
                let _ = write(&w, &ans.to_le_bytes());
                // SAFETY: `_exit` ends the child at once, without running the parent's
                // destructors or `atexit` handlers that the fork copied.
                unsafe { libc::_exit(0) };
            }
            ForkResult::Parent { child } => {
                drop(w);
                children.push((child, File::from(r)));
            }
        }
    }
    for (pid, mut r) in children {
        let _ = r.read_exact(&mut [0u8; 8]);
        let _ = nix::sys::wait::waitpid(pid, None);
    }
    println!("{}", t.elapsed().as_secs_f64() - 0.95);
}
