//! `Value` and `Array`: Python's `multiprocessing.Value` and `Array`, plain data in shared
//! memory with a lock beside it.

use super::object::{Kind, Object, deserialize_fd, serialize_fd};
use crate::error::{Error, Result};
use bytemuck::Pod;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

/// Runs `f` on the object's data as `&mut [T]` under its lock.
///
/// # Panics
/// If the same thread is inside `f` for this object already (as `RefCell` does for a
/// second borrow): the data would be reachable twice.
fn with_data<T: Pod, R>(obj: &Object, f: impl FnOnce(&mut [T]) -> R) -> R {
    let mut held = match obj.guard(0) {
        Ok(held) => held,
        Err(e) => panic!("forkpool: a Value or Array used inside its own update: {e}"),
    };
    // A holder that died left plain data, maybe half-written: as in Python, it is used.
    let (at, len) = obj.data();
    let bytes = held.bytes_mut(at, len);
    f(bytemuck::cast_slice_mut(bytes))
}

/// A value of plain data (`bytemuck::Pod`: numbers, arrays of them, `#[repr(C)]` structs of
/// them) shared between processes, with a lock, like Python's `multiprocessing.Value`.
/// Every access takes the lock, so [`update`](Self::update) is atomic across processes.
/// Clones share it; it travels to pool workers and `Process` children inside arguments.
///
/// ```
/// let hits = forkpool::Value::new(0u64)?;
/// fn hit(v: forkpool::Value<u64>) { v.update(|n| *n += 1) }
/// let pool = forkpool::Pool::new(2)?;
/// pool.map(hit, (0..50).map(|_| hits.clone()))?;
/// assert_eq!(hits.load(), 50);
/// # Ok::<(), forkpool::Error>(())
/// ```
///
/// # Panics
/// Reading or writing the value inside its own [`update`](Self::update) closure, on the same
/// thread, panics (the value would be reachable twice), as a `RefCell` does.
pub struct Value<T> {
    obj: Arc<Object>,
    _t: PhantomData<fn(T) -> T>,
}

/// An array of plain data shared between processes, with a lock, like Python's
/// `multiprocessing.Array`; reached under its lock with [`with`](Self::with).
///
/// ```
/// let a = forkpool::Array::<f64>::new(4)?;
/// fn fill(a: forkpool::Array<f64>, i: usize) { a.with(|s| s[i] = i as f64 * 1.5) }
/// let pool = forkpool::Pool::new(2)?;
/// pool.starmap(fill, (0..4).map(|i| (a.clone(), i)))?;
/// assert_eq!(a.to_vec(), [0.0, 1.5, 3.0, 4.5]);
/// # Ok::<(), forkpool::Error>(())
/// ```
///
/// # Panics
/// As [`Value`]: touching the array inside its own `with` closure on the same thread.
pub struct Array<T> {
    obj: Arc<Object>,
    _t: PhantomData<fn(T) -> T>,
}

impl<T: Pod> Value<T> {
    /// A shared value, starting at `x`.
    pub fn new(x: T) -> Result<Self> {
        let obj = Object::create(Kind::Value, 1, 0, false, std::mem::size_of::<T>())?;
        with_data(&obj, |d: &mut [T]| d[0] = x);
        Ok(Self {
            obj: Arc::new(obj),
            _t: PhantomData,
        })
    }

    /// The value now.
    pub fn load(&self) -> T {
        with_data(&self.obj, |d: &mut [T]| d[0])
    }

    /// Sets the value.
    pub fn store(&self, x: T) {
        with_data(&self.obj, |d: &mut [T]| d[0] = x)
    }

    /// Runs `f` on the value under its lock (no other process reads or writes it
    /// meanwhile) and returns what `f` returns.
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        with_data(&self.obj, |d: &mut [T]| f(&mut d[0]))
    }
}

impl<T: Pod> Array<T> {
    /// `len` zeroed elements.
    pub fn new(len: usize) -> Result<Self> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .ok_or(Error::InvalidArgument("array too large"))?;
        Ok(Self {
            obj: Arc::new(Object::create(Kind::Array, 1, 0, false, bytes)?),
            _t: PhantomData,
        })
    }

    /// An array holding a copy of `items`.
    pub fn from_slice(items: &[T]) -> Result<Self> {
        let a = Self::new(items.len())?;
        a.with(|s| s.copy_from_slice(items));
        Ok(a)
    }

    /// Runs `f` on the elements under the array's lock and returns what it returns.
    pub fn with<R>(&self, f: impl FnOnce(&mut [T]) -> R) -> R {
        with_data(&self.obj, f)
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.obj.data().1 / std::mem::size_of::<T>().max(1)
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the elements.
    pub fn to_vec(&self) -> Vec<T> {
        self.with(|s| s.to_vec())
    }
}

impl<T> Clone for Value<T> {
    fn clone(&self) -> Self {
        Self {
            obj: Arc::clone(&self.obj),
            _t: PhantomData,
        }
    }
}

impl<T> Clone for Array<T> {
    fn clone(&self) -> Self {
        Self {
            obj: Arc::clone(&self.obj),
            _t: PhantomData,
        }
    }
}

impl<T: Pod + fmt::Debug> fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Value").field(&self.load()).finish()
    }
}

impl<T: Pod> fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Array").field("len", &self.len()).finish()
    }
}

impl<T> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        serialize_fd(self.obj.fd(), s)
    }
}

impl<'de, T: Pod> Deserialize<'de> for Value<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let obj =
            Object::open(deserialize_fd(d)?, Kind::Value).map_err(serde::de::Error::custom)?;
        if obj.data().1 != std::mem::size_of::<T>() {
            return Err(serde::de::Error::custom("a shared Value of another type"));
        }
        Ok(Self {
            obj: Arc::new(obj),
            _t: PhantomData,
        })
    }
}

impl<T> Serialize for Array<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        serialize_fd(self.obj.fd(), s)
    }
}

impl<'de, T: Pod> Deserialize<'de> for Array<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let obj =
            Object::open(deserialize_fd(d)?, Kind::Array).map_err(serde::de::Error::custom)?;
        let size = std::mem::size_of::<T>().max(1);
        if obj.data().1 % size != 0 {
            return Err(serde::de::Error::custom("a shared Array of another type"));
        }
        Ok(Self {
            obj: Arc::new(obj),
            _t: PhantomData,
        })
    }
}
