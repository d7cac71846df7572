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

use crate::sys::same_type;
use serde::de::{Deserializer, Visitor};
use std::any::TypeId;
use std::sync::OnceLock;

/// Whether `V` is the visitor `Vec<u8>`'s `Deserialize` hands to `deserialize_seq` (and
/// so gathers the sequence's bytes into a `Vec<u8>`, its value).
pub(super) fn is_byte_vec_visitor<'de, V: Visitor<'de>>() -> bool {
    static VISITOR: OnceLock<Option<TypeId>> = OnceLock::new();
    let known = VISITOR.get_or_init(|| {
        let mut seen = None;
        let _ = <Vec<u8> as serde::Deserialize>::deserialize(Probe(&mut seen));
        seen
    });
    *known == Some(same_type::id_of::<V>()) && same_type::same::<V::Value, Vec<u8>>()
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

/// The value of a visitor of which [`is_byte_vec_visitor`] holds, made of `bytes`.
pub(super) fn byte_vec_value<'de, V: Visitor<'de>>(bytes: Vec<u8>) -> Result<V::Value, Vec<u8>> {
    same_type::vec_as::<V::Value>(bytes)
}

#[cfg(test)]
mod tests {
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

    /// `value`'s encoding behind a few bytes of another record, as a message buffer.
    fn message<T: serde::Serialize>(value: &T) -> (Vec<u8>, std::ops::Range<usize>) {
        let mut buf = b"head".to_vec();
        buf.extend(postcard::to_allocvec(value).unwrap());
        let len = buf.len();
        (buf, 4..len)
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
}
