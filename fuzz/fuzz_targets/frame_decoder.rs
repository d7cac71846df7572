//! The core's frame decoder fed arbitrary bytes in arbitrary slices: it never panics,
//! never buffers past its maximum, and once failed stays failed.
#![no_main]

use forkpool_core::{FrameDecoder, Progress};
use libfuzzer_sys::fuzz_target;

const MAX: u32 = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&step, mut input)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);
    let mut decoder = FrameDecoder::new(heapless::Vec::<u8, 4096>::new(), MAX);
    let mut failed = false;
    while !input.is_empty() {
        let take = step.min(input.len());
        let (used, progress) = decoder.feed(&input[..take]);
        assert!(used <= take);
        match progress {
            Progress::Frame(h) => {
                assert!(!failed, "a frame after a failure");
                assert!(h.len <= MAX);
                assert_eq!(decoder.buf_mut().len(), h.len as usize);
            }
            Progress::Failed(_) => failed = true,
            Progress::NeedMore => assert_eq!(used, take),
        }
        if used == 0 && !matches!(progress, Progress::Frame(_)) {
            break;
        }
        input = &input[used..];
    }
});
