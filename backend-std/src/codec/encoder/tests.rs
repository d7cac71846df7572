//! The encoder writes exactly what postcard writes, for any value: byte sequences included
//! (they are written as byte strings, which postcard lays out the same way).

use super::serialize_with_flavor;
use postcard::ser_flavors::AllocVec;
use proptest::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

#[derive(Serialize, Debug, Clone)]
enum Shape {
    A(u8),
    B { x: Option<u16>, s: String },
    C(Vec<u32>, bool),
    Bytes(Vec<u8>),
    D,
}

#[derive(Serialize, Debug, Clone)]
struct Outer {
    shapes: Vec<Shape>,
    bytes: Vec<u8>,
    boxed: Box<[u8]>,
    nested: Vec<Vec<u8>>,
    signed: Vec<i8>,
    deque: VecDeque<u8>,
    map: BTreeMap<u8, Vec<u8>>,
    meta: Option<(i64, char, Vec<u8>)>,
    unit: (),
    doubles: Vec<f64>,
    singles: Box<[f32]>,
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..300)
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        any::<u8>().prop_map(Shape::A),
        (any::<Option<u16>>(), ".{0,8}").prop_map(|(x, s)| Shape::B { x, s }),
        (prop::collection::vec(any::<u32>(), 0..4), any::<bool>())
            .prop_map(|(v, b)| Shape::C(v, b)),
        bytes().prop_map(Shape::Bytes),
        Just(Shape::D),
    ]
}

fn outer() -> impl Strategy<Value = Outer> {
    (
        prop::collection::vec(shape(), 0..4),
        bytes(),
        bytes(),
        prop::collection::vec(bytes(), 0..3),
        prop::collection::vec(any::<i8>(), 0..20),
        bytes(),
        prop::collection::btree_map(any::<u8>(), bytes(), 0..3),
        any::<Option<(i64, char)>>(),
        bytes(),
        prop::collection::vec(any::<f64>(), 0..50),
        prop::collection::vec(any::<f32>(), 0..50),
    )
        .prop_map(|(shapes, bytes, boxed, nested, signed, deque, map, meta, last, d, s)| Outer {
            shapes,
            bytes,
            boxed: boxed.into_boxed_slice(),
            nested,
            signed,
            deque: deque.into(),
            map,
            meta: meta.map(|(i, c)| (i, c, last)),
            unit: (),
            doubles: d,
            singles: s.into_boxed_slice(),
        })
}

fn ours<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serialize_with_flavor(value, AllocVec::new()).unwrap()
}

proptest! {
    #[test]
    fn the_encoder_writes_what_postcard_writes(value in outer()) {
        prop_assert_eq!(ours(&value), postcard::to_allocvec(&value).unwrap());
    }
}

#[test]
fn byte_sequences_and_slices_are_written_as_postcard_writes_them() {
    let v: Vec<u8> = (0..=255).collect();
    assert_eq!(ours(&v), postcard::to_allocvec(&v).unwrap());
    assert_eq!(ours(&v[..]), postcard::to_allocvec(&v[..]).unwrap());
    assert_eq!(ours(&(7u32, &v)), postcard::to_allocvec(&(7u32, &v)).unwrap());
    let empty: Vec<u8> = Vec::new();
    assert_eq!(ours(&empty), vec![0]);
    let floats = vec![1.5f64, -0.0, f64::NAN, f64::from_bits(0x7ff8_dead_beef_0001)];
    assert_eq!(ours(&floats), postcard::to_allocvec(&floats).unwrap());
    assert_eq!(ours(&floats[..1]), postcard::to_allocvec(&floats[..1]).unwrap());
}

/// Fails to serialize with a message of its own.
struct Refuses;

impl Serialize for Refuses {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("a socket cannot be sent"))
    }
}

/// A `Serialize` that fails says why, at any depth: postcard's own error would keep only
/// "Serde Serialization Error".
#[test]
fn a_failing_serialize_keeps_its_message() {
    let value = (1u8, vec![Some(Refuses)]);
    let e = serialize_with_flavor(&value, AllocVec::new()).unwrap_err();
    assert_eq!(e.to_string(), "a socket cannot be sent");
}
