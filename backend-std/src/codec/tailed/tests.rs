//! A value's last byte string takes the tail wherever it sits; the rest decodes as
//! postcard decodes the whole.

use super::super::{decode_owned, decode_spliced};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A byte string as `serde_bytes` has one: `serialize_bytes`, `deserialize_byte_buf`.
#[derive(Debug, PartialEq, Clone)]
struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Shape {
    A(u8),
    B { x: Option<u16>, s: String },
    C(Vec<u32>, bool),
    D,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Last {
    Pair(i16, Bytes),
    Named { s: String, b: Bytes },
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Outer {
    shapes: Vec<Shape>,
    meta: Option<(i64, char)>,
    map: BTreeMap<u8, String>,
    last: Option<Last>,
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        any::<u8>().prop_map(Shape::A),
        (any::<Option<u16>>(), ".{0,8}").prop_map(|(x, s)| Shape::B { x, s }),
        (proptest::collection::vec(any::<u32>(), 0..4), any::<bool>())
            .prop_map(|(v, b)| Shape::C(v, b)),
        Just(Shape::D),
    ]
}

fn bytes() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 1..300).prop_map(Bytes)
}

fn outer() -> impl Strategy<Value = Outer> {
    let last = prop_oneof![
        (any::<i16>(), bytes()).prop_map(|(n, b)| Last::Pair(n, b)),
        (".{0,8}", bytes()).prop_map(|(s, b)| Last::Named { s, b }),
    ];
    (
        proptest::collection::vec(shape(), 0..4),
        any::<Option<(i64, char)>>(),
        proptest::collection::btree_map(any::<u8>(), ".{0,4}", 0..3),
        last,
    )
        .prop_map(|(shapes, meta, map, last)| Outer {
            shapes,
            meta,
            map,
            last: Some(last),
        })
}

/// `value`'s encoding cut before its last `tail` bytes; decoded, and whether the byte
/// string decoded from the tail is the tail's own buffer.
fn spliced<T: Serialize + serde::de::DeserializeOwned>(value: &T, tail: usize) -> (T, *const u8) {
    let whole = postcard::to_allocvec(value).unwrap();
    let (head, tail) = whole.split_at(whole.len() - tail);
    let tail = tail.to_vec();
    let at = tail.as_ptr();
    (decode_spliced(head, tail).unwrap(), at)
}

/// `value` decoded from a message buffer, behind `at` bytes of something else.
fn owned<T: Serialize + serde::de::DeserializeOwned>(value: &T, at: usize) -> T {
    let mut buf = vec![0xAA; at];
    buf.extend(postcard::to_allocvec(value).unwrap());
    let len = buf.len();
    decode_owned(buf, at..len).unwrap()
}

fn last_bytes(o: &Outer) -> &Bytes {
    match o.last.as_ref().unwrap() {
        Last::Pair(_, b) | Last::Named { b, .. } => b,
    }
}

/// Byte vectors, which serde sees as sequences of `u8` (written as byte strings).
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Vectors {
    head: Vec<u8>,
    n: u32,
    rows: Vec<Vec<u8>>,
    last: Vec<u8>,
}

fn vectors() -> impl Strategy<Value = Vectors> {
    let v = || proptest::collection::vec(any::<u8>(), 0..300);
    (v(), any::<u32>(), proptest::collection::vec(v(), 0..3), proptest::collection::vec(any::<u8>(), 1..300))
        .prop_map(|(head, n, rows, last)| Vectors { head, n, rows, last })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A whole value in a message buffer (`owned.rs`, which reads below the top of the
    /// value as a value without a tail is read here) decodes as postcard decodes it.
    #[test]
    fn whole_values_decode_as_postcard_decodes_them(o in outer(), v in vectors(), at in 0usize..8) {
        prop_assert_eq!(owned(&o, at), o.clone());
        let pair = (v.clone(), 5u8);
        prop_assert_eq!(owned(&pair, at), pair);
        let some = (Some(v.head.clone()), v.n);
        prop_assert_eq!(owned(&some, at), some);
    }

    /// A byte vector that ends a value takes the tail; those before it decode from the
    /// head.
    #[test]
    fn the_last_byte_vector_takes_the_tail(v in vectors()) {
        let (got, at) = spliced(&v, v.last.len());
        prop_assert_eq!(&got, &v);
        prop_assert_eq!(got.last.as_ptr(), at);
    }

    /// A byte string that ends a value, however deep, takes the tail; the value is
    /// the one postcard decodes from the whole.
    #[test]
    fn the_last_byte_string_takes_the_tail(o in outer()) {
        let (got, at) = spliced(&o, last_bytes(&o).0.len());
        prop_assert_eq!(&got, &o);
        prop_assert_eq!(last_bytes(&got).0.as_ptr(), at);
    }

    /// The last element of a sequence, the last value of a map.
    #[test]
    fn in_sequences_and_maps(v in proptest::collection::vec(bytes(), 1..4), k in any::<u8>()) {
        let n = v.last().unwrap().0.len();
        let (got, at) = spliced(&v, n);
        prop_assert_eq!(&got, &v);
        prop_assert_eq!(got.last().unwrap().0.as_ptr(), at);
        let m: BTreeMap<u8, Bytes> = v.iter().enumerate().map(|(i, b)| (k.wrapping_add(i as u8), b.clone())).collect();
        let n = m.values().last().unwrap().0.len();
        let (got, _) = spliced(&m, n);
        prop_assert_eq!(&got, &m);
    }

    /// A tail that is not a byte string's (a value read another way) still decodes as
    /// the whole does.
    #[test]
    fn other_cuts_decode_as_the_whole(o in outer(), cut in 1usize..8) {
        let whole = postcard::to_allocvec(&o).unwrap();
        let cut = cut.min(whole.len());
        let (head, tail) = whole.split_at(whole.len() - cut);
        let got: Result<Outer, _> = decode_spliced(head, tail.to_vec());
        // A cut inside a byte string's bytes is read from the two in turn.
        if let Ok(got) = got {
            prop_assert_eq!(got, o);
        }
    }
}
