//! Asking the kernel for transparent huge pages under large message buffers.

/// Buffers from this size on are worth huge pages.
const HUGE_FROM: usize = 4 << 20;

/// Advises huge pages for the spare capacity of `buf` (when it is at least [`HUGE_FROM`]),
/// so filling it takes one page fault per 2 MiB instead of one per 4 KiB. Best effort: on
/// failure, or where THP is off, nothing changes.
pub(crate) fn advise_huge(buf: &mut Vec<u8>) {
    let spare = buf.spare_capacity_mut();
    if spare.len() < HUGE_FROM {
        return;
    }
    const PAGE: usize = 4096;
    let start = spare.as_mut_ptr() as usize;
    let aligned = start.next_multiple_of(PAGE);
    let len = (start + spare.len()).saturating_sub(aligned) / PAGE * PAGE;
    let Some(addr) = std::ptr::NonNull::new(aligned as *mut std::ffi::c_void) else {
        return;
    };
    // SAFETY: `addr..addr + len` lies within the spare capacity this `Vec` owns (page-aligned
    // inward), which holds no initialised values; MADV_HUGEPAGE only changes how the kernel
    // backs those pages, never their contents or the mapping's validity.
    let _ =
        unsafe { nix::sys::mman::madvise(addr, len, nix::sys::mman::MmapAdvise::MADV_HUGEPAGE) };
}
