//! A second thread that faults in a large fresh buffer from its far end while its owner
//! fills it from the near end (a large message received into it, or a large byte string
//! encoded into it).
//!
//! Filling fresh memory is mostly page faults: zeroing pages, and on a VM whose host took
//! back free memory, the host's own faults (a fresh 64 MiB took 10-15 ms or, from such
//! memory, 50-150 ms here). Two threads fault in parallel; without a thread to be had,
//! the owner fills alone, as before.

use super::memory::prefault_from_end;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

/// Buffers from this size on get a helper.
pub(crate) const HELP_FROM: usize = 8 << 20;
/// What the helper faults in at a time (a huge page).
const STEP: usize = 2 << 20;

/// The helper of one buffer; it stops (and is joined) when dropped.
pub(crate) struct FaultHelper {
    /// How far the owner has filled (bytes from the start); `usize::MAX` stops the helper.
    filled: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl FaultHelper {
    /// Starts faulting in the `len` bytes at address `start`, a fresh buffer this process
    /// owns, from the far end towards the owner (`None` if no thread could be started).
    pub(crate) fn start(start: usize, len: usize) -> Option<Self> {
        let filled = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&filled);
        let thread = std::thread::Builder::new()
            .name("forkpool-fault".into())
            .stack_size(64 << 10)
            .spawn(move || {
                // Until the two would meet: the owner's next step is left to it.
                prefault_from_end(start, len, STEP, |end| {
                    let owner = seen.load(Ordering::Relaxed);
                    owner != usize::MAX && start.saturating_add(owner) + 2 * STEP < end
                });
            })
            .ok()?;
        Some(Self {
            filled,
            thread: Some(thread),
        })
    }

    /// The owner has filled the first `n` bytes.
    pub(crate) fn filled(&self, n: usize) {
        self.filled.store(n, Ordering::Relaxed);
    }
}

impl Drop for FaultHelper {
    fn drop(&mut self) {
        self.filled.store(usize::MAX, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Appends `data` to `out`, a large one with a [`FaultHelper`] faulting in the far end of
/// the room it goes to (fresh when `out` had to grow for it).
pub(crate) fn extend_helped(out: &mut Vec<u8>, data: &[u8]) {
    if data.len() < HELP_FROM {
        out.extend_from_slice(data);
        return;
    }
    // The room is there before the helper starts: `out` does not move while it runs.
    out.reserve(data.len());
    let start = out.as_ptr() as usize + out.len();
    let helper = FaultHelper::start(start, data.len());
    for (i, chunk) in data.chunks(STEP).enumerate() {
        out.extend_from_slice(chunk);
        if let Some(h) = &helper {
            h.filled((i + 1) * STEP);
        }
    }
}

/// Fills `bytes`, fresh memory, a step at a time with `fill(offset, step)`, a large buffer
/// with a [`FaultHelper`] faulting in its far end meanwhile; stops at the first error.
pub(crate) fn fill_helped<E>(
    bytes: &mut [u8],
    mut fill: impl FnMut(usize, &mut [u8]) -> Result<(), E>,
) -> Result<(), E> {
    let helper = (bytes.len() >= HELP_FROM)
        .then(|| FaultHelper::start(bytes.as_ptr() as usize, bytes.len()))
        .flatten();
    for (i, step) in bytes.chunks_mut(STEP).enumerate() {
        fill(i * STEP, step)?;
        if let Some(h) = &helper {
            h.filled((i + 1) * STEP);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{FaultHelper, HELP_FROM, extend_helped, fill_helped};

    #[test]
    fn a_helped_copy_is_the_data_and_a_helper_leaves_contents_alone() {
        let data: Vec<u8> = (0..HELP_FROM * 2 + 12345).map(|i| (i % 253) as u8).collect();
        let mut out = b"head".to_vec();
        out.reserve(data.len());
        extend_helped(&mut out, &data);
        assert_eq!(&out[..4], b"head");
        assert!(out[4..] == data[..]);
        let mut filled = vec![0u8; data.len()];
        fill_helped(&mut filled, |at, step| {
            step.copy_from_slice(&data[at..at + step.len()]);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert!(filled == data);
        // A helper over memory being written keeps what is there.
        let mut buf = vec![7u8; HELP_FROM * 2];
        let helper = FaultHelper::start(buf.as_ptr() as usize, buf.len()).unwrap();
        buf[..1000].fill(9);
        helper.filled(1000);
        drop(helper);
        assert!(buf[..1000].iter().all(|&b| b == 9) && buf[1000..].iter().all(|&b| b == 7));
    }
}
