//! Message buffers: zero-filled allocation that leaves fresh pages untouched, transparent
//! huge pages under large ones, and receive buffers mapped straight from the kernel.

use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, mmap_anonymous, munmap};
use std::alloc::{Layout, alloc_zeroed};
use std::num::NonZeroUsize;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Buffers from this size on are worth huge pages.
const HUGE_FROM: usize = 4 << 20;

/// Advises huge pages for the spare capacity of `buf` (when it is at least [`HUGE_FROM`]),
/// so filling it takes one page fault per 2 MiB instead of one per 4 KiB. Best effort: on
/// failure, or where THP is off, nothing changes.
pub(crate) fn advise_huge(buf: &mut Vec<u8>) {
    let spare = buf.spare_capacity_mut();
    advise(spare.as_mut_ptr() as usize, spare.len());
}

/// A vector of `len` zero bytes, or `None` if the memory cannot be had. Unlike
/// `vec![0; len]` it fails instead of aborting; like it, it asks the allocator for zeroed
/// memory, so fresh pages from the kernel are not written until used. Large ones get huge
/// pages (see [`advise_huge`]).
pub(crate) fn try_zeroed(len: usize) -> Option<Vec<u8>> {
    if len == 0 {
        return Some(Vec::new());
    }
    let layout = Layout::array::<u8>(len).ok()?;
    // SAFETY: `layout` has a non-zero size (checked above), as `alloc_zeroed` requires.
    let ptr = unsafe { alloc_zeroed(layout) };
    if ptr.is_null() {
        return None;
    }
    advise(ptr as usize, len);
    // SAFETY: `ptr` comes from the global allocator with `layout`, i.e. alignment 1 (that of
    // `u8`) and size `len`, which is the capacity given; all `len` bytes are initialised
    // (zeroed by `alloc_zeroed`, and `advise` never changes contents), so length `len` is
    // valid. The vector takes sole ownership of the allocation.
    Some(unsafe { Vec::from_raw_parts(ptr, len, len) })
}

/// MADV_HUGEPAGE for the whole pages within `start..start + len`, if that is at least
/// [`HUGE_FROM`] bytes of memory this process owns.
fn advise(start: usize, len: usize) {
    if len < HUGE_FROM {
        return;
    }
    advise_with(start, len, MmapAdvise::MADV_HUGEPAGE);
}

/// Faults in the whole pages within `start..start + len` for writing (MADV_POPULATE_WRITE:
/// zeroed pages where none are yet; pages already there are left as they are, whoever is
/// writing them). Best effort, for memory this process owns.
pub(crate) fn prefault(start: usize, len: usize) {
    advise_with(start, len, MmapAdvise::MADV_POPULATE_WRITE);
}

/// Faults in `start..start + len` from its far end, `step` bytes at a time, while
/// `go_on(end)` holds (`end`: where the part faulted in so far begins): for a buffer that
/// someone else fills from its near end meanwhile. The first two steps are left to them.
///
/// A step that costs this thread as much as fresh huge pages from memory the host took
/// back (see `fill.rs`) turns what is left of the range to small pages, for the filler at
/// the near end too.
pub(crate) fn prefault_from_end(
    start: usize,
    len: usize,
    step: usize,
    mut go_on: impl FnMut(usize) -> bool,
) {
    let mut end = start + len;
    let mut watching = true;
    while end >= start + 2 * step && go_on(end) {
        end -= step;
        let before = thread_cpu();
        prefault(end, step);
        if watching
            && let (Some(before), Some(after)) = (before, thread_cpu())
            && slow_fault(step, after.saturating_sub(before))
        {
            advise_with(start, end - start, MmapAdvise::MADV_NOHUGEPAGE);
            watching = false;
        }
    }
}

/// A fault-in step that costs the faulting thread more than this per MiB is taken for
/// fresh huge pages from memory the host took back (see `fill.rs`): over twice what small
/// pages cost, a fifth of what such a huge page does.
const SLOW_FAULT_NS_PER_MIB: u128 = 1_000_000;

