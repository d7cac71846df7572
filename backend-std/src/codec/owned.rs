//! Decoding a value from a message buffer this code owns, so that a large byte string or
//! `String` at the top of the value takes the buffer itself instead of a copy.
//!
//! postcard hands a byte string's visitor a borrowed slice, and `serde_bytes::ByteBuf` or
//! `String` then allocates and copies it: for a 64 MiB result that is a fresh 64 MiB of
//! page faults and a copy. [`Owned`] is a deserializer that answers `byte_buf` and
//! `string` requests (and a `Vec<u8>`'s request for a sequence, `byte_seqs.rs`) at the top
//! of the value (or inside newtypes there, or as the one
//! element of a 1-tuple: a task's arguments `(bytes,)`) by moving the bytes to the front of
//! the message buffer and handing the buffer over; every other request goes to postcard
//! unchanged. A value whose last byte string was read apart (`protocol::piece`) is decoded
//! by `tailed.rs`; one it cannot read goes here, over the buffer and then that byte
//! string's own buffer ([`Segments`]), so the two are never joined.

use super::{byte_seqs, fields};
use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};
use std::ops::Range;

/// A postcard deserializer over `buf[range]` that may give its buffer away (see the module
/// documentation). Once it has, `buf` is left empty.
///
/// With a `tail` the value is `buf[range]` followed by `tail`: a byte string's bytes read
/// apart from the rest of its message (see `protocol::piece`; `range` then ends `buf`).
/// When the value is that byte string, `tail` itself is handed over; otherwise the two are
/// read in turn, the byte string borrowed from `tail` where it is asked for.
pub(super) struct Owned<'x> {
    pub buf: &'x mut Vec<u8>,
    pub range: Range<usize>,
    pub tail: Option<&'x mut Vec<u8>>,
}

type Error = postcard::Error;

impl<'x> Owned<'x> {
    fn postcard(self) -> postcard::Deserializer<'x, Segments<'x>> {
        let buf: &'x Vec<u8> = self.buf;
        let tail: &'x [u8] = self.tail.map_or(&[], |t| &t[..]);
        postcard::Deserializer::from_flavor(Segments {
            head: &buf[self.range],
            tail,
        })
    }

    /// The value's bytes, when it has no tail (then read whole, `fields.rs`); else `self`
    /// back, for postcard over head and tail.
    fn untailed(self) -> Result<&'x [u8], Self> {
        if self.tail.is_some() {
            return Err(self);
        }
        let buf: &'x Vec<u8> = self.buf;
        Ok(&buf[self.range])
    }

    /// The byte string the value is: the buffer, cut down to its bytes.
    fn take_bytes(self) -> Result<Vec<u8>, Error> {
        let Self { buf, mut range, tail } = self;
        if let Some(tail) = tail {
            // The value is the tail when its head is just the tail's length.
            let head = &buf[range.clone()];
            if matches!(postcard::take_from_bytes::<usize>(head), Ok((n, [])) if n == tail.len())
            {
                return Ok(std::mem::take(tail));
            }
            buf.truncate(range.end);
            buf.extend_from_slice(tail);
            range.end = buf.len();
        }
        let (bytes, _rest) = postcard::take_from_bytes::<&[u8]>(&buf[range])?;
        let at = bytes.as_ptr() as usize - buf.as_ptr() as usize;
        let len = bytes.len();
        let mut owned = std::mem::take(buf);
        owned.truncate(at + len);
        owned.drain(..at);
        Ok(owned)
    }
}

/// postcard's input: `head`, then `tail` (empty without one). A tail holds one byte
/// string's bytes, which postcard takes in one read after the length in `head`, so no read
/// spans the two: one that would fails, as a read past the end does.
pub(super) struct Segments<'x> {
    head: &'x [u8],
    tail: &'x [u8],
}

impl<'x> postcard::de_flavors::Flavor<'x> for Segments<'x> {
    type Remainder = ();
    type Source = ();

    fn pop(&mut self) -> Result<u8, Error> {
        let part = if self.head.is_empty() {
            &mut self.tail
        } else {
            &mut self.head
        };
        let (&b, rest) = part
            .split_first()
            .ok_or(Error::DeserializeUnexpectedEnd)?;
        *part = rest;
        Ok(b)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.head.len() + self.tail.len())
    }

    fn try_take_n(&mut self, n: usize) -> Result<&'x [u8], Error> {
        let part = if self.head.is_empty() {
            &mut self.tail
        } else {
            &mut self.head
        };
        if n > part.len() {
            return Err(Error::DeserializeUnexpectedEnd);
        }
        let (taken, rest) = part.split_at(n);
        *part = rest;
        Ok(taken)
    }

    fn finalize(self) -> Result<(), Error> {
        Ok(())
    }
}

