//! The core's frame decoder fed arbitrary bytes in arbitrary slices: it never panics,
//! never buffers past its maximum, and once failed stays failed. Like a receiver (which
//! drops a writer's failed decoder and starts a fresh one), it keeps going past a failure
//! with a fresh decoder, so everything after the first error is fuzzed too.
#![no_main]

use forkpool_core::{FrameDecoder, Progress};
use libfuzzer_sys::fuzz_target;

const MAX: u32 = 4096;

fn fresh() -> FrameDecoder<heapless::Vec<u8, 4096>> {
    FrameDecoder::new(heapless::Vec::<u8, 4096>::new(), MAX)
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, mut input)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);
    let mut decoder = fresh();
    while !input.is_empty() {
        let take = step.min(input.len());
        let (used, progress) = decoder.feed(&input[..take]);
        assert!(used <= take);
        match progress {
            Progress::Frame(h) => {
                assert!(h.len <= MAX);
                assert_eq!(decoder.buf_mut().len(), h.len as usize);
            }
            Progress::Failed(_) => {
                // Stays failed: no frame from it whatever follows.
                let (_, again) = decoder.feed(input);
                assert!(!matches!(again, Progress::Frame(_)), "a frame after a failure");
                decoder = fresh();
                input = &input[used.max(1)..];
                continue;
            }
            Progress::NeedMore => assert_eq!(used, take),
        }
        if used == 0 && !matches!(progress, Progress::Frame(_)) {
            break;
        }
        input = &input[used..];
    }
});
