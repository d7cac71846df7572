//! Decoding a value whose last byte string was read apart (its *tail*, see
//! `protocol::piece`), so that the byte string takes the tail's buffer wherever it sits in
//! the value: a struct's last field, a tuple's or an enum variant's last element, the last
//! element of a sequence or value of a map, inside an `Option`. A `Vec<u8>` is written as a
//! byte string (`byte_seqs.rs`) and takes the tail the same way.
//!
//! [`Tailed`] reads the value's head with postcard and follows postcard's layout through
//! every compound type (a sequence or map is its length then its elements, a tuple or
//! struct its elements, an `Option` a tag byte then its value, an enum its variant index
//! then its content), so that it sees each byte string or string as it is asked for. One
//! asked for where the head holds nothing but its length, which is the tail's, takes the
//! tail. Anything else goes to postcard as it is. A value that reads past the head any
//! other way fails here, and the caller decodes it from head and tail joined instead.

use super::byte_seqs;
use postcard::de_flavors::Flavor;
use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use std::cell::Cell;
use std::rc::Rc;

type Error = postcard::Error;

/// postcard's input: the head alone, counting what is left of it.
pub(super) struct Head<'x> {
    bytes: &'x [u8],
    left: Rc<Cell<usize>>,
}

impl<'x> Head<'x> {
    pub(super) fn new(bytes: &'x [u8]) -> (Self, Rc<Cell<usize>>) {
        let left = Rc::new(Cell::new(bytes.len()));
        let head = Self {
            bytes,
            left: Rc::clone(&left),
        };
        (head, left)
    }
}

impl<'x> Flavor<'x> for Head<'x> {
    type Remainder = ();
    type Source = ();

    fn pop(&mut self) -> Result<u8, Error> {
        let (&b, rest) = self
            .bytes
            .split_first()
            .ok_or(Error::DeserializeUnexpectedEnd)?;
        self.bytes = rest;
        self.left.set(rest.len());
        Ok(b)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.bytes.len())
    }

    fn try_take_n(&mut self, n: usize) -> Result<&'x [u8], Error> {
        if n > self.bytes.len() {
            return Err(Error::DeserializeUnexpectedEnd);
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        self.left.set(rest.len());
        Ok(taken)
    }

    fn finalize(self) -> Result<(), Error> {
        Ok(())
    }
}

/// A deserializer at one place in a value (see the module documentation).
pub(super) struct Tailed<'a, 'x> {
    pub de: &'a mut postcard::Deserializer<'x, Head<'x>>,
    /// The whole head, and what is left of it.
    pub head: &'x [u8],
    pub left: &'a Cell<usize>,
    /// The tail, until a byte string takes it.
    pub tail: &'a mut Option<Vec<u8>>,
}

impl<'x> Tailed<'_, 'x> {
    fn again(&mut self) -> Tailed<'_, 'x> {
        Tailed {
            de: &mut *self.de,
            head: self.head,
            left: self.left,
            tail: &mut *self.tail,
        }
    }

    /// The tail, when what is left of the head is just its length (which is consumed).
    fn take_tail(&mut self) -> Result<Option<Vec<u8>>, Error> {
        self.take_tail_of(1)
    }

    /// The tail, when what is left of the head is just its length in elements of `unit`
    /// bytes (which is consumed).
    fn take_tail_of(&mut self, unit: usize) -> Result<Option<Vec<u8>>, Error> {
        let rest = &self.head[self.head.len() - self.left.get()..];
        let len = self.tail.as_ref().map(Vec::len);
        match postcard::take_from_bytes::<usize>(rest) {
            Ok((n, [])) if n.checked_mul(unit) == len => {
                let _: usize = serde::Deserialize::deserialize(&mut *self.de)?;
                Ok(self.tail.take())
            }
            _ => Ok(None),
        }
    }

    fn elements<V: Visitor<'x>>(mut self, n: usize, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(Elements {
            at: self.again(),
            left: n,
        })
    }

    fn length(&mut self) -> Result<usize, Error> {
        serde::Deserialize::deserialize(&mut *self.de)
    }
}

macro_rules! forward {
    ($($method:ident $(($($arg:ident: $ty:ty),*))?;)*) => {$(
        fn $method<V: Visitor<'x>>(self, $($($arg: $ty,)*)? visitor: V) -> Result<V::Value, Error> {
            self.de.$method($($($arg,)*)? visitor)
        }
    )*};
}

impl<'x> Deserializer<'x> for Tailed<'_, 'x> {
    type Error = Error;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_bytes<V: Visitor<'x>>(mut self, visitor: V) -> Result<V::Value, Error> {
        match self.take_tail()? {
            Some(tail) => visitor.visit_byte_buf(tail),
            None => self.de.deserialize_bytes(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_str<V: Visitor<'x>>(mut self, visitor: V) -> Result<V::Value, Error> {
        match self.take_tail()? {
            Some(tail) => {
                let text = String::from_utf8(tail).map_err(|_| Error::DeserializeBadUtf8)?;
                visitor.visit_string(text)
            }
            None => self.de.deserialize_str(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Error> {
        let tag: u8 = serde::Deserialize::deserialize(&mut *self.de)?;
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
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'x>>(mut self, visitor: V) -> Result<V::Value, Error> {
        if byte_seqs::is_byte_vec_visitor::<V>() {
            // A `Vec<u8>` is written as a byte string: the tail, or one copy from the head.
            let bytes = match self.take_tail()? {
                Some(tail) => tail,
                None => <&[u8] as serde::Deserialize>::deserialize(&mut *self.de)?.to_vec(),
            };
            return byte_seqs::byte_vec_value::<V>(bytes).map_err(|_| Error::DeserializeBadEncoding);
        }
        if let Some(kind) = byte_seqs::float_vec_visitor::<V>()
            && let Some(tail) = self.take_tail_of(kind.size())?
        {
            // Floats that end the value: the tail holds exactly their bytes.
            return byte_seqs::float_vec_value::<V>(kind, &tail).ok_or(Error::DeserializeBadEncoding);
        }
        let n = self.length()?;
        self.elements(n, visitor)
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

    fn deserialize_map<V: Visitor<'x>>(mut self, visitor: V) -> Result<V::Value, Error> {
        let n = self.length()?;
        visitor.visit_map(Elements {
            at: self.again(),
            left: n,
        })
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
        deserialize_unit;
        deserialize_unit_struct(name: &'static str);
        deserialize_identifier;
        deserialize_ignored_any;
    }
}

/// The elements of a sequence, tuple or struct, or the entries of a map: `left` more.
struct Elements<'a, 'x> {
    at: Tailed<'a, 'x>,
    left: usize,
}

impl<'x> SeqAccess<'x> for Elements<'_, 'x> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'x>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(self.at.again()).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'x> MapAccess<'x> for Elements<'_, 'x> {
    type Error = Error;

    fn next_key_seed<S: DeserializeSeed<'x>>(&mut self, seed: S) -> Result<Option<S::Value>, Error> {
        self.next_element_seed(seed)
    }

    fn next_value_seed<S: DeserializeSeed<'x>>(&mut self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(self.at.again())
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'a, 'x> EnumAccess<'x> for Tailed<'a, 'x> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'x>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let index: u32 = serde::Deserialize::deserialize(&mut *self.de)?;
        let index = IntoDeserializer::<'x, Error>::into_deserializer(index);
        let value = seed.deserialize(index)?;
        Ok((value, self))
    }
}

impl<'x> VariantAccess<'x> for Tailed<'_, 'x> {
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

#[cfg(test)]
mod tests;
