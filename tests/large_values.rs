//! Large results of every shape come back whole: a byte string or `String` that is the
//! whole result is handed over in its message buffer (no copy), anything else is decoded
//! as usual; both must give the same values, alone in a message or sharing it. The same
//! for large arguments (a task's one argument may take its message buffer; a large job
//! travels in a message that shares its bytes) and for large `Connection` messages.

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

/// A figure of the worker's memory from `/proc/self/status`, in KiB: `VmRSS` (resident
/// now) or `VmHWM` (its peak).
fn worker_memory_kib(field: String) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field.as_str())?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(u64::MAX)
}

#[test]
fn a_worker_does_not_keep_a_large_result_buffer() {
    let pool = Pool::new(1).unwrap();
    assert_eq!(pool.apply(bytes, (48 << 20,)).unwrap().len(), 48 << 20);
    let rss = pool.apply(worker_memory_kib, ("VmRSS".into(),)).unwrap();
    assert!(
        rss < 16 << 10,
        "worker RSS after a 48 MiB result: {rss} KiB"
    );
}

/// A large byte string result is read from the task's own value while the worker encodes
/// it: the worker never holds a second copy (peak memory about one value, not two).
#[test]
fn a_worker_does_not_copy_a_large_result() {
    let pool = Pool::new(1).unwrap();
    let before = pool.apply(worker_memory_kib, ("VmHWM".into(),)).unwrap();
    assert_eq!(pool.apply(bytes, (48 << 20,)).unwrap(), bytes(48 << 20));
    let peak = pool.apply(worker_memory_kib, ("VmHWM".into(),)).unwrap();
    assert!(
        peak - before < 64 << 10,
        "worker peak memory grew by {} KiB for a 48 MiB result",
        peak - before
    );
}

/// A byte string encoded from a temporary copy (freed as soon as `serialize_bytes`
/// returns).
#[derive(Deserialize, PartialEq, Debug)]
struct Copied(ByteBuf);

impl Serialize for Copied {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let temporary: Vec<u8> = self.0.iter().copied().collect();
        s.serialize_bytes(&temporary)
    }
}

fn copied(len: usize) -> Copied {
    Copied(bytes(len))
}

/// Two byte strings, the second encoded from a temporary, then a number; encoding panics
/// after the byte strings when the number is 0.
#[derive(Deserialize, PartialEq, Debug)]
struct Fails(ByteBuf, Copied, u8);

impl Serialize for Fails {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTupleStruct;
        let mut t = s.serialize_tuple_struct("Fails", 3)?;
        t.serialize_field(&self.0)?;
        t.serialize_field(&self.1)?;
        assert!(self.2 != 0, "fails after its byte strings");
        t.serialize_field(&self.2)?;
        t.end()
    }
}

fn fails((len, panics): (usize, bool)) -> Fails {
    Fails(bytes(len), copied(len / 2), u8::from(!panics))
}

/// Whatever a value's `Serialize` does with its large byte strings (hands over a
/// temporary, or panics after handing them over), what arrives is what it encoded, and a
/// value that fails fails alone.
#[test]
fn large_byte_strings_from_any_serialize_arrive_whole() {
    let pool = Pool::new(2).unwrap();
    for len in [(1 << 20) + 1, 6 << 20] {
        assert_eq!(pool.apply(copied, (len,)).unwrap(), copied(len));
        let got = pool.apply(fails, ((len, false),)).unwrap();
        assert_eq!(got, fails((len, false)));
        let err = pool.apply(fails, ((len, true),)).unwrap_err();
        assert!(err.to_string().contains("fails after"), "{err}");
    }
    // In one chunk (one message of results), failing values between good ones.
    let args = [
        (3 << 20, false),
        (2 << 20, true),
        (5, false),
        (1 << 20, true),
    ];
    let got: Vec<_> = pool.imap_chunked(fails, args, 4).unwrap().collect();
    for (arg, got) in args.into_iter().zip(got) {
        match got {
            Ok(v) => assert_eq!((v, arg.1), (fails(arg), false)),
            Err(e) => assert!(arg.1 && e.to_string().contains("fails after"), "{e}"),
        }
    }
}

/// What a task's arguments were: each one's length and the sum of its bytes.
fn measure_bytes(b: ByteBuf) -> (usize, u64) {
    (b.len(), b.iter().map(|&x| u64::from(x)).sum())
}

fn measure_text(s: String) -> (usize, u64) {
    (s.len(), s.bytes().map(u64::from).sum())
}

fn measure_tagged(t: Tagged) -> (u32, usize, u64) {
    let (len, sum) = measure_bytes(t.body);
    (t.tag, len, sum)
}

fn measure_two(a: ByteBuf, b: String) -> (usize, u64, usize, u64) {
    let (a, b) = (measure_bytes(a), measure_text(b));
    (a.0, a.1, b.0, b.1)
}

#[test]
fn large_arguments_of_each_shape_arrive_whole() {
    let pool = Pool::new(2).unwrap();
    for len in [0, 1, 64 << 10, 300_000, (1 << 20) + 3, 8 << 20] {
        let b = bytes(len);
        let want = (len, b.iter().map(|&x| u64::from(x)).sum::<u64>());
        assert_eq!(
            pool.apply(measure_bytes, (b.clone(),)).unwrap(),
            want,
            "{len}"
        );
        let t = text(len);
        let want_text = (len, t.bytes().map(u64::from).sum::<u64>());
        assert_eq!(pool.apply(measure_text, (t.clone(),)).unwrap(), want_text);
        let tagged = Tagged {
            tag: 9,
            body: b.clone(),
        };
        assert_eq!(
            pool.apply(measure_tagged, (tagged,)).unwrap(),
            (9, want.0, want.1)
        );
        let two = pool.apply(measure_two, (b, t)).unwrap();
        assert_eq!(two, (want.0, want.1, want_text.0, want_text.1));
    }
}

