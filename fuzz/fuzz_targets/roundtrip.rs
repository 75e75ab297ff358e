//! Whatever validates is emitted and validated again to the same IR.
#![no_main]
use bpfilter_core::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzzing::roundtrip(data);
});
