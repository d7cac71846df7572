//! `SharedMemory`: Python's `multiprocessing.shared_memory.SharedMemory`, anonymous and
//! sealed at its size.

use super::object::{deserialize_fd, serialize_fd};
use crate::error::{Error, Result};
use crate::sys::Mapping;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A block of memory shared between processes, like Python's
/// `shared_memory.SharedMemory`: zero-filled at first, its size fixed (the file is sealed, so
/// no process can shrink it under another).
///
/// It travels to pool workers and `Process` children inside arguments, or over a
/// [`Connection`](crate::Connection), as a descriptor: every process maps the same memory,
/// and the memory lives while any process holds it. Writes by one process are seen by the
/// others; coordinate them as you would between threads (a [`Lock`](crate::Lock), an
/// [`Event`](crate::Event), a `Queue` message saying the data is ready), or use
/// [`Array`](crate::Array), which keeps a lock with its data.
///
/// ```
/// let mut m = forkpool::SharedMemory::new(4)?;
/// m.as_mut_slice().copy_from_slice(b"ping");
/// fn read(m: forkpool::SharedMemory) -> Vec<u8> { m.as_slice().to_vec() }
/// let pool = forkpool::Pool::new(1)?;
/// assert_eq!(pool.apply(read, (m,))?, b"ping");
/// # Ok::<(), forkpool::Error>(())
/// ```
pub struct SharedMemory {
    map: Mapping,
}

impl SharedMemory {
    /// `bytes` bytes of zero-filled shared memory.
    pub fn new(bytes: usize) -> Result<Self> {
        let map = Mapping::new(bytes).map_err(|source| Error::Io {
            op: "create shared memory",
            source,
        })?;
        Ok(Self { map })
    }

    /// The memory's contents (another process may be writing them: see the type's docs).
    pub fn as_slice(&self) -> &[u8] {
        self.map.bytes()
    }

    /// The memory's contents, to write (another process may be reading or writing them:
    /// see the type's docs).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.map.bytes_mut()
    }

    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether it has no bytes.
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }

    /// Another handle on the same memory in this process (a new mapping of it).
    pub fn try_clone(&self) -> Result<Self> {
        let fd = self
            .map
            .fd()
            .try_clone_to_owned()
            .map_err(|source| Error::Io { op: "dup", source })?;
        let map = Mapping::from_fd(fd).map_err(|source| Error::Io {
            op: "map shared memory",
            source,
        })?;
        Ok(Self { map })
    }
}

impl fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMemory")
            .field("len", &self.len())
            .finish()
    }
}

impl Serialize for SharedMemory {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        serialize_fd(self.map.fd(), s)
    }
}

impl<'de> Deserialize<'de> for SharedMemory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let fd = deserialize_fd(d)?;
        let map = Mapping::from_fd(fd).map_err(serde::de::Error::custom)?;
        Ok(Self { map })
    }
}
