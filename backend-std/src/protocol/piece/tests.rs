//! Batches with lent pieces read back as the same batches sent whole.

use super::super::batch::ResultBatch;
use super::super::done::{Answer, decode_done};
use super::super::raw::Raw;
use super::{decode_spliced, seal};
use crate::codec::{self, LEND_FROM};
use crate::task::Status;
use proptest::prelude::*;
use serde::{Serialize, Serializer};

/// A byte string as `serde_bytes` writes one: a single `serialize_bytes`.
struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

/// Encodes its byte string from a temporary dropped right after: what was lent must have
/// been read by then.
struct Temporary(usize);

impl Serialize for Temporary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes = pattern(self.0, 7);
        s.serialize_bytes(&bytes)
    }
}

/// Fails to encode once its byte string is written.
struct FailsAfter(usize);

impl Serialize for FailsAfter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeTuple};
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&Bytes(pattern(self.0, 1)))?;
        t.end()?;
        Err(S::Error::custom("refused after its bytes"))
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

/// One task's value for a batch.
enum Value {
    Bytes(usize),
    Pair(usize, usize),
    Temporary(usize),
    FailsAfter(usize),
    /// Bytes that come with a descriptor (a record of their own).
    WithFd(usize),
}

/// Appends `value` for task `seq` to `batch`, lending to `taken` when it is given.
fn push(
    batch: &mut ResultBatch,
    seq: u64,
    value: &Value,
    max: usize,
    taken: Option<&mut Vec<Vec<u8>>>,
) {
    let mut offer = taken.map(|taken| {
        move |bytes: &[u8]| {
            taken.push(bytes.to_vec());
            true
        }
    });
    let lend = offer.as_mut().map(|o| o as &mut super::Offer<'_>);
    batch.push_lending(seq, max, lend, |out| {
        let lend = out.lend.as_deref_mut();
        let r = match value {
            Value::Bytes(n) => codec::encode_lending(&Bytes(pattern(*n, 0)), out.bytes, lend),
            Value::Pair(a, b) => {
                let pair = (Bytes(pattern(*a, 2)), Bytes(pattern(*b, 3)));
                codec::encode_lending(&pair, out.bytes, lend)
            }
            Value::Temporary(n) => codec::encode_lending(&Temporary(*n), out.bytes, lend),
            Value::FailsAfter(n) => codec::encode_lending(&FailsAfter(*n), out.bytes, lend),
            Value::WithFd(n) => {
                let r = codec::encode_lending(&Bytes(pattern(*n, 4)), out.bytes, lend);
                out.fds
                    .push(std::fs::File::open("/dev/null").unwrap().into());
                r
            }
        };
        match r {
            Ok(_) => Status::Ok,
            Err(e) => {
                out.bytes.extend_from_slice(e.to_string().as_bytes());
                Status::Encode
            }
        }
    });
}

/// What answers say of one value: `(seq, status, bytes)`.
type Said = (u64, Option<Status>, Vec<u8>);

/// What the answers say, value by value.
fn read(answers: Vec<Answer>) -> Vec<Said> {
    let mut out = Vec::new();
    for a in answers {
        let (seq, status) = (a.seq, a.status);
        match a.into_result(1) {
            Ok(Raw::One(body, _)) => out.push((seq, status, body.as_slice().to_vec())),
            Ok(Raw::Spliced(head, tail)) => {
                let mut v = head.as_slice().to_vec();
                v.extend_from_slice(&tail);
                out.push((seq, status.or(Some(Status::Ok)), v));
            }
            Ok(Raw::Run(body, count)) => {
                let mut b = body.as_slice();
                for k in 0..count {
                    let n = u32::from_le_bytes(b[..4].try_into().unwrap()) as usize;
                    let status = if count == 1 { Some(Status::Ok) } else { None };
                    out.push((seq + k as u64, status, b[4..4 + n].to_vec()));
                    b = &b[4 + n..];
                }
            }
            Err(e) => out.push((seq, status, e.to_string().into_bytes())),
        }
    }
    out
}

/// The batch of `values` built whole, and built lending: both must read the same.
fn both_ways(values: &[Value], max: usize) -> (Vec<Said>, Vec<Answer>) {
    let (mut whole, mut lent, mut taken) =
        (ResultBatch::default(), ResultBatch::default(), Vec::new());
    for (seq, v) in values.iter().enumerate() {
        push(&mut whole, seq as u64, v, max, None);
        push(&mut lent, seq as u64, v, max, Some(&mut taken));
    }
    whole.end_run();
    lent.end_run();
    assert!(whole.pieces.is_empty());
    // What the batch stands for is the whole batch's length.
    assert_eq!(lent.len(), whole.bytes.len());
    let fds = std::mem::take(&mut lent.fds);
    let mut bytes = std::mem::take(&mut lent.bytes);
    seal(&mut bytes, &lent.pieces);
    let expected = read(decode_done(whole.bytes, std::mem::take(&mut whole.fds)).unwrap());
    (expected, decode_spliced(bytes, taken, fds).unwrap())
}

const BIG: usize = LEND_FROM + 5;

#[test]
fn a_lone_byte_string_keeps_its_piece_as_its_tail() {
    for value in [Value::Bytes(BIG), Value::Temporary(BIG)] {
        let (expected, answers) = both_ways(&[value], usize::MAX);
        assert!(answers[0].tail.as_ref().is_some_and(|t| t.len() == BIG));
        assert_eq!(read(answers), expected);
    }
    // Decoded, the value takes the piece's buffer itself.
    let (raw, at) = lone_piece();
    raw.decode_each(|v: crate::Result<serde_bytes_like::ByteBuf>| {
        let v = v.unwrap();
        assert_eq!((v.0.len(), v.0.as_ptr()), (BIG, at));
    });
    // Bytes that are not UTF-8, decoded as a `String`: an error, not a panic.
    let (raw, _) = lone_piece();
    raw.decode_each(|v: crate::Result<String>| {
        assert!(matches!(v, Err(crate::Error::Decode(_))), "{v:?}");
    });
}

/// A batch of one lent byte string, read back; and where the piece's bytes are.
fn lone_piece() -> (Raw, *const u8) {
    let mut taken = Vec::new();
    let mut batch = ResultBatch::default();
    let value = Value::Bytes(BIG);
    push(&mut batch, 0, &value, usize::MAX, Some(&mut taken));
    batch.end_run();
    let at = taken[0].as_ptr();
    seal(&mut batch.bytes, &batch.pieces);
    let mut answers = decode_spliced(batch.bytes, taken, Vec::new()).unwrap();
    (answers.remove(0).into_result(1).unwrap(), at)
}

#[test]
fn pieces_among_other_values_read_as_the_whole_batch() {
    let values = [
        Value::Bytes(3),
        Value::Bytes(BIG),
        Value::Pair(BIG, 2 * BIG),
        Value::Bytes(10),
        Value::FailsAfter(BIG),
        Value::Temporary(BIG + 1),
        Value::WithFd(BIG),
        Value::Bytes(BIG),
    ];
    let (expected, answers) = both_ways(&values, usize::MAX);
    assert!(answers.iter().all(|a| a.tail.is_none()));
    let got = read(answers);
    assert_eq!(got.len(), values.len());
    assert_eq!(got, expected);
}

#[test]
fn a_value_too_large_drops_its_pieces() {
    let values = [Value::Bytes(BIG), Value::Bytes(5), Value::Pair(BIG, 1)];
    let (expected, answers) = both_ways(&values, BIG + 2);
    let got = read(answers);
    assert_eq!(got, expected);
    assert_eq!(got[2].1, Some(Status::TooLarge));
}

#[test]
fn malformed_trailers_are_refused() {
    let mut batch = ResultBatch::default();
    let mut taken = Vec::new();
    push(
        &mut batch,
        0,
        &Value::Bytes(BIG),
        usize::MAX,
        Some(&mut taken),
    );
    batch.end_run();
    let records = batch.bytes.clone();
    let at = records.len() as u64;
    let with = |entries: &[(u32, u64)], n: u32| {
        let mut b = records.clone();
        for (i, a) in entries {
            b.extend_from_slice(&i.to_le_bytes());
            b.extend_from_slice(&a.to_le_bytes());
        }
        b.extend_from_slice(&n.to_le_bytes());
        b
    };
    let piece = || vec![taken[0].clone()];
    assert!(decode_spliced(with(&[(0, at)], 1), piece(), Vec::new()).is_ok());
    for (bytes, what) in [
        (with(&[(1, at)], 1), "a piece not taken"),
        (with(&[(0, at + 1)], 1), "a place past the records"),
        (with(&[(0, at)], 2), "more entries than there are"),
        (with(&[(0, 0), (0, at)], 2), "a piece placed twice"),
        (with(&[], 0), "the piece left out: the records fall short"),
        (Vec::new(), "no trailer"),
    ] {
        assert!(
            decode_spliced(bytes, piece(), Vec::new()).is_err(),
            "{what}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary messages and pieces never panic the decoder.
    #[test]
    fn decode_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..96),
        pieces in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 0..3),
    ) {
        let _ = decode_spliced(bytes, pieces, Vec::new()).map(read);
    }
}

mod serde_bytes_like {
    /// A byte buffer that takes what its deserializer hands over (as `serde_bytes::ByteBuf`).
    pub struct ByteBuf(pub Vec<u8>);

    impl<'de> serde::Deserialize<'de> for ByteBuf {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = ByteBuf;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                    Ok(ByteBuf(v))
                }
                fn visit_bytes<E>(self, v: &[u8]) -> Result<ByteBuf, E> {
                    Ok(ByteBuf(v.to_vec()))
                }
            }
            d.deserialize_byte_buf(V)
        }
    }
}
