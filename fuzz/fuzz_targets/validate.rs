//! Arbitrary bytes as a SET_REPLACE optval: no panic, no hang, and an errno from the kernel's set.
#![no_main]
use bpfilter_core::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzzing::validate(data);
});
