//! libFuzzer target: [`brickwall_fuzz_targets::metrics`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| brickwall_fuzz_targets::metrics(data));
