//! The spec's §6 cases against the validator (the kernel test in tests/ checks the same cases
//! against the running kernel), truncation, and no-panic properties.

use super::{validate_replace, FreshNamespace};
use crate::error::Errno;
use crate::testgen::spec::{cases, spec7};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use proptest::prelude::*;

fn errno_of(optval: &[u8], state: &FreshNamespace) -> i32 {
    match validate_replace(optval, state) {
        Ok(_) => 0,
        Err(e) => e.errno().code(),
    }
}

#[test]
fn spec_cases_match_the_spec() {
    let mut failures: Vec<String> = Vec::new();
    for c in cases() {
        let state = FreshNamespace {
            current_entries: c.current_entries,
        };
        let got = errno_of(&c.optval, &state);
        if got != c.errno {
            let why = validate_replace(&c.optval, &state)
                .err()
                .map(|e| format!("{e}"))
                .unwrap_or_default();
            failures.push(format!(
                "{} ({}): expected {} got {} {}",
                c.id, c.what, c.errno, got, why
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_truncation_of_the_reference_blob_is_rejected() {
    let full = spec7().optval();
    assert_eq!(errno_of(&full, &FreshNamespace::default()), 0);
    for len in 0..full.len() {
        assert_eq!(
            errno_of(&full[..len], &FreshNamespace::default()),
            22,
            "truncated to {len} bytes"
        );
    }
}

#[test]
fn every_truncation_of_size_is_rejected() {
    // Keep optlen, shrink the header's size: every cut inside the blob fails pass 1 or the walk.
    let full = spec7().optval();
    let size = u32::from_le_bytes(full[40..44].try_into().unwrap());
    for s in 0..size {
        let mut v = full.clone();
        v[40..44].copy_from_slice(&s.to_le_bytes());
        assert_ne!(
            errno_of(&v, &FreshNamespace::default()),
            0,
            "size {s} accepted"
        );
    }
}

fn known(errno: i32) -> bool {
    errno == 0 || Errno::from_code(errno).is_some()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        prop_assert!(known(errno_of(&bytes, &FreshNamespace::default())));
    }

    #[test]
    fn mutated_blobs_never_panic_and_round_trip(
        which in 0usize..200,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let all = cases();
        let mut v = all[which % all.len()].optval.clone();
        if v.is_empty() {
            return Ok(());
        }
        for (at, x) in flips {
            let i = at % v.len();
            v[i] ^= x;
        }
        if let Some(c) = cut {
            let n = c % (v.len() + 1);
            v.truncate(n);
        }
        prop_assert!(known(errno_of(&v, &FreshNamespace::default())));
        // Whatever validates is representable and emits back the same entries.
        if let Ok(val) = validate_replace(&v, &FreshNamespace::default()) {
            let t = crate::ir::Table::from_validated(&val);
            prop_assert!(t.is_ok(), "not representable: {:?}", t.err());
            // comefrom and counters aside: the kernel overwrites both.
            let zero = |mut b: Vec<u8>| {
                for &off in &val.offsets {
                    let o = off as usize;
                    b[o + 92..o + 112].fill(0);
                }
                b
            };
            prop_assert_eq!(zero(t.unwrap().to_entries()), zero(val.entries.bytes().to_vec()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// A ruleset valid by construction builds, validates, and reads back the same; and what
    /// validates survives emit + validate unchanged (the fuzz targets' invariants).
    #[test]
    fn valid_rulesets_validate_and_round_trip(seed in any::<u64>()) {
        use crate::ir::Table;
        use crate::testgen::gen::{random_ruleset, Rng};
        let rs = random_ruleset(&mut Rng::new(seed));
        let table = rs.build().unwrap();
        let info = crate::uapi::table_by_name(table.name.as_bytes()).unwrap();
        let blob = table.to_replace(info.initial_entries, 0);
        let v = validate_replace(&blob, &FreshNamespace::default());
        prop_assert!(v.is_ok(), "rejected: {}", v.err().map(|e| format!("{e}")).unwrap_or_default());
        let v = v.unwrap();
        let back = Table::from_validated(&v).unwrap();
        prop_assert_eq!(&back, &table);
        prop_assert_eq!(back.to_replace(info.initial_entries, 0), blob);
    }
}
