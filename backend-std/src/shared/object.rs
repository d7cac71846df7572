//! The layout every shared object (`Lock`, `Event`, `Queue`...) has in its shared-memory
//! file, and how one travels to another process (its descriptor, as a `Connection`'s does).
//!
//! ```text
//! 0     header: magic, kind, mutex count, condition count, data length, recursive
//! 64    mutexes, 64 bytes each (robust, process-shared)
//! ..    condition variables, 64 bytes each
//! ..    64 words (u32, atomic): the object's counters and flags
//! ..    data (a Value's or an Array's), aligned to 64
//! ```

use crate::codec;
use crate::error::{Error, Result};
use crate::sys::{COND_BYTES, Held, MUTEX_BYTES, Mapping, RawCond, RawMutex};
use serde::{Deserializer, Serializer};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const MAGIC: u32 = 0x4650_5348; // "FPSH"
const HEADER: usize = 64;
const SLOT: usize = 64;
/// Words each object has for its counters and flags.
pub(crate) const WORDS: usize = 64;

const _: () = assert!(MUTEX_BYTES <= SLOT && COND_BYTES <= SLOT);

/// What an object is, checked when one arrives from another process.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub(crate) enum Kind {
    Lock = 1,
    RLock = 2,
    Semaphore = 3,
    Event = 4,
    Condition = 5,
    Barrier = 6,
    Value = 7,
    Array = 8,
    Queue = 9,
}

/// One shared object: its mapping, mutexes, condition variables, words and data.
pub(crate) struct Object {
    map: Arc<Mapping>,
    mutexes: Vec<RawMutex>,
    conds: Vec<RawCond>,
    words_at: usize,
    data_at: usize,
    data_len: usize,
}

fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { op, source }
}

impl Object {
    /// A new object of `kind` with `mutexes` mutexes (recursive ones if `recursive`),
    /// `conds` condition variables and `data` bytes of data, all zero.
    pub(crate) fn create(
        kind: Kind,
        mutexes: usize,
        conds: usize,
        recursive: bool,
        data: usize,
    ) -> Result<Self> {
        let words_at = HEADER + (mutexes + conds) * SLOT;
        let data_at = (words_at + WORDS * 4).next_multiple_of(64);
        let len = data_at
            .checked_add(data)
            .ok_or(Error::InvalidArgument("shared object too large"))?;
        let map = Arc::new(Mapping::new(len).map_err(io("create shared memory"))?);
        let header = [
            MAGIC,
            kind as u32,
            mutexes as u32,
            conds as u32,
            u32::try_from(data).map_err(|_| Error::InvalidArgument("shared object too large"))?,
            u32::from(recursive),
        ];
        for (i, w) in header.into_iter().enumerate() {
            map.word(i * 4).store(w, Ordering::Relaxed);
        }
        Self::assemble(map, (mutexes, conds), Some(recursive), data)
    }

    /// The object's parts in `map`: `counts` mutexes and condition variables, initialised
    /// now (`init`: whether the mutexes are recursive) or by whoever made the mapping.
    fn assemble(
        map: Arc<Mapping>,
        (mutexes, conds): (usize, usize),
        init: Option<bool>,
        data: usize,
    ) -> Result<Self> {
        let words_at = HEADER + (mutexes + conds) * SLOT;
        let data_at = (words_at + WORDS * 4).next_multiple_of(64);
        let mutexes = (0..mutexes)
            .map(|i| RawMutex::at(&map, HEADER + i * SLOT, init))
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(io("set up a shared mutex"))?;
        let base = HEADER + mutexes.len() * SLOT;
        let conds = (0..conds)
            .map(|i| RawCond::at(&map, base + i * SLOT, init.is_some()))
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(io("set up a shared condition variable"))?;
        Ok(Self {
            map,
            mutexes,
            conds,
            words_at,
            data_at,
            data_len: data,
        })
    }