/// Below the top of the value: without a tail, as `fields.rs` reads a whole value (a
/// `Vec<u8>` field is copied out in one piece); with one, by postcard over the two in turn.
macro_rules! forward {
    ($($method:ident $(($($arg:ident: $ty:ty),*))?;)*) => {$(
        fn $method<V: Visitor<'x>>(self, $($($arg: $ty,)*)? visitor: V) -> Result<V::Value, Error> {
            match self.untailed() {
                Ok(value) => fields::whole(value, |t| t.$method($($($arg,)*)? visitor)),
                Err(this) => (&mut this.postcard()).$method($($($arg,)*)? visitor),
            }
        }
    )*};
}

impl<'x> Deserializer<'x> for Owned<'x> {
    type Error = Error;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_byte_buf<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_byte_buf(self.take_bytes()?)
    }

    fn deserialize_string<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Error> {
        let text = String::from_utf8(self.take_bytes()?).map_err(|_| Error::DeserializeBadUtf8)?;
        visitor.visit_string(text)
    }

    fn deserialize_seq<V: Visitor<'x>>(self, visitor: V) -> Result<V::Value, Error> {
        if byte_seqs::is_byte_vec_visitor::<V>() {
            // A `Vec<u8>` is written as a byte string: it takes the buffer too.
            return byte_seqs::byte_vec_value::<V>(self.take_bytes()?)
                .map_err(|_| Error::DeserializeBadEncoding);
        }
        let value = match self.untailed() {
            Ok(value) => value,
            Err(this) => return (&mut this.postcard()).deserialize_seq(visitor),
        };
        if let Some(kind) = byte_seqs::float_vec_visitor::<V>() {
            // Floats, the whole value: their bytes after the count, in one copy.
            let (n, rest) = postcard::take_from_bytes::<usize>(value)?;
            let bytes = n
                .checked_mul(kind.size())
                .and_then(|len| rest.get(..len))
                .ok_or(Error::DeserializeUnexpectedEnd)?;
            return byte_seqs::float_vec_value::<V>(kind, bytes).ok_or(Error::DeserializeBadEncoding);
        }
        fields::whole(value, |t| t.deserialize_seq(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'x>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        // postcard writes a newtype as its content.
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_tuple<V: Visitor<'x>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        if len == 1 {
            // postcard writes a tuple as its elements: the one element is the whole value.
            return visitor.visit_seq(One(Some(self)));
        }
        match self.untailed() {
            Ok(value) => fields::whole(value, |t| t.deserialize_tuple(len, visitor)),
            Err(this) => (&mut this.postcard()).deserialize_tuple(len, visitor),
        }
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
        deserialize_bytes;
        deserialize_option;
        deserialize_unit;
        deserialize_unit_struct(name: &'static str);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map;
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier;
        deserialize_ignored_any;
    }
}

/// The elements of a 1-tuple: the whole value, once.
struct One<'x>(Option<Owned<'x>>);

impl<'x> SeqAccess<'x> for One<'x> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'x>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Error> {
        self.0.take().map(|owned| seed.deserialize(owned)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(usize::from(self.0.is_some()))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::decode_owned;
    use crate::error::Error;
    use serde::Deserialize;

    /// A byte string that records whether it got the buffer itself.
    #[derive(Debug)]
    struct Bytes(Vec<u8>);

    impl<'de> Deserialize<'de> for Bytes {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = Bytes;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Bytes, E> {
                    Ok(Bytes(v))
                }
            }
            d.deserialize_byte_buf(V)
        }
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Named(String);

    #[derive(Deserialize, Debug, PartialEq)]
    struct Pair {
        n: u64,
        text: String,
    }

    /// `value`'s postcard encoding behind a few bytes of another record.
    pub(in crate::codec) fn message<T: serde::Serialize>(
        value: &T,
    ) -> (Vec<u8>, std::ops::Range<usize>) {
        let mut buf = b"head".to_vec();
        buf.extend(postcard::to_allocvec(value).unwrap());
        let len = buf.len();
        (buf, 4..len)
    }

