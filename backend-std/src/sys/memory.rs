//! Large message buffers: zero-filled allocation that leaves fresh pages untouched, and
//! transparent huge pages under them.

use std::alloc::{Layout, alloc_zeroed};

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
    const PAGE: usize = 4096;
    let aligned = start.next_multiple_of(PAGE);
    let len = (start + len).saturating_sub(aligned) / PAGE * PAGE;
    let Some(addr) = std::ptr::NonNull::new(aligned as *mut std::ffi::c_void) else {
        return;
    };
    // SAFETY: `addr..addr + len` lies within an allocation the caller owns (page-aligned
    // inward); MADV_HUGEPAGE only changes how the kernel backs those pages, never their
    // contents or the mapping's validity.
    let _ =
        unsafe { nix::sys::mman::madvise(addr, len, nix::sys::mman::MmapAdvise::MADV_HUGEPAGE) };
}
