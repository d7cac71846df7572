//! `Vec<u8>` and `[u8]` as byte strings: serde sees them as sequences of `u8`, one call
//! per byte both ways (about 100 MB/s for a 64 MiB result through a pool, against 1 GB/s
//! and more for a `serde_bytes::ByteBuf`).
//!
//! postcard writes a sequence of `u8` exactly as a byte string: its length, then the bytes.
//! So the encoder (`encoder.rs`) writes a `Vec<u8>` or `[u8]` it is handed as a sequence
//! with one copy (or lends it, `protocol::piece`), and the deserializers that own their
//! input (`owned.rs`, `tailed.rs`) hand a byte string's buffer to the visitor of a
//! `Vec<u8>`, instead of a byte at a time. The bytes on the wire are the same as before,
//! so either end may be the old one.
//!
//! Which visitor is the `Vec<u8>` one is learnt by asking `Vec::<u8>::deserialize` once
//! for a sequence (see [`is_byte_vec_visitor`]): only that visitor, whose value is the
//! sequence's bytes in order, gets the buffer. Any other visitor of a sequence, whatever
//! it builds, sees the elements one by one as before.
//!
//! Vectors of `f32` or `f64` likewise: postcard writes each float as its little-endian
//! bytes, which on a little-endian machine are its bytes in memory. They are written in one
//! piece (or lent), and the visitors of `Vec<f32>` and `Vec<f64>` get a vector copied out
//! in one piece where the floats are the value or end it ([`float_vec_visitor`]).

use crate::sys::same_type;
use serde::de::{Deserializer, Visitor};
use std::any::TypeId;
use std::sync::OnceLock;

/// Whether `V` is the visitor `Vec<u8>`'s `Deserialize` hands to `deserialize_seq` (and
/// so gathers the sequence's bytes into a `Vec<u8>`, its value).
pub(super) fn is_byte_vec_visitor<'de, V: Visitor<'de>>() -> bool {
    static VISITOR: OnceLock<Option<TypeId>> = OnceLock::new();
    let known = VISITOR.get_or_init(probe::<Vec<u8>>);
    *known == Some(same_type::id_of::<V>())
}

