//! forkpool's large-transfer figures: 64 MiB results, arguments and `Pipe` messages, on the
//! first transfer in a fresh pool or process and after a warm-up, as `mp_compare.py` takes
//! them under Python.

use forkpool::Pool;
use std::time::Instant;

/// A task returning `len` bytes.
fn big(len: usize) -> serde_bytes::ByteBuf {
    serde_bytes::ByteBuf::from(vec![1u8; len])
}

/// Bytes per second of the first task returning `len` bytes in a fresh pool (nothing
/// grown or warm yet, as a program that does this once sees it): the median of three fresh
/// pools, as `mp_compare.py` does. Each pool is terminated and joined before the next
/// starts, as Python's `with` block does, so no pool's teardown overlaps the next sample.
pub fn big_result_first_rate(len: usize) -> f64 {
    median_of_three(|| {
        let pool = Pool::new(1).unwrap();
        let rate = transfer_rate(&pool, len);
        pool.terminate();
        pool.join().unwrap();
        rate
    })
}

/// Bytes per second of a program's first transfer of `len` bytes: one task returning them
/// in the first pool of a fresh process (this bench re-run with `--first-transfer`), which
/// has faulted in nothing of that size before, as a program that does this once: the median
/// of three such processes, as `mp_compare.py` does.
pub fn program_first_transfer_rate(len: usize) -> f64 {
    median_of_three(|| {
        crate::rerun(&["--first-transfer", &len.to_string()])
            .first()
            .copied()
            .unwrap_or(f64::NAN)
    })
}

/// The re-run side of [`program_first_transfer_rate`]: prints the rate of this process's
/// first transfer.
pub fn program_first_transfer_child(len: usize) {
    let pool = Pool::new(1).unwrap();
    println!("{}", transfer_rate(&pool, len));
    pool.terminate();
    pool.join().unwrap();
}

/// [`big_result_first_rate`] with the bytes as a plain `Vec<u8>` (what a Rust program
/// returns without `serde_bytes`).
pub fn big_vec_first_rate(len: usize) -> f64 {
    median_of_three(|| {
        let pool = Pool::new(1).unwrap();
        let t = Instant::now();
        assert_eq!(pool.apply(big_vec, (len,)).unwrap().len(), len);
        let rate = len as f64 / t.elapsed().as_secs_f64();
        pool.terminate();
        pool.join().unwrap();
        rate
    })
}

fn big_vec(len: usize) -> Vec<u8> {
    vec![1u8; len]
}

/// Bytes per second of one task returning `len` bytes (as `serde_bytes::ByteBuf`, Rust's
/// counterpart of Python's `bytes`): after one transfer of that size (buffers grown on both
/// sides), the median of three, as `mp_compare.py` does.
pub fn big_result_rate(len: usize) -> f64 {
    let pool = Pool::new(1).unwrap();
    pool.apply(big, (len,)).unwrap();
    median_of_three(|| transfer_rate(&pool, len))
}

/// How long a task's one argument is.
fn byte_len(b: serde_bytes::ByteBuf) -> usize {
    b.len()
}

/// Bytes per second of the first task taking a `len`-byte argument (a
/// `serde_bytes::ByteBuf`, made before the clock starts) in a fresh pool: the median of
/// three fresh pools, each terminated and joined before the next, as `mp_compare.py` does.
pub fn big_argument_first_rate(len: usize) -> f64 {
    median_of_three(|| {
        let pool = Pool::new(1).unwrap();
        let arg = serde_bytes::ByteBuf::from(vec![1u8; len]);
        let t = Instant::now();
        assert_eq!(pool.apply(byte_len, (arg,)).unwrap(), len);
        let rate = len as f64 / t.elapsed().as_secs_f64();
        pool.terminate();
        pool.join().unwrap();
        rate
    })
}

/// Bytes per second of `len` bytes sent through a `Pipe` to a child `Process`, which
/// answers with one byte once it has them: the median of three children.
pub fn big_pipe_rate(len: usize) -> f64 {
    median_of_three(|| {
        let (ours, theirs) = forkpool::pipe::<serde_bytes::ByteBuf>().unwrap();
        let child = forkpool::Process::<()>::builder()
            .spawn(move || {
                let got = theirs.recv().unwrap();
                theirs
                    .send(&serde_bytes::ByteBuf::from(vec![got.len() as u8]))
                    .unwrap();
            })
            .unwrap();
        let value = serde_bytes::ByteBuf::from(vec![1u8; len]);
        let t = Instant::now();
        ours.send(&value).unwrap();
        ours.recv().unwrap();
        let rate = len as f64 / t.elapsed().as_secs_f64();
        child.join().unwrap();
        rate
    })
}

/// Bytes per second of one task on `pool` returning `len` bytes.
fn transfer_rate(pool: &Pool, len: usize) -> f64 {
    let t = Instant::now();
    let v = pool.apply(big, (len,)).unwrap();
    assert_eq!(v.len(), len);
    len as f64 / t.elapsed().as_secs_f64()
}

/// The median of three samples of `sample`.
fn median_of_three(mut sample: impl FnMut() -> f64) -> f64 {
    let mut v = [sample(), sample(), sample()];
    v.sort_by(f64::total_cmp);
    v[1]
}
