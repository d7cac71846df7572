//! Large results of every shape come back whole: a byte string or `String` that is the
//! whole result is handed over in its message buffer (no copy), anything else is decoded
//! as usual; both must give the same values, alone in a message or sharing it.

use forkpool::Pool;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

fn bytes(len: usize) -> ByteBuf {
    ByteBuf::from((0..len).map(|i| (i % 251) as u8).collect::<Vec<u8>>())
}

fn text(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Named(String);

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Tagged {
    tag: u32,
    body: ByteBuf,
}

fn named(len: usize) -> Named {
    Named(text(len))
}

fn tagged(len: usize) -> Tagged {
    Tagged {
        tag: len as u32,
        body: bytes(len),
    }
}

fn plain_vec(len: usize) -> Vec<u8> {
    bytes(len).into_vec()
}

#[test]
fn large_results_of_each_shape_arrive_whole() {
    let pool = Pool::new(2).unwrap();
    for len in [0, 1, 64 << 10, (1 << 20) + 3, 8 << 20] {
        assert_eq!(pool.apply(bytes, (len,)).unwrap(), bytes(len), "{len}");
        assert_eq!(pool.apply(text, (len,)).unwrap(), text(len), "{len}");
        assert_eq!(pool.apply(named, (len,)).unwrap(), named(len), "{len}");
        assert_eq!(pool.apply(tagged, (len,)).unwrap(), tagged(len), "{len}");
    }
    assert_eq!(
        pool.apply(plain_vec, (300_000,)).unwrap(),
        plain_vec(300_000)
    );
}

#[test]
fn large_and_small_results_sharing_messages() {
    let pool = Pool::new(2).unwrap();
    let lens = [3, 200_000, 5, 1 << 20, 7, 0, 70_000, 70_000];
    // One chunk: the results share one message, the big ones last or in between.
    let got = pool.map_chunked(text, lens, lens.len()).unwrap();
    let want: Vec<String> = lens.iter().map(|&n| text(n)).collect();
    assert_eq!(got, want);
    let got: Vec<ByteBuf> = pool
        .imap(bytes, lens)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, lens.map(bytes));
}

/// The worker's resident memory, in KiB (from `/proc/self/status`).
fn worker_rss_kib(_: ()) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(u64::MAX)
}

#[test]
fn a_worker_does_not_keep_a_large_result_buffer() {
    let pool = Pool::new(1).unwrap();
    assert_eq!(pool.apply(bytes, (48 << 20,)).unwrap().len(), 48 << 20);
    let rss = pool.apply(worker_rss_kib, ((),)).unwrap();
    assert!(
        rss < 16 << 10,
        "worker RSS after a 48 MiB result: {rss} KiB"
    );
}
