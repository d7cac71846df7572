//! Buffers another process fills at once (`process_vm_writev`, see `protocol::piece`): in
//! huge pages, faulted in from the far end by this process while the writer fills them from
//! the near one.
//!
//! On a VM that reports free memory to its host (virtio-balloon free page reporting), a
//! fresh huge page may come from a block the host took back: faulting it in costs the host
//! a fault per 4 KiB, 4-5 ms of the faulting thread's time per 2 MiB page here, against
//! 0.2 ms for a warm one and 0.7 ms for 2 MiB of small pages (64 MiB: 5-9 ms in warm huge
//! pages, 90-180 ms in such ones, 22-35 ms in small pages). Slow pages come in runs, and a
//! buffer may meet them part-way: so the thread faulting a buffer in from its far end
//! watches each step (`memory::prefault_from_end`), and the first step as slow as that
//! turns the rest of the buffer to small pages, for the writer too. Each buffer starts in
//! huge pages again: memory freed lately (the last transfer's buffer) is warm.

use super::memory::{prefault_from_end, try_zeroed};

/// What is faulted in at a time from the far end.
const STEP: usize = 1 << 20;

/// A zeroed buffer for `len` bytes about to be written by another process.
pub(crate) struct FillBuf {
    pub bytes: Vec<u8>,
}

impl FillBuf {
    /// `len` zero bytes (`None` if the memory cannot be had).
    pub(crate) fn new(len: usize) -> Option<Self> {
        Some(Self {
            bytes: try_zeroed(len)?,
        })
    }

    /// Where the writer is to write.
    pub(crate) fn addr(&self) -> usize {
        self.bytes.as_ptr() as usize
    }

    /// Once the writer has been asked: the buffer is faulted in from its far end, a step at
    /// a time, until `written()` says the writer is done or the two meet (two processes
    /// faulting in halves of it in parallel: a 64 MiB result's first transfer went from
    /// 1.0-1.1 to 1.3-1.5 GB/s with huge pages too).
    pub(crate) fn help(&mut self, mut written: impl FnMut() -> bool) {
        prefault_from_end(self.addr(), self.bytes.len(), STEP, |_| !written());
    }

    /// The writer is done: the bytes.
    pub(crate) fn filled(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::FillBuf;

    /// A buffer faulted in from its far end keeps what the writer writes meanwhile.
    #[test]
    fn helping_keeps_what_is_written() {
        let len = (8 << 20) + 4096 * 3 + 17;
        let mut fill = FillBuf::new(len).unwrap();
        let at = fill.addr();
        let pattern: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let writer = std::thread::spawn(move || {
            let me = nix::unistd::Pid::this();
            for (k, chunk) in pattern.chunks(1 << 20).enumerate() {
                crate::protocol::write_to(me, at + (k << 20), chunk).unwrap();
            }
            pattern
        });
        fill.help(|| writer.is_finished());
        let pattern = writer.join().unwrap();
        assert!(fill.filled() == pattern);
    }
}
