//! libFuzzer target: [`brickwall_fuzz_targets::sync`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| brickwall_fuzz_targets::sync(data));
