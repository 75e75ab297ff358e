//! A ruleset valid by construction, emitted, must validate and read back the same.
#![no_main]
use bpfilter_core::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzzing::structured(data);
});
