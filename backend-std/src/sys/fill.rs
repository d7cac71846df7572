//! Buffers another process fills at once (`process_vm_writev`, see `protocol::piece`): in
//! huge pages, unless fresh huge pages have been slow to fill lately.
//!
//! On a VM that reports free memory to its host (virtio-balloon free page reporting, in
//! 2 MiB blocks), a fresh huge page may come from a block the host took back: filling it
//! costs the host a fault per 4 KiB, and 64 MiB then takes 130-150 ms instead of 10-15
//! (4-5 ms of the faulting thread's time per 2 MiB page, against 0.2; small pages, 0.7).
//! Such slow fills come in clusters. A slow page seen while a buffer is faulted in from
//! its far end turns the rest of that buffer to small pages (`memory.rs`), and buffers are
//! then made of small pages for a while (the kernel hands those out from memory in use
//! lately); so does a whole buffer that filled slowly. Either way, this process faults the
//! buffer in from the far end while the writer fills it from the near one (small pages:
//! 25-30 ms for 64 MiB alone, about 20 together).

use super::memory::{prefault_from_end, try_zeroed, try_zeroed_small};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Fills from this size on are watched (smaller buffers get no huge pages).
const WATCH_FROM: usize = 4 << 20;
/// A fill of a huge-page buffer slower than this is taken for fresh huge pages being slow
/// (warm ones fill at 4-6 GB/s here, slow ones at about 0.5).
const SLOW_RATE: f64 = 2e9;
/// A fault-in step that costs the faulting thread more than this per byte is taken for
/// fresh huge pages being slow: 1 ms per MiB, over twice what small pages cost and a fifth
/// of what a slow huge page does.
const SLOW_FAULT_NS_PER_MIB: u128 = 1_000_000;
/// How long small pages are used after a slow fill.
const SMALL_FOR: Duration = Duration::from_secs(2);
/// What is faulted in at a time from the far end.
const STEP: usize = 1 << 20;

/// Until when (ms since [`epoch`]) buffers are made of small pages.
static SMALL_UNTIL: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    epoch().elapsed().as_millis() as u64
}

/// Whether fresh huge pages have been slow lately: large buffers are then made of small
/// pages.
pub(crate) fn huge_pages_slow_lately() -> bool {
    now_ms() < SMALL_UNTIL.load(Ordering::Relaxed)
}

/// Fresh huge pages were slow just now: buffers are made of small pages for a while.
pub(crate) fn huge_pages_slow() {
    SMALL_UNTIL.store(now_ms() + SMALL_FOR.as_millis() as u64, Ordering::Relaxed);
}

/// Whether faulting in `bytes` took the faulting thread `cpu`: as long as fresh huge pages
/// from memory the host took back do.
pub(crate) fn slow_fault(bytes: usize, cpu: Duration) -> bool {
    bytes > 0 && cpu.as_nanos() * (1 << 20) > SLOW_FAULT_NS_PER_MIB * bytes as u128
}

/// A zeroed buffer for `len` bytes about to be written by another process.
pub(crate) struct FillBuf {
    pub bytes: Vec<u8>,
    huge: bool,
    asked: Instant,
}

impl FillBuf {
    /// `len` zero bytes (`None` if the memory cannot be had).
    pub(crate) fn new(len: usize) -> Option<Self> {
        let small = len >= WATCH_FROM && huge_pages_slow_lately();
        let bytes = if small {
            try_zeroed_small(len)?
        } else {
            try_zeroed(len)?
        };
        Some(Self {
            bytes,
            huge: !small && len >= WATCH_FROM,
            asked: Instant::now(),
        })
    }

    /// Where the writer is to write.
    pub(crate) fn addr(&self) -> usize {
        self.bytes.as_ptr() as usize
    }

    /// The writer was asked now: the fill's rate counts from here.
    pub(crate) fn asked(&mut self) {
        self.asked = Instant::now();
    }

    /// Once the writer has been asked: the buffer is faulted in from its far end, a step at
    /// a time, until `written()` says the writer is done or the two meet (two processes
    /// faulting in halves of it in parallel: a 64 MiB result's first transfer went from
    /// 1.0-1.1 to 1.3-1.5 GB/s with huge pages too).
    pub(crate) fn help(&mut self, mut written: impl FnMut() -> bool) {
        prefault_from_end(self.addr(), self.bytes.len(), STEP, |_| !written());
    }

    /// The writer is done: a huge-page buffer that filled slowly turns the next ones to
    /// small pages for a while.
    pub(crate) fn filled(self) -> Vec<u8> {
        if self.huge {
            let rate = self.bytes.len() as f64 / self.asked.elapsed().as_secs_f64();
            if rate < SLOW_RATE {
                huge_pages_slow();
            }
        }
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::{FillBuf, SMALL_UNTIL, WATCH_FROM, slow_fault};
    use std::sync::atomic::Ordering;
    use std::time::Duration;

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

    /// A huge-page buffer that fills slowly turns the next ones to small pages; a small-page
    /// buffer faulted in from its far end keeps what the writer writes meanwhile.
    #[test]
    fn a_slow_fill_turns_buffers_small_and_helping_keeps_what_is_written() {
        let len = 2 * WATCH_FROM + 4096 * 3 + 17;
        SMALL_UNTIL.store(0, Ordering::Relaxed);
        let fill = FillBuf::new(len).unwrap();
        assert!(fill.huge);
        std::thread::sleep(std::time::Duration::from_millis(30)); // under 2 GB/s
        assert!(fill.filled().iter().all(|&b| b == 0));
        let mut fill = FillBuf::new(len).unwrap();
        assert!(!fill.huge);
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
