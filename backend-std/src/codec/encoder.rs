//! The serializer values are encoded with: postcard's, except that a `Vec<u8>` or `[u8]`
//! anywhere in the value is written as a byte string (the same bytes, with one copy or
//! lent: see `byte_seqs.rs`) instead of a byte at a time.
//!
//! [`Encoder`] hands every request to postcard's serializer as it is, and wraps the
//! serializers of compound values ([`Compound`]) so that their elements are encoded by an
//! `Encoder` too.

use crate::sys::same_type;
use postcard::ser_flavors::Flavor;
use serde::Serialize;
use serde::ser::{
    SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

type Postcard<F> = postcard::Serializer<F>;

/// Why a value could not be encoded: postcard's error, or the message the value's
/// `Serialize` gave (postcard's own error type keeps no message, and the user's is the one
/// that says what to fix).
#[derive(Debug)]
pub(crate) enum Error {
    Postcard(postcard::Error),
    Custom(Box<str>),
}

impl From<postcard::Error> for Error {
    fn from(e: postcard::Error) -> Self {
        Self::Postcard(e)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Postcard(e) => e.fmt(f),
            Self::Custom(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl serde::ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self::Custom(msg.to_string().into())
    }
}

/// Encodes `value` with `flavor` as [`postcard::serialize_with_flavor`] does. Inlined: a
/// call here copied the flavor through memory, stalling a small value's encode.
#[inline(always)]
pub(super) fn serialize_with_flavor<T: Serialize + ?Sized, F: Flavor>(
    value: &T,
    flavor: F,
) -> Result<F::Output, Error> {
    let mut ser = Postcard { output: flavor };
    value.serialize(Encoder(&mut ser))?;
    Ok(ser.output.finalize()?)
}

/// postcard's serializer, with byte sequences written as byte strings.
pub(super) struct Encoder<'a, F: Flavor>(&'a mut Postcard<F>);

/// The serializer of a compound value's elements (postcard's serializer itself, which
/// writes a compound as its length or tag, if any, then its elements).
pub(super) struct Compound<'a, F: Flavor>(&'a mut Postcard<F>);

macro_rules! forward {
    ($($method:ident($ty:ty);)*) => {$(
        fn $method(self, v: $ty) -> Result<(), Error> {
            Ok(self.0.$method(v)?)
        }
    )*};
}

impl<'a, F: Flavor> Serializer for Encoder<'a, F> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, F>;
    type SerializeTuple = Compound<'a, F>;
    type SerializeTupleStruct = Compound<'a, F>;
    type SerializeTupleVariant = Compound<'a, F>;
    type SerializeMap = Compound<'a, F>;
    type SerializeStruct = Compound<'a, F>;
    type SerializeStructVariant = Compound<'a, F>;

    fn is_human_readable(&self) -> bool {
        false
    }

    forward! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_unit_struct(&'static str);
    }

    fn serialize_none(self) -> Result<(), Error> {
        Ok(self.0.serialize_none()?)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        // postcard: a tag byte, then the value.
        (&mut *self.0).serialize_u8(1)?;
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        Ok(self.0.serialize_unit()?)
    }

    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        Ok(self.0.serialize_unit_variant(name, index, variant)?)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        // postcard: the content alone.
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        // postcard: the variant index as a varint (as a `u32` is written), then the value.
        (&mut *self.0).serialize_u32(index)?;
        value.serialize(self)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a, F>, Error> {
        self.0.serialize_seq(len).map(Compound)
            .map_err(Error::from)
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, F>, Error> {
        self.0.serialize_tuple(len).map(Compound)
            .map_err(Error::from)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, F>, Error> {
        self.0.serialize_tuple_struct(name, len).map(Compound)
            .map_err(Error::from)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, F>, Error> {
        (self.0)
            .serialize_tuple_variant(name, index, variant, len)
            .map(Compound)
            .map_err(Error::from)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a, F>, Error> {
        self.0.serialize_map(len).map(Compound)
            .map_err(Error::from)
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Compound<'a, F>, Error> {
        self.0.serialize_struct(name, len).map(Compound)
            .map_err(Error::from)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, F>, Error> {
        (self.0)
            .serialize_struct_variant(name, index, variant, len)
            .map(Compound)
            .map_err(Error::from)
    }

    fn collect_seq<I>(self, seq: I) -> Result<(), Error>
    where
        I: IntoIterator,
        I::Item: Serialize,
    {
        if let Some(bytes) = same_type::byte_slice_of(&seq) {
            // A sequence of `u8` is written as its length and its bytes: a byte string.
            return Ok(self.0.serialize_bytes(bytes)?);
        }
        if let Some((len, bytes)) = same_type::float_bytes_of(&seq) {
            // Floats are written as their little-endian bytes, one after another: their
            // bytes in memory here, copied (or lent) in one piece.
            self.0.serialize_seq(Some(len))?;
            return (self.0.output)
                .try_extend(bytes)
                .map_err(|_| postcard::Error::SerializeBufferFull.into());
        }
        let items = seq.into_iter();
        let len = match items.size_hint() {
            (lo, Some(hi)) if lo == hi => Some(lo),
            _ => None,
        };
        let mut out = self.serialize_seq(len)?;
        for item in items {
            SerializeSeq::serialize_element(&mut out, &item)?;
        }
        SerializeSeq::end(out)
    }

    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        Ok(self.0.collect_str(value)?)
    }
}

/// One element of a compound value, through an [`Encoder`].
impl<F: Flavor> Compound<'_, F> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Encoder(&mut *self.0))
    }
}

macro_rules! compound {
    ($($trait:ident::$method:ident $(($key:ident))?;)*) => {$(
        impl<F: Flavor> $trait for Compound<'_, F> {
            type Ok = ();
            type Error = Error;

            fn $method<T: Serialize + ?Sized>(
                &mut self,
                $($key: &'static str,)?
                value: &T,
            ) -> Result<(), Error> {
                self.element(value)
            }

            fn end(self) -> Result<(), Error> {
                Ok(())
            }
        }
    )*};
}

compound! {
    SerializeSeq::serialize_element;
    SerializeTuple::serialize_element;
    SerializeTupleStruct::serialize_field;
    SerializeTupleVariant::serialize_field;
    SerializeStruct::serialize_field(_key);
    SerializeStructVariant::serialize_field(_key);
}

impl<F: Flavor> SerializeMap for Compound<'_, F> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.element(key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }

    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