fn measure_vec(v: Vec<u8>) -> (usize, u64) {
    (v.len(), v.iter().map(|&x| u64::from(x)).sum())
}

fn measure_count_then_bytes(n: u64, b: ByteBuf) -> (u64, usize, u64) {
    let (len, sum) = measure_bytes(b);
    (n, len, sum)
}

fn measure_float_then_bytes(x: f64, b: ByteBuf) -> (u64, usize, u64) {
    let (len, sum) = measure_bytes(b);
    (x.to_bits(), len, sum)
}

/// A large job's lone argument that looks like one byte string from its first bytes (a
/// length, then that many bytes to the end) is read apart, and the task's value takes it
/// (`protocol::run_far`); a value that only looks so (a count that equals the bytes after
/// it) is decoded whole all the same.
#[test]
fn large_arguments_of_every_layout_arrive_whole() {
    let pool = Pool::new(1).unwrap();
    for len in [(1 << 20) - 8, 1 << 20, (1 << 20) + 1, 3 << 20] {
        let want = measure_bytes(bytes(len));
        assert_eq!(pool.apply(measure_bytes, (bytes(len),)).unwrap(), want);
        assert_eq!(pool.apply(measure_vec, (plain_vec(len),)).unwrap(), want);
        let t = text(len);
        let want_text = (len, t.bytes().map(u64::from).sum::<u64>());
        assert_eq!(pool.apply(measure_text, (t,)).unwrap(), want_text);
        // The count is as long as the byte string and its own length prefix after it.
        // (postcard writes a length as a varint: 7 bits a byte.)
        let varint_len = |n: usize| (usize::BITS - n.leading_zeros()).div_ceil(7) as usize;
        let prefix = varint_len(len);
        let n = (len + prefix) as u64;
        let got = pool
            .apply(measure_count_then_bytes, (n, bytes(len)))
            .unwrap();
        assert_eq!(got, (n, want.0, want.1), "{len}");
        // A float whose first `k` bytes read as such a count (of the float's other bytes
        // and the byte string): the float would be read from both sides of the split.
        let k = (1..8)
            .find(|&k| varint_len(8 - k + prefix + len) == k)
            .unwrap();
        let (mut bits, mut at, mut left) = ([0u8; 8], 0, 8 - k + prefix + len);
        while left >= 0x80 {
            bits[at] = (left as u8) | 0x80;
            left >>= 7;
            at += 1;
        }
        bits[at] = left as u8;
        let x = f64::from_le_bytes(bits);
        let got = pool
            .apply(measure_float_then_bytes, (x, bytes(len)))
            .unwrap();
        assert_eq!(got, (x.to_bits(), want.0, want.1), "{len}");
    }
}

#[test]
fn large_and_small_arguments_in_one_call_keep_their_order() {
    let pool = Pool::new(2).unwrap();
    let lens = [3usize, 400_000, 5, 1 << 20, 7, 0, 300_000, 70_000];
    let want: Vec<_> = lens.iter().map(|&n| measure_bytes(bytes(n))).collect();
    for chunk in [1, 3, lens.len()] {
        let got = pool
            .map_chunked(measure_bytes, lens.map(bytes), chunk)
            .unwrap();
        assert_eq!(got, want, "chunk {chunk}");
    }
    let got: Vec<_> = (0..3)
        .flat_map(|_| lens.map(|n| pool.apply_async(measure_bytes, (bytes(n),)).unwrap()))
        .map(|r| r.get().unwrap())
        .collect();
    assert_eq!(got, [want.clone(), want.clone(), want].concat());
}

#[test]
fn large_messages_through_a_pipe_arrive_whole() {
    let (a, b) = forkpool::pipe::<ByteBuf>().unwrap();
    let big = bytes((2 << 20) + 1);
    let sender = std::thread::spawn(move || {
        b.send(&big).unwrap();
        b.send(&bytes(10)).unwrap();
        b.recv().unwrap()
    });
    assert_eq!(a.recv().unwrap(), bytes((2 << 20) + 1));
    assert_eq!(a.recv().unwrap(), bytes(10));
    a.send(&bytes(3 << 20)).unwrap();
    assert_eq!(sender.join().unwrap(), bytes(3 << 20));

    // Byte vectors and strings go from their own memory: every size arrives whole.
    let (a, b) = forkpool::pipe::<Vec<u8>>().unwrap();
    let (s, t) = forkpool::pipe::<String>().unwrap();
    let lens = [0, 1, 127, 128, 70_000, (3 << 20) + 5];
    let sender = std::thread::spawn(move || {
        for len in lens {
            b.send(&plain_vec(len)).unwrap();
            t.send(&text(len)).unwrap();
        }
    });
    for len in lens {
        assert_eq!(a.recv().unwrap(), plain_vec(len));
        assert_eq!(s.recv().unwrap(), text(len));
    }
    sender.join().unwrap();

    let (a, b) = forkpool::pipe::<Named>().unwrap();
    let sender = std::thread::spawn(move || b.send(&named(5 << 20)).unwrap());
    assert_eq!(a.recv().unwrap(), named(5 << 20));
    sender.join().unwrap();
}
