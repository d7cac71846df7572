//! Decoding a whole value held in one buffer with postcard, except that a `Vec<u8>` that is
//! the value or one of its fields (through tuples, structs, `Option`s, newtypes and enum
//! variants) is copied out in one piece instead of a byte at a time (see `byte_seqs.rs`).
//!
//! The elements of other sequences go to postcard as they are (wrapping each of them, as
//! `tailed.rs` does, made a `Vec<u32>` of small numbers decode 2.7x slower), except one
//! that is itself a `Vec<u8>`, recognised by its type when this is compiled: a
//! `Vec<Vec<u8>>` of 100 KiB decodes in 4 µs against postcard's 84. Maps go to postcard
//! whole, so a `Vec<u8>` in a map goes a byte at a time, as before.

use super::byte_seqs;
use crate::sys::same_type;
use postcard::de_flavors::Slice;
use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, SeqAccess, VariantAccess,
    Visitor,
};
use std::marker::PhantomData;

type Error = postcard::Error;
type Postcard<'x> = postcard::Deserializer<'x, Slice<'x>>;

/// Deserializes a value from `bytes` with `f` (see the module documentation).
#[inline]
pub(super) fn whole<'x, R>(
    bytes: &'x [u8],
    f: impl FnOnce(Fields<'_, 'x>) -> Result<R, Error>,
) -> Result<R, Error> {
    let mut de = postcard::Deserializer::from_bytes(bytes);
    f(Fields(&mut de))
}

/// postcard's deserializer at one place in a value.
pub(super) struct Fields<'a, 'x>(&'a mut Postcard<'x>);

impl<'x> Fields<'_, 'x> {
    fn elements<V: Visitor<'x>>(self, n: usize, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(Elements::<true> { de: self.0, left: n })
    }
}

macro_rules! forward {
    ($($method:ident $(($($arg:ident: $ty:ty),*))?;)*) => {$(
        #[inline]
        fn $method<V: Visitor<'x>>(self, $($($arg: $ty,)*)? visitor: V) -> Result<V::Value, Error> {
            self.0.$method($($($arg,)*)? visitor)
        }
    )*};
}

impl<'x> Deserializer<'x> for Fields<'_, 'x> {
    type Error = Error;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_seq<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Error> {
        if byte_seqs::is_byte_vec_visitor::<V>() {
            // Written as a byte string: its length, then its bytes, read in one piece.
            let bytes = <&[u8] as serde::Deserialize>::deserialize(&mut *self.0)?;
            return byte_seqs::byte_vec_value::<V>(bytes.to_vec())
                .map_err(|_| Error::DeserializeBadEncoding);
        }
        // postcard: the length, then the elements.
        let left: usize = serde::Deserialize::deserialize(&mut *self.0)?;
        visitor.visit_seq(Elements::<false> { de: self.0, left })
    }


    fn deserialize_option<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Error> {
        // postcard: a tag byte, then the value.
        let tag: u8 = serde::Deserialize::deserialize(&mut *self.0)?;
        match tag {
            0 => visitor.visit_none(),
            1 => visitor.visit_some(self),
            _ => Err(Error::DeserializeBadOption),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'x>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        // postcard: the content alone.
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_tuple<V: Visitor<'x>>(self, n: usize, visitor: V) -> Result<V::Value, Error> {
        self.elements(n, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'x>>(
        self,
        _name: &'static str,
        n: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.elements(n, visitor)
    }

    fn deserialize_struct<V: Visitor<'x>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.elements(fields.len(), visitor)
    }

    fn deserialize_enum<V: Visitor<'x>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(self)
    }

    forward! {
        deserialize_any;
        deserialize_bool;
        deserialize_i8;
        deserialize_i16;
        deserialize_i32;
        deserialize_i64;
        deserialize_i128;
        deserialize_u8;
        deserialize_u16;
        deserialize_u32;
        deserialize_u64;
        deserialize_u128;
        deserialize_f32;
        deserialize_f64;
        deserialize_char;
        deserialize_str;
        deserialize_string;
        deserialize_bytes;
        deserialize_byte_buf;
        deserialize_unit;
        deserialize_unit_struct(name: &'static str);
        deserialize_map;
        deserialize_identifier;
        deserialize_ignored_any;
    }
}

/// The elements of a sequence (`FIELDS` false) or the fields of a tuple, struct or enum
/// variant (`FIELDS` true): `left` more. A field is read through [`Fields`]. A sequence's
/// element goes to postcard as it is (wrapping every element costs more than it saves),
/// except one that is itself a `Vec<u8>` (of a `Vec<Vec<u8>>`, say), which is read in one
/// piece. (Maps go to postcard whole: reading their entries here made a
/// `BTreeMap<u32, u32>` decode 10% slower.)
struct Elements<'a, 'x, const FIELDS: bool> {
    de: &'a mut Postcard<'x>,
    left: usize,
}

impl<'x, const FIELDS: bool> Elements<'_, 'x, FIELDS> {
    #[inline]
    fn item<S: DeserializeSeed<'x>>(&mut self, seed: S) -> Result<S::Value, Error> {
        if FIELDS {
            return seed.deserialize(Fields(&mut *self.de));
        }
        // What `Vec<Vec<u8>>` asks for: serde's seed for a `Vec<u8>` element. The sizes,
        // known when this is compiled for `S`, keep the type comparison (a call) off the
        // path of other elements.
        let maybe = size_of::<S>() == 0 && size_of::<S::Value>() == size_of::<Vec<u8>>();
        if maybe && same_type::same::<S, PhantomData<Vec<u8>>>() {
            let bytes = <&[u8] as serde::Deserialize>::deserialize(&mut *self.de)?;
            return same_type::cast::<S::Value, Vec<u8>>(bytes.to_vec())
                .map_err(|_| Error::DeserializeBadEncoding);
        }
        seed.deserialize(&mut *self.de)
    }
}

impl<'x, const FIELDS: bool> SeqAccess<'x> for Elements<'_, 'x, FIELDS> {
    type Error = Error;

    #[inline]
    fn next_element_seed<S: DeserializeSeed<'x>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        self.item(seed).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'a, 'x> EnumAccess<'x> for Fields<'a, 'x> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'x>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        // postcard: the variant index as a varint, then the content.
        let index: u32 = serde::Deserialize::deserialize(&mut *self.0)?;
        let index = IntoDeserializer::<'x, Error>::into_deserializer(index);
        let value = seed.deserialize(index)?;
        Ok((value, self))
    }
}

impl<'x> VariantAccess<'x> for Fields<'_, 'x> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'x>>(self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'x>>(self, n: usize, visitor: V) -> Result<V::Value, Error> {
        self.elements(n, visitor)
    }

    fn struct_variant<V: Visitor<'x>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.elements(fields.len(), visitor)
    }
}