/// Whether faulting in `bytes` took the faulting thread `cpu`: as long as fresh huge pages
/// from memory the host took back do.
fn slow_fault(bytes: usize, cpu: std::time::Duration) -> bool {
    bytes > 0 && cpu.as_nanos() * (1 << 20) > SLOW_FAULT_NS_PER_MIB * bytes as u128
}

/// This thread's CPU time: a fault the host makes slow counts, time spent preempted does
/// not.
fn thread_cpu() -> Option<std::time::Duration> {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).ok()?;
    Some(std::time::Duration::from(t))
}

/// `advice` for the whole pages within `start..start + len`, memory this process owns.
fn advise_with(start: usize, len: usize, advice: MmapAdvise) {
    const PAGE: usize = 4096;
    let aligned = start.next_multiple_of(PAGE);
    let len = (start + len).saturating_sub(aligned) / PAGE * PAGE;
    let Some(addr) = std::ptr::NonNull::new(aligned as *mut std::ffi::c_void) else {
        return;
    };
    // SAFETY: `addr..addr + len` lies within an allocation the caller owns (page-aligned
    // inward); the advice given (MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_POPULATE_WRITE) only
    // changes how the kernel backs those pages or when it faults them in, never their
    // contents or the mapping's validity.
    let _ = unsafe { nix::sys::mman::madvise(addr, len, advice) };
}

/// A fixed-size buffer of fresh anonymous pages, returned to the kernel when dropped.
///
/// The kernel zero-fills a page when it is first written, so a receive buffer that a small
/// message touches costs one page fault, not one per page: heap memory of that size would be
/// zeroed by the allocator, which in a fork child means a copy-on-write fault on every page
/// of it (about half of a worker's start-up before this).
pub(crate) struct PageBuf {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a `PageBuf` owns its mapping alone, as a `Vec<u8>` owns its allocation; access
// goes through `&self`/`&mut self`, so the usual borrow rules keep it free of data races.
unsafe impl Send for PageBuf {}
// SAFETY: as above; `&PageBuf` only hands out `&[u8]`.
unsafe impl Sync for PageBuf {}

impl PageBuf {
    /// `len` zero bytes (`len` > 0), or `None` if the kernel refuses the mapping.
    pub(crate) fn new(len: usize) -> Option<Self> {
        let length = NonZeroUsize::new(len)?;
        // SAFETY: a fresh private anonymous mapping at an address the kernel picks aliases no
        // memory of the program; it is unmapped only in `drop`, with the same length.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                length,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE,
            )
        }
        .ok()?;
        Some(Self {
            ptr: ptr.cast(),
            len,
        })
    }
}

impl Deref for PageBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr..ptr + len` is a readable mapping owned by `self` (see `new`), its
        // bytes initialised (zero-filled by the kernel, or written since).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for PageBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for PageBuf {
    fn drop(&mut self) {
        // SAFETY: the mapping was made in `new` with this address and length, and no slice
        // of it outlives `self`.
        let _ = unsafe { munmap(self.ptr.cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::{PageBuf, slow_fault};
    use std::time::Duration;

    #[test]
    fn a_page_buffer_starts_zeroed_and_keeps_what_is_written() {
        let mut b = PageBuf::new(3 * 4096 + 5).unwrap();
        assert_eq!(b.len(), 3 * 4096 + 5);
        assert!(b.iter().all(|&x| x == 0));
        b[4096 * 3 + 4] = 7;
        b[0] = 1;
        assert_eq!((b[0], b[4096 * 3 + 4]), (1, 7));
        assert!(PageBuf::new(0).is_none());
    }

    /// What a fault-in step cost the faulting thread tells warm huge pages (0.1 ms per MiB
    /// here) and small pages (0.35) from huge pages the host must fault in (2.3).
    #[test]
    fn only_faults_as_slow_as_the_hosts_are_taken_for_slow() {
        let ms = |m: f64| Duration::from_secs_f64(m / 1e3);
        assert!(!slow_fault(1 << 20, ms(0.1)));
        assert!(!slow_fault(1 << 20, ms(0.5)));
        assert!(!slow_fault(2 << 20, ms(1.5)));
        assert!(slow_fault(1 << 20, ms(4.7)));
        assert!(slow_fault(2 << 20, ms(4.7)));
        assert!(!slow_fault(0, ms(4.7)));
    }
}
