//! Seeing through serde's generics where a type is known exactly: a sequence being
//! serialized that is a `Vec` or slice of `u8`, `f32` or `f64` in memory, and such a
//! vector handed back as the value of a visitor whose value type is that vector (see
//! `codec/byte_seqs.rs`).
//!
//! Types are compared with [`typeid::of`], which works for types with lifetimes by
//! ignoring them (lifetimes do not exist at run time). A match therefore means "the same
//! type up to lifetimes", which is what both casts below rely on.

use std::any::TypeId;
use std::mem::ManuallyDrop;

/// The bytes of `seq` when it is a `&Vec<u8>` or a `&[u8]` (what serde's `Vec<u8>`,
/// `[u8]` and `Box<[u8]>` hand to `Serializer::collect_seq`), else `None`.
pub(crate) fn byte_slice_of<I>(seq: &I) -> Option<&[u8]> {
    slice_of::<I, u8>(seq)
}

/// The elements of `seq`, when it is a `&Vec<E>` or a `&[E]`, else `None`.
fn slice_of<I, E: 'static>(seq: &I) -> Option<&[E]> {
    let id = typeid::of::<I>();
    if id == typeid::of::<&Vec<E>>() {
        // SAFETY: `I` is `&'a Vec<E>` for some lifetime `'a` (the same type up to
        // lifetimes), so `seq` points at a valid `&Vec<E>`. The vector it refers to lives
        // for `'a`, which outlasts the borrow of `seq` that the result is tied to.
        let v: &&Vec<E> = unsafe { &*std::ptr::from_ref(seq).cast::<&Vec<E>>() };
        return Some(v.as_slice());
    }
    if id == typeid::of::<&[E]>() {
        // SAFETY: as above, with `I` being `&'a [E]`.
        let s: &&[E] = unsafe { &*std::ptr::from_ref(seq).cast::<&[E]>() };
        return Some(s);
    }
    None
}

/// The number of elements and the bytes of `seq` when it is a `&Vec` or `&[]` of `f64` or
/// `f32`, which postcard writes as their little-endian bytes: on a little-endian machine,
/// the elements' own bytes in memory.
pub(crate) fn float_bytes_of<I>(seq: &I) -> Option<(usize, &[u8])> {
    if cfg!(target_endian = "big") {
        return None;
    }
    if let Some(s) = slice_of::<I, f64>(seq) {
        return Some((s.len(), bytemuck::cast_slice(s)));
    }
    slice_of::<I, f32>(seq).map(|s| (s.len(), bytemuck::cast_slice(s)))
}

/// Whether `T` and `U` are the same type, lifetimes aside.
pub(crate) fn same<T: ?Sized, U: ?Sized>() -> bool {
    typeid::of::<T>() == typeid::of::<U>()
}

/// The type id of `T`, lifetimes aside.
pub(crate) fn id_of<T: ?Sized>() -> TypeId {
    typeid::of::<T>()
}

/// `value` as a `T`, when `T` is `U` (a type without lifetimes); `Err(value)` otherwise.
pub(crate) fn cast<T, U: 'static>(value: U) -> Result<T, U> {
    if !same::<T, U>() {
        return Err(value);
    }
    let value = ManuallyDrop::new(value);
    // SAFETY: `T` is `U` (which has no lifetimes, so the match is exact): the value is
    // moved out bit for bit, and `ManuallyDrop` keeps the original from being dropped.
    Ok(unsafe { std::ptr::read(std::ptr::from_ref::<U>(&value).cast::<T>()) })
}

/// `value` as a `T` (a type without lifetimes), when `U` is `T`; `Err(value)` otherwise.
pub(crate) fn cast_into<T: 'static, U>(value: U) -> Result<T, U> {
    if !same::<T, U>() {
        return Err(value);
    }
    let value = ManuallyDrop::new(value);
    // SAFETY: `U` is `T` up to lifetimes, and `T` has none, so the match is exact: the value
    // is moved out bit for bit, and `ManuallyDrop` keeps the original from being dropped.
    Ok(unsafe { std::ptr::read(std::ptr::from_ref::<U>(&value).cast::<T>()) })
}

/// The bytes of `value` when it is a `Vec<u8>`, `serde_bytes::ByteBuf` or `String`: what
/// encoding it writes after its length.
pub(crate) fn owned_bytes_of<T>(value: &T) -> Option<&[u8]> {
    cast_ref::<Vec<u8>, T>(value)
        .map(Vec::as_slice)
        .or_else(|| cast_ref::<serde_bytes::ByteBuf, T>(value).map(|b| b.as_slice()))
        .or_else(|| cast_ref::<String, T>(value).map(String::as_bytes))
}

/// Whether `T` is a `Vec<u8>`, `serde_bytes::ByteBuf` or `String` (see [`owned_bytes_of`]).
pub(crate) fn is_owned_bytes<T: ?Sized>() -> bool {
    same::<T, Vec<u8>>() || same::<T, serde_bytes::ByteBuf>() || same::<T, String>()
}

/// `value` as a `&T` (a type without lifetimes), when `U` is `T`.
pub(crate) fn cast_ref<T: 'static, U>(value: &U) -> Option<&T> {
    // SAFETY: `U` is `T` up to lifetimes, and `T` has none, so the match is exact: the
    // reference is to a valid `T`, borrowed as long as `value`.
    same::<T, U>().then(|| unsafe { &*std::ptr::from_ref::<U>(value).cast::<T>() })
}

#[cfg(test)]
mod tests {
    use super::{byte_slice_of, cast};

    #[test]
    fn byte_vectors_and_slices_are_seen_and_nothing_else() {
        let v = vec![1u8, 2, 3];
        assert_eq!(byte_slice_of(&&v), Some(&[1u8, 2, 3][..]));
        assert_eq!(byte_slice_of(&v.as_slice()), Some(&[1u8, 2, 3][..]));
        let wide = vec![1u16, 2];
        assert_eq!(byte_slice_of(&&wide), None);
        assert_eq!(byte_slice_of(&v), None, "a Vec by value is not a reference to one");
        let signed = vec![1i8];
        assert_eq!(byte_slice_of(&&signed), None);
    }

    #[test]
    fn a_vec_becomes_a_vec_of_bytes_only() {
        let v: Vec<u8> = vec![7, 8];
        let at = v.as_ptr();
        let back: Vec<u8> = cast(v).unwrap();
        assert_eq!((back.as_ptr(), back.as_slice()), (at, &[7u8, 8][..]));
        assert_eq!(cast::<String, _>(vec![1u8]), Err(vec![1]));
        assert_eq!(cast::<Vec<i8>, _>(vec![1u8]), Err(vec![1]));
    }
}
