//! The spec's §6 cases (core::testgen::spec) against the running kernel: the errno each case
//! expects must be the errno the kernel returns. The validator's own test checks it against the
//! same expectations, so together they close the triangle spec = kernel = validator.
//!
//! Needs root. Without it this test fails, never skips: CI runs as root.

use bpfilter_core::testgen::spec::cases;
use bpfilter_umh::oracle::{probe, KernelOracle};

#[test]
fn kernel_returns_the_errno_the_spec_says() {
    if let Err(e) = probe() {
        panic!("{e}");
    }
    let cases = cases();
    assert!(cases.len() > 100, "the spec has well over 100 cases");
    let mut oracle = KernelOracle::new().expect("oracle namespace");
    let mut failures = Vec::new();
    for c in &cases {
        if c.current_entries.is_some() {
            // The oracle's tables are fresh; a case about another entry count cannot be replayed
            // here, and must not pass silently.
            failures.push(format!(
                "{}: assumes a non-fresh table, not replayable",
                c.id
            ));
            continue;
        }
        let kernel = oracle.replace_errno(&c.optval).expect("oracle");
        if kernel != c.errno {
            failures.push(format!(
                "{} ({}): spec says {}, kernel says {kernel}",
                c.id, c.what, c.errno
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
