//! `SharedBytes`: read-only data every process can map without a copy (mpire's
//! `shared_objects`, done with a sealed file).

use super::object::{deserialize_fd, serialize_fd};
use crate::error::{Error, Result};
use crate::sys::Mapping;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Bytes written once and then shared, read-only, by every process that holds them: the
/// way to hand every pool worker a large value without a copy per task (or per worker).
///
/// The bytes live in an anonymous file sealed against any change, so no process can
/// modify them, and a handle travels inside arguments (or an initializer's) as a
/// descriptor: a task that gets one maps the same pages, whatever their size. Clones share
/// the mapping. Read them as bytes, as plain data without a copy ([`as_pod`](Self::as_pod):
/// the start is page-aligned), or decode a value once per worker in an initializer.
///
/// ```
/// use std::sync::OnceLock;
/// static TABLE: OnceLock<forkpool::SharedBytes> = OnceLock::new();
/// fn keep(table: forkpool::SharedBytes) { let _ = TABLE.set(table); }
/// fn lookup(i: usize) -> u64 { TABLE.get().unwrap().as_pod::<u64>().unwrap()[i] }
///
/// let squares: Vec<u64> = (0..1_000_000).map(|i| i * i).collect();
/// let table = forkpool::SharedBytes::from_pod(&squares)?;   // written once
/// let pool = forkpool::Pool::builder().processes(2).initializer(keep, (table,)).build()?;
/// assert_eq!(pool.map(lookup, [3, 999_999])?, [9, 999_998_000_001]);
/// # Ok::<(), forkpool::Error>(())
/// ```
#[derive(Clone)]
pub struct SharedBytes {
    map: Arc<Mapping>,
}

impl SharedBytes {
    /// A shared, read-only copy of `data`.
    pub fn new(data: &[u8]) -> Result<Self> {
        let map = Mapping::frozen(data).map_err(|source| Error::Io {
            op: "create shared bytes",
            source,
        })?;
        Ok(Self { map: Arc::new(map) })
    }

    /// A shared, read-only copy of a slice of plain data.
    pub fn from_pod<T: bytemuck::Pod>(items: &[T]) -> Result<Self> {
        Self::new(bytemuck::cast_slice(items))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.map.bytes()
    }

    /// The bytes as plain data, without a copy; `None` if their length is not a whole
    /// number of `T`s.
    pub fn as_pod<T: bytemuck::Pod>(&self) -> Option<&[T]> {
        bytemuck::try_cast_slice(self.as_slice()).ok()
    }
}

impl Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedBytes")
            .field("len", &self.map.len())
            .finish()
    }
}

impl Serialize for SharedBytes {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        serialize_fd(self.map.fd(), s)
    }
}

impl<'de> Deserialize<'de> for SharedBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let map = Mapping::from_frozen_fd(deserialize_fd(d)?).map_err(serde::de::Error::custom)?;
        Ok(Self { map: Arc::new(map) })
    }
}