    #[test]
    fn a_top_level_byte_string_or_string_takes_the_buffer() {
        let (buf, range) = message(&serde_bytes_like(b"payload"));
        let at = buf.as_ptr();
        let got: Bytes = decode_owned(buf, range).unwrap();
        assert_eq!((got.0.as_slice(), got.0.as_ptr()), (&b"payload"[..], at));

        let (buf, range) = message(&"text".to_string());
        let at = buf.as_ptr();
        let got: String = decode_owned(buf, range).unwrap();
        assert_eq!((got.as_str(), got.as_ptr()), ("text", at));

        let (buf, range) = message(&"inner".to_string());
        let got: Named = decode_owned(buf, range).unwrap();
        assert_eq!(got, Named("inner".into()));
    }

    #[test]
    fn the_one_element_of_a_1_tuple_takes_the_buffer() {
        let (buf, range) = message(&(serde_bytes_like(b"argument"),));
        let at = buf.as_ptr();
        let (got,): (Bytes,) = decode_owned(buf, range).unwrap();
        assert_eq!((got.0.as_slice(), got.0.as_ptr()), (&b"argument"[..], at));
        // Longer tuples decode as postcard does.
        let (buf, range) = message(&(3u8, "three".to_string()));
        let got: (u8, String) = decode_owned(buf, range).unwrap();
        assert_eq!(got, (3, "three".into()));
        let (buf, range) = message(&(5u64,));
        let got: (u64,) = decode_owned(buf, range).unwrap();
        assert_eq!(got, (5,));
    }

    #[test]
    fn other_values_decode_as_postcard_does() {
        let (buf, range) = message(&(7u64, "seven"));
        let got: Pair = decode_owned(buf, range).unwrap();
        assert_eq!(
            got,
            Pair {
                n: 7,
                text: "seven".into()
            }
        );
        let (buf, range) = message(&vec![1u32, 2, 3]);
        let got: Vec<u32> = decode_owned(buf, range).unwrap();
        assert_eq!(got, [1, 2, 3]);
    }

    /// A value whose byte string was read apart: alone, it takes the tail; inside a larger
    /// value, it is read from the tail in place; a head that does not lead into the tail
    /// is a decode error.
    #[test]
    fn a_tail_is_taken_or_read_in_place() {
        use super::super::decode_spliced;
        let text = "tail".repeat(1000);
        let head = postcard::to_allocvec(&text.len()).unwrap();
        let tail = text.clone().into_bytes();
        let at = tail.as_ptr();
        let got: String = decode_spliced(&head, tail).unwrap();
        assert_eq!((got.as_ptr(), got == text), (at, true));
        let mut head = postcard::to_allocvec(&7u64).unwrap();
        head.extend(postcard::to_allocvec(&text.len()).unwrap());
        let got: Pair = decode_spliced(&head, text.clone().into_bytes()).unwrap();
        assert_eq!(got, Pair { n: 7, text: text.clone() });
        // The head claims more than the tail holds: an error. A read would span the two:
        // they are decoded joined.
        let long = postcard::to_allocvec(&(text.len() + 1)).unwrap();
        let got = decode_spliced::<String>(&long, text.clone().into_bytes());
        assert!(matches!(got, Err(Error::Decode(_))), "{got:?}");
        let mut spans = postcard::to_allocvec(&text.len()).unwrap();
        spans.extend_from_slice(&text.as_bytes()[..3]);
        let got = decode_spliced::<(u8, String)>(&[[1].as_slice(), &spans].concat(), text[3..].into());
        assert_eq!(got.unwrap(), (1, text.clone()));
    }

    #[test]
    fn bad_bytes_are_a_decode_error() {
        let (buf, range) = message(&serde_bytes_like(&[0xff, 0xfe]));
        let got = decode_owned::<String>(buf, range);
        assert!(matches!(got, Err(Error::Decode(_))), "{got:?}");
        let (buf, range) = message(&"truncated".to_string());
        let got = decode_owned::<String>(buf, range.start..range.end - 1);
        assert!(matches!(got, Err(Error::Decode(_))), "{got:?}");
    }

    /// Encodes like `serde_bytes::Bytes`: one `serialize_bytes`.
    fn serde_bytes_like(bytes: &[u8]) -> impl serde::Serialize + '_ {
        struct B<'a>(&'a [u8]);
        impl serde::Serialize for B<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        B(bytes)
    }
}
