//! `Vec<u8>`, `Box<[u8]>` and `[u8]`, which serde sees as sequences of bytes, travel whole
//! as byte strings do: results, arguments, pipe messages and `Process` values, of every
//! size, alone or inside larger values; and a worker does not copy a large one.

mod common;

use common::bounded;
use forkpool::{Pool, Process};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn boxed(len: usize) -> Box<[u8]> {
    bytes(len).into_boxed_slice()
}

fn tagged(len: usize) -> (u32, Vec<u8>) {
    (len as u32, bytes(len))
}

fn rows(len: usize) -> Vec<Vec<u8>> {
    vec![bytes(3), bytes(len), Vec::new(), bytes(len / 2)]
}

fn before(len: usize) -> (Vec<u8>, String) {
    (bytes(len), "after".into())
}

const LENS: [usize; 6] = [0, 1, 64 << 10, 300_000, (1 << 20) + 3, 8 << 20];

#[test]
fn byte_vector_results_of_each_shape_arrive_whole() {
    let pool = Pool::new(2).unwrap();
    for len in LENS {
        assert_eq!(pool.apply(bytes, (len,)).unwrap(), bytes(len), "{len}");
        assert_eq!(pool.apply(boxed, (len,)).unwrap(), boxed(len), "{len}");
        assert_eq!(pool.apply(tagged, (len,)).unwrap(), tagged(len), "{len}");
        assert_eq!(pool.apply(rows, (len,)).unwrap(), rows(len), "{len}");
        assert_eq!(pool.apply(before, (len,)).unwrap(), before(len), "{len}");
    }
    let got = pool.map_chunked(bytes, LENS, LENS.len()).unwrap();
    assert_eq!(got, LENS.map(bytes));
}

/// What an argument was: its length and the sum of its bytes.
fn measure(v: Vec<u8>) -> (usize, u64) {
    (v.len(), v.iter().map(|&b| u64::from(b)).sum())
}

fn measure_pair(v: Vec<u8>, tail: Box<[u8]>) -> ((usize, u64), (usize, u64)) {
    (measure(v), measure(tail.into_vec()))
}

#[test]
fn byte_vector_arguments_arrive_whole() {
    let pool = Pool::new(2).unwrap();
    for len in LENS {
        let want = measure(bytes(len));
        assert_eq!(pool.apply(measure, (bytes(len),)).unwrap(), want, "{len}");
        let got = pool.apply(measure_pair, (bytes(len), boxed(7))).unwrap();
        assert_eq!(got, (want, measure(bytes(7))), "{len}");
    }
    let got = pool.map(measure, LENS.map(bytes)).unwrap();
    assert_eq!(got, LENS.map(|n| measure(bytes(n))));
}

/// The worker's peak memory (`VmHWM`), in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(u64::MAX)
}

/// A `Vec<u8>` result is lent from the task's own vector, as a byte string is: the worker
/// never holds a second copy (its peak grows by about one value, not two).
#[test]
fn a_worker_does_not_copy_a_large_byte_vector() {
    let pool = Pool::new(1).unwrap();
    let start = pool.apply(peak_kib, ()).unwrap();
    assert_eq!(pool.apply(bytes, (48 << 20,)).unwrap(), bytes(48 << 20));
    let peak = pool.apply(peak_kib, ()).unwrap();
    assert!(
        peak - start < 64 << 10,
        "worker peak memory grew by {} KiB for a 48 MiB result",
        peak - start
    );
}

#[test]
fn byte_vectors_through_a_pipe_and_from_a_process_arrive_whole() {
    let (a, b) = forkpool::pipe::<Vec<u8>>().unwrap();
    let sender = std::thread::spawn(move || {
        b.send(&bytes((2 << 20) + 1)).unwrap();
        b.send(&bytes(10)).unwrap();
    });
    assert_eq!(a.recv().unwrap(), bytes((2 << 20) + 1));
    assert_eq!(a.recv().unwrap(), bytes(10));
    sender.join().unwrap();

    let p = Process::spawn(|| tagged(5 << 20)).unwrap();
    assert_eq!(bounded(LIMIT, move || p.join()).unwrap(), tagged(5 << 20));
    let p = Process::spawn(|| bytes(3 << 20)).unwrap();
    assert_eq!(bounded(LIMIT, move || p.join()).unwrap(), bytes(3 << 20));
}

/// Sends its bytes' sum back over the connection it came with.
fn sum_back(bytes: Vec<u8>, back: forkpool::Connection<u64>) -> usize {
    back.send(&measure(bytes.clone()).1).unwrap();
    bytes.len()
}

/// A large value that carries a descriptor (a `Connection`) beside its byte vector.
#[test]
fn a_byte_vector_beside_a_connection_arrives_whole() {
    let pool = Pool::new(1).unwrap();
    for len in [100, 20_000, 300_000, (1 << 20) + 3] {
        let (ours, theirs) = forkpool::pipe::<u64>().unwrap();
        let got = pool.apply(sum_back, (bytes(len), theirs)).unwrap();
        assert_eq!(got, len);
        assert_eq!(ours.recv().unwrap(), measure(bytes(len)).1, "{len}");
    }
    let (a, b) = forkpool::pipe::<(Vec<u8>, forkpool::Connection<u64>)>().unwrap();
    let (ours, theirs) = forkpool::pipe::<u64>().unwrap();
    b.send(&(bytes(50_000), theirs)).unwrap();
    let (got, conn) = a.recv().unwrap();
    assert_eq!(got, bytes(50_000));
    conn.send(&7).unwrap();
    assert_eq!(ours.recv().unwrap(), 7);
}

fn doubles(len: usize) -> Vec<f64> {
    (0..len as u64)
        .map(|i| f64::from_bits(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
        .collect()
}

fn singles(len: usize) -> (u8, Vec<f32>) {
    (7, (0..len).map(|i| i as f32 / 3.0).collect())
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// What a vector of floats was, bit for bit: its length and the sum of its bits.
fn float_sum(v: Vec<f64>) -> (usize, u64) {
    (
        v.len(),
        v.iter().fold(0u64, |s, f| s.wrapping_add(f.to_bits())),
    )
}

/// Vectors of floats (written as their bytes, in one piece) come back bit for bit, NaNs
/// included, as results and as arguments, small and large (lent).
#[test]
fn float_vectors_arrive_bit_for_bit() {
    let pool = Pool::new(2).unwrap();
    for len in [0, 1, 1000, 200_000, (1 << 20) / 8 + 3] {
        assert_eq!(
            bits(&pool.apply(doubles, (len,)).unwrap()),
            bits(&doubles(len))
        );
        assert_eq!(pool.apply(singles, (len,)).unwrap(), singles(len), "{len}");
        let want = float_sum(doubles(len));
        assert_eq!(
            pool.apply(float_sum, (doubles(len),)).unwrap(),
            want,
            "{len}"
        );
    }
}
