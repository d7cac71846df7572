//! Shared memory between processes: an anonymous file (`memfd_create`) sealed at its size
//! (or, frozen, against any change) and mapped `MAP_SHARED`, which travels to other
//! processes as a descriptor. The locks placed in it are in `pshared.rs`.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

/// A sealed shared-memory file and its mapping in this process.
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    /// The mapped length (at least 1: an empty mapping is not allowed).
    pub(super) mapped: usize,
    /// The length asked for.
    len: usize,
    fd: OwnedFd,
    /// Whether it is mapped writable (a frozen file is not).
    writable: bool,
}

// SAFETY: the mapping is plain memory owned by this value until it is dropped; what is
// placed in it is either synchronised by the process-shared primitives below, or reached
// only through `&self`/`&mut self` methods whose callers say how they synchronise.
unsafe impl Send for Mapping {}
// SAFETY: as above; shared references only read the pointer and length.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// A new zero-filled shared file of `len` bytes, sealed at that size, mapped here.
    pub(crate) fn new(len: usize) -> io::Result<Self> {
        let fd = Self::sealed_file(len)?;
        Self::map(fd, len, len.max(1))
    }

    /// A new zero-filled shared file of `len` bytes (at least 1), sealed at that size, not
    /// mapped here (whoever needs its bytes maps it with [`from_fd`](Self::from_fd)).
    pub(crate) fn sealed_file(len: usize) -> io::Result<OwnedFd> {
        let name = c"forkpool-shm";
        // SAFETY: the name is a valid C string; the flags are valid; the call only returns
        // a new descriptor or -1.
        let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just installed `fd` for this call: it gets one owner here.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mapped = len.max(1);
        nix::unistd::ftruncate(&fd, mapped as libc::off_t).map_err(io::Error::from)?;
        let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
        // SAFETY: fcntl on a descriptor we own, with an integer argument.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(fd)
    }

    /// A shared file holding a copy of `data`, sealed against any change (so every view of
    /// it, here and in other processes, is read-only and can never change), mapped here.
    pub(crate) fn frozen(data: &[u8]) -> io::Result<Self> {
        let name = c"forkpool-bytes";
        // SAFETY: as in `new`.
        let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as in `new`.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut written = 0;
        while written < data.len() {
            written += nix::unistd::write(&fd, &data[written..]).map_err(io::Error::from)?;
        }
        if data.is_empty() {
            nix::unistd::ftruncate(&fd, 1).map_err(io::Error::from)?;
        }
        let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
        // SAFETY: fcntl on a descriptor we own, with an integer argument; no mapping of
        // it exists yet, so the write seal takes.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Self::map_as(fd, data.len(), data.len().max(1), false)
    }

    /// Maps a shared file received from another process: writable (made by
    /// [`new`](Self::new)) or read-only (made by [`frozen`](Self::frozen)), as asked. It
    /// must be sealed against shrinking, so no process can cut the mapping short under
    /// this one; a read-only one must be sealed against writes too.
    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<Self> {
        Self::open(fd, true)
    }

    /// [`from_fd`](Self::from_fd) for a read-only (frozen) file.
    pub(crate) fn from_frozen_fd(fd: OwnedFd) -> io::Result<Self> {
        Self::open(fd, false)
    }

    fn open(fd: OwnedFd, writable: bool) -> io::Result<Self> {
        // SAFETY: fcntl on a descriptor we own, no argument.
        let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
        let frozen = seals >= 0 && seals & libc::F_SEAL_WRITE != 0;
        if seals < 0 || seals & libc::F_SEAL_SHRINK == 0 || frozen == writable {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                if writable {
                    "not a forkpool shared-memory file (a read-only one is SharedBytes)"
                } else {
                    "not a forkpool read-only shared file"
                },
            ));
        }
        let size = nix::sys::stat::fstat(&fd).map_err(io::Error::from)?.st_size;
        let mapped = usize::try_from(size).unwrap_or(0).max(1);
        Self::map_as(fd, mapped, mapped, writable)
    }

    fn map(fd: OwnedFd, len: usize, mapped: usize) -> io::Result<Self> {
        Self::map_as(fd, len, mapped, true)
    }

    fn map_as(fd: OwnedFd, len: usize, mapped: usize, writable: bool) -> io::Result<Self> {
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: a fresh shared mapping of `mapped` bytes of a file that is at least that
        // long and sealed against shrinking; no existing memory is affected.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped,
                prot,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Self {
            ptr,
            mapped,
            len,
            fd,
            writable,
        })
    }

    /// The bytes asked for (the file may be a page longer).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The `u32` at byte `offset` (aligned), shared with every process that maps this file.
    pub(crate) fn word(&self, offset: usize) -> &std::sync::atomic::AtomicU32 {
        assert!(self.writable && offset + 4 <= self.mapped && offset.is_multiple_of(4));
        // SAFETY: in bounds and aligned (checked above); the memory lives as long as
        // `&self`, and an atomic may be shared between threads and processes.
        unsafe { &*self.ptr().add(offset).cast::<std::sync::atomic::AtomicU32>() }
    }

    /// The mapping as bytes. Other processes may write them at any time: callers
    /// synchronise (a lock in the same memory) or accept torn reads of plain bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `len <= mapped` bytes are mapped readable for the life of `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The mapping as mutable bytes (see [`bytes`](Self::bytes)); `&mut self` keeps this
    /// process to one such view.
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        if !self.writable {
            return &mut [];
        }
        // SAFETY: as above, writable, and `&mut self` makes this the only view here.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the region `map` created; nothing refers to it any more
        // (every view borrows `self`).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.mapped) };
    }
}
