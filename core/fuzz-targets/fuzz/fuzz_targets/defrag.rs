//! libFuzzer target: [`brickwall_fuzz_targets::defrag`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| brickwall_fuzz_targets::defrag(data));
