//! Raw packets on a real socket through forkpool's whole receive path: per-writer frame
//! decoding, the protocol's RUN/DONE/INIT decoders, serde decoding of results.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = forkpool_std::fuzzing::receive(data);
});