/// A deserializer that notes the type of the visitor it is asked for a sequence with, and
/// fails every request.
struct Probe<'a>(&'a mut Option<TypeId>);

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("a probe"))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        *self.0 = Some(same_type::id_of::<V>());
        Err(serde::de::Error::custom("a probe"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

/// The float type of a vector of floats, which postcard writes as its length then each
/// float's little-endian bytes: on a little-endian machine, the floats' bytes in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Floats {
    F32,
    F64,
}

impl Floats {
    /// Bytes per float.
    pub(super) fn size(self) -> usize {
        match self {
            Floats::F32 => 4,
            Floats::F64 => 8,
        }
    }
}

/// Which vector of floats `V` is the visitor of (the one `Vec<f32>`'s or `Vec<f64>`'s
/// `Deserialize` hands to `deserialize_seq`), on a little-endian machine.
pub(super) fn float_vec_visitor<'de, V: Visitor<'de>>() -> Option<Floats> {
    static F64: OnceLock<Option<TypeId>> = OnceLock::new();
    static F32: OnceLock<Option<TypeId>> = OnceLock::new();
    if cfg!(target_endian = "big") {
        return None;
    }
    let id = Some(same_type::id_of::<V>());
    if *F64.get_or_init(probe::<Vec<f64>>) == id {
        return Some(Floats::F64);
    }
    (*F32.get_or_init(probe::<Vec<f32>>) == id).then_some(Floats::F32)
}

/// The type of the visitor `T`'s `Deserialize` asks a sequence with.
fn probe<T: for<'de> serde::Deserialize<'de>>() -> Option<TypeId> {
    let mut seen = None;
    let _ = T::deserialize(Probe(&mut seen));
    seen
}

/// The value of a visitor of which [`float_vec_visitor`] said `kind`, made of `bytes` (a
/// whole number of floats, as postcard writes them): one copy into an aligned vector.
pub(super) fn float_vec_value<'de, V: Visitor<'de>>(
    kind: Floats,
    bytes: &[u8],
) -> Option<V::Value> {
    match kind {
        Floats::F64 => {
            let mut v = vec![0f64; bytes.len() / 8];
            bytemuck::cast_slice_mut::<f64, u8>(&mut v).copy_from_slice(bytes);
            same_type::cast::<V::Value, Vec<f64>>(v).ok()
        }
        Floats::F32 => {
            let mut v = vec![0f32; bytes.len() / 4];
            bytemuck::cast_slice_mut::<f32, u8>(&mut v).copy_from_slice(bytes);
            same_type::cast::<V::Value, Vec<f32>>(v).ok()
        }
    }
}

/// The value of a visitor of which [`is_byte_vec_visitor`] holds, made of `bytes`.
pub(super) fn byte_vec_value<'de, V: Visitor<'de>>(bytes: Vec<u8>) -> Result<V::Value, Vec<u8>> {
    same_type::cast::<V::Value, Vec<u8>>(bytes)
}

#[cfg(test)]
mod tests {
    use super::super::owned::tests::message;
    use super::is_byte_vec_visitor;
    use serde::de::{SeqAccess, Visitor};

    /// A visitor of a sequence whose value is a `Vec<u8>` too, made another way.
    struct Reversed;

    impl<'de> Visitor<'de> for Reversed {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("bytes")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut v = Vec::new();
            while let Some(b) = seq.next_element::<u8>()? {
                v.insert(0, b);
            }
            Ok(v)
        }
    }

    #[test]
    fn only_the_byte_vector_visitor_is_recognised() {
        struct Grab(bool);
        impl<'de> serde::Deserializer<'de> for &mut Grab {
            type Error = serde::de::value::Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
                Err(serde::de::Error::custom("no"))
            }
            fn deserialize_seq<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
                self.0 = is_byte_vec_visitor::<V>();
                Err(serde::de::Error::custom("no"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
                byte_buf option unit unit_struct newtype_struct tuple tuple_struct map struct
                enum identifier ignored_any
            }
        }
        let grabbed = |f: &dyn Fn(&mut Grab)| {
            let mut g = Grab(false);
            f(&mut g);
            g.0
        };
        use serde::Deserialize;
        assert!(grabbed(&|g| drop(Vec::<u8>::deserialize(g))));
        assert!(grabbed(&|g| drop(Box::<[u8]>::deserialize(g))));
        assert!(!grabbed(&|g| drop(Vec::<i8>::deserialize(g))));
        assert!(!grabbed(&|g| drop(Vec::<u16>::deserialize(g))));
        assert!(!grabbed(&|g| drop(std::collections::VecDeque::<u8>::deserialize(g))));
        assert!(!grabbed(&|g| drop(serde::Deserializer::deserialize_seq(g, Reversed))));
    }

    #[test]
    fn a_byte_vector_takes_the_message_buffer_or_the_tail() {
        use super::super::{decode_owned, decode_spliced};
        let v: Vec<u8> = (0..=255).collect();
        let (buf, range) = message(&v);
        let at = buf.as_ptr();
        let got: Vec<u8> = decode_owned(buf, range).unwrap();
        assert_eq!((got.as_ptr(), &got), (at, &v));
        let (buf, range) = message(&(v.clone(),));
        let at = buf.as_ptr();
        let (got,): (Box<[u8]>,) = decode_owned(buf, range).unwrap();
        assert_eq!((got.as_ptr(), &got[..]), (at, &v[..]));
        // Read apart: alone, or at the end of a larger value, it is the tail.
        let head = postcard::to_allocvec(&v.len()).unwrap();
        let tail = v.clone();
        let at = tail.as_ptr();
        let got: Vec<u8> = decode_spliced(&head, tail).unwrap();
        assert_eq!((got.as_ptr(), &got), (at, &v));
        let mut head = postcard::to_allocvec(&(9u32, vec![1u8, 2])).unwrap();
        head.extend(postcard::to_allocvec(&v.len()).unwrap());
        let tail = v.clone();
        let at = tail.as_ptr();
        let got: (u32, Vec<u8>, Vec<u8>) = decode_spliced(&head, tail).unwrap();
        assert_eq!((got.2.as_ptr(), &got), (at, &(9, vec![1, 2], v.clone())));
    }

    #[test]
    fn other_visitors_of_a_sequence_see_each_byte() {
        use super::super::decode_owned;
        struct Back(Vec<u8>);
        impl<'de> serde::Deserialize<'de> for Back {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_seq(Reversed).map(Back)
            }
        }
        let (buf, range) = message(&vec![1u8, 2, 3]);
        let got: Back = decode_owned(buf, range).unwrap();
        assert_eq!(got.0, [3, 2, 1]);
        let (buf, range) = message(&vec![1u8, 2, 3]);
        let got: Vec<i8> = decode_owned(buf, range).unwrap();
        assert_eq!(got, [1, 2, 3]);
    }

    /// Floats that are the value, or end it, come back bit for bit in one copy; a tail
    /// that is not exactly their bytes is read another way.
    #[test]
    fn float_vectors_come_back_bit_for_bit() {
        use super::super::{decode_owned, decode_spliced};
        let doubles: Vec<f64> = (0..1000u64)
            .map(|i| f64::from_bits(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .collect();
        let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        let (buf, range) = message(&doubles);
        let got: Vec<f64> = decode_owned(buf, range).unwrap();
        assert_eq!(bits(&got), bits(&doubles));
        let singles: Vec<f32> = (0..999).map(|i| i as f32 / 7.0).collect();
        let (buf, range) = message(&(singles.clone(),));
        let (got,): (Vec<f32>,) = decode_owned(buf, range).unwrap();
        assert_eq!(got, singles);
        // Read apart: the floats' bytes are the tail.
        let whole = postcard::to_allocvec(&(3u8, &doubles)).unwrap();
        let (head, tail) = whole.split_at(whole.len() - doubles.len() * 8);
        let got: (u8, Vec<f64>) = decode_spliced(head, tail.to_vec()).unwrap();
        assert_eq!((got.0, bits(&got.1)), (3, bits(&doubles)));
        // A cut that is not at the floats' start still decodes, from the two in turn.
        let (head, tail) = whole.split_at(whole.len() - doubles.len() * 8 + 8);
        let got: (u8, Vec<f64>) = decode_spliced(head, tail.to_vec()).unwrap();
        assert_eq!(bits(&got.1), bits(&doubles));
        // A count the bytes do not hold is an error.
        let short = postcard::to_allocvec(&doubles).unwrap();
        let (buf, range) = (short.clone(), 0..short.len() - 1);
        assert!(decode_owned::<Vec<f64>>(buf, range).is_err());
    }
}