    /// The object of `kind` in a shared-memory file received from another process.
    pub(crate) fn open(fd: OwnedFd, kind: Kind) -> Result<Self> {
        let map = Arc::new(Mapping::from_fd(fd).map_err(io("map shared memory"))?);
        let bad = || Error::Decode(format!("not a shared {kind:?}"));
        if map.len() < HEADER {
            return Err(bad());
        }
        let word = |i: usize| map.word(i * 4).load(Ordering::Relaxed) as usize;
        if word(0) != MAGIC as usize || word(1) != kind as usize {
            return Err(bad());
        }
        let (mutexes, conds, data) = (word(2), word(3), word(4));
        let data_at = (HEADER + (mutexes + conds) * SLOT + WORDS * 4).next_multiple_of(64);
        if mutexes > 4 || conds > 4 || data_at + data > map.len() {
            return Err(bad());
        }
        Self::assemble(map, (mutexes, conds), None, data)
    }

    /// Counter or flag `i` (of [`WORDS`]).
    pub(crate) fn word(&self, i: usize) -> &AtomicU32 {
        assert!(i < WORDS);
        self.map.word(self.words_at + i * 4)
    }

    pub(crate) fn cond(&self, i: usize) -> &RawCond {
        &self.conds[i]
    }

    /// Takes mutex `i`, waiting at most `timeout`: `None` when the time ran out.
    pub(crate) fn lock(&self, i: usize, timeout: Option<Duration>) -> Result<Option<Held<'_>>> {
        self.mutexes[i].lock(timeout).map_err(lock_error)
    }

    /// Takes mutex `i` if it is free.
    pub(crate) fn try_lock(&self, i: usize) -> Result<Option<Held<'_>>> {
        self.mutexes[i].try_lock().map_err(lock_error)
    }

    /// Takes mutex `i` for a short section of forkpool's own (never held across user
    /// code): a holder that died is of no consequence there, the state is a few words.
    pub(crate) fn guard(&self, i: usize) -> Result<Held<'_>> {
        self.lock(i, None)?
            .ok_or(Error::Internal("a lock without a time limit timed out"))
    }

    /// Where the data starts in the mapping, and its length.
    pub(crate) fn data(&self) -> (usize, usize) {
        (self.data_at, self.data_len)
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.map.fd()
    }
}

fn lock_error(source: std::io::Error) -> Error {
    if source.raw_os_error() == Some(libc::EDEADLK) {
        Error::InvalidArgument("this thread holds the lock already (it is not reentrant: use RLock)")
    } else {
        Error::Io {
            op: "take a shared lock",
            source,
        }
    }
}

/// Writes a descriptor into a value being sent (it travels with `SCM_RIGHTS`).
pub(crate) fn serialize_fd<S: Serializer>(fd: BorrowedFd<'_>, s: S) -> Result<S::Ok, S::Error> {
    let index = codec::stash_outgoing(fd).map_err(serde::ser::Error::custom)?;
    s.serialize_u32(index)
}

/// Takes a descriptor out of a value being received.
pub(crate) fn fd_from_index<E: serde::de::Error>(index: u32) -> Result<OwnedFd, E> {
    codec::take_incoming(index).map_err(E::custom)
}

/// `Serialize` and `Deserialize` for a shared type that is one object (`obj: Arc<Object>`)
/// of `kind`: it travels as its descriptor.
macro_rules! by_descriptor {
    ($ty:ident, $kind:expr) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                super::object::serialize_fd(self.obj.fd(), s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let fd = super::object::deserialize_fd(d)?;
                let obj = super::object::Object::open(fd, $kind)
                    .map_err(serde::de::Error::custom)?;
                Ok(Self {
                    obj: std::sync::Arc::new(obj),
                })
            }
        }
    };
}
pub(crate) use by_descriptor;

/// Reads a descriptor's index from a value being received, and takes the descriptor.
pub(crate) fn deserialize_fd<'de, D: Deserializer<'de>>(d: D) -> Result<OwnedFd, D::Error> {
    let index = <u32 as serde::Deserialize>::deserialize(d)?;
    fd_from_index(index)
}
