//! The running kernel as the oracle for the committed fixtures (tests/fixtures/*.bin, made by
//! scripts/gen-fixtures.sh from the .rules beside them).
//!
//! For every fixture, in a fresh network namespace: the kernel accepts it and capturing the table
//! afterwards gives back the fixture's bytes; the kernel's SET_REPLACE errno and
//! `validate_replace`'s errno against a fresh-namespace model are equal, for the fixture and for
//! broken variants of it. A fixture carries
//! `num_counters` = its own entry count (it was captured from a live table), so it is patched to
//! the fresh table's count before both see it.
//!
//! Needs root. Without it these tests fail, never skip: CI runs as root.

use bpfilter_core::uapi::{table_by_name, TableInfo};
use bpfilter_core::validate::{validate_replace, FreshNamespace};
use bpfilter_umh::capture::{capture_from, num_counters, set_num_counters};
use bpfilter_umh::oracle::{kernel_replace_errno, probe, KernelOracle};
use bpfilter_umh::sys::ipt::IptSocket;
use bpfilter_umh::sys::netns::{in_new_netns, NetNs};
use std::path::PathBuf;
use std::process::Command;

struct Fixture {
    name: String,
    bytes: Vec<u8>,
    table: &'static TableInfo,
}

impl Fixture {
    /// The fixture as it applies to a fresh namespace: num_counters = the fresh entry count.
    fn fresh_optval(&self) -> Vec<u8> {
        let mut b = self.bytes.clone();
        assert!(set_num_counters(&mut b, self.table.initial_entries));
        b
    }
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn fixtures() -> Vec<Fixture> {
    let dir = fixture_dir();
    let mut out: Vec<Fixture> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable fixtures directory").path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                p.with_extension("rules").exists() && p.with_extension("save").exists(),
                "{name}: every blob fixture sits beside the rules that made it and their \
                 iptables-save text"
            );
            let table = table_by_name(bytes.get(..31).unwrap_or_default())
                .unwrap_or_else(|| panic!("{name}: not a blob for a known table"));
            Fixture { name, bytes, table }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(
        out.len() >= 15,
        "expected the committed fixtures, found {}",
        out.len()
    );
    out
}

fn require_root() {
    if let Err(e) = probe() {
        panic!("{e}");
    }
}

/// Fail with every collected failure listed, not just the first.
fn assert_no_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn validator_errno(optval: &[u8]) -> (i32, String) {
    match validate_replace(optval, &FreshNamespace::default()) {
        Ok(_) => (0, String::from("accepted")),
        Err(e) => (e.errno().code(), e.to_string()),
    }
}

/// Kernel only: every fixture is accepted by a fresh namespace's kernel, and capturing the
/// table afterwards gives back exactly the fixture (with its own num_counters).
#[test]
fn kernel_accepts_every_fixture_and_capture_round_trips() {
    require_root();
    let mut failures = Vec::new();
    for f in fixtures() {
        // The fixture is what the kernel returned, so its own count is the live table's.
        assert_eq!(
            num_counters(&f.bytes),
            bpfilter_core::blob::read_u32(&f.bytes, 36),
            "{}: a capture has num_counters = num_entries",
            f.name
        );
        let optval = f.fresh_optval();
        let (errno, captured) = in_new_netns(|| {
            let sock = IptSocket::new().expect("x_tables socket");
            match sock.replace(&optval) {
                Ok(()) => (0, Some(capture_from(&sock, f.table.name).expect("capture"))),
                Err(errno) => (errno, None),
            }
        })
        .expect("fresh network namespace");
        if errno != 0 {
            failures.push(format!(
                "{}: the kernel rejected its own capture with errno {errno}; regenerate it \
                 with scripts/gen-fixtures.sh",
                f.name
            ));
        } else if captured.as_deref() != Some(f.bytes.as_slice()) {
            failures.push(format!(
                "{}: capture after replace differs from the fixture",
                f.name
            ));
        }
    }
    assert_no_failures(&failures);
}

/// NAME.save (the golden iptables-save text) is what iptables-legacy-save prints for NAME.bin
/// once the kernel holds it, so the two can never drift apart.
#[test]
fn save_golden_is_what_iptables_prints_for_the_blob() {
    require_root();
    let mut failures = Vec::new();
    for f in fixtures() {
        let golden = std::fs::read_to_string(fixture_dir().join(f.name.replace(".bin", ".save")))
            .unwrap_or_else(|e| panic!("{}: .save golden: {e}", f.name));
        let ns = NetNs::new().expect("fresh network namespace");
        let optval = f.fresh_optval();
        let errno = ns
            .run(|| IptSocket::new().expect("socket").replace(&optval))
            .expect("enter namespace");
        assert_eq!(errno, Ok(()), "{}", f.name);
        let out = ns
            .command(Command::new("iptables-legacy-save").args(["-t", f.table.name]))
            .expect("command in namespace")
            .output()
            .expect("run iptables-legacy-save");
        assert!(
            out.status.success(),
            "{}: iptables-legacy-save failed",
            f.name
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let saved: String = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        if saved != golden {
            failures.push(format!("{}:\n{saved}", f.name));
        }
    }
    assert!(
        failures.is_empty(),
        "iptables-legacy-save differs from the .save golden:\n{}",
        failures.join("\n")
    );
}

/// Kernel vs validator on every fixture as captured and on broken variants of it, made the same
/// way for all of them (no expected errno is written down here; the kernel decides).
#[test]
fn kernel_and_validator_agree_on_fixtures_and_broken_variants() {
    require_root();
    type Mutation = (&'static str, fn(&mut Vec<u8>));
    let mutations: [Mutation; 9] = [
        ("as captured", |_| {}),
        ("num_counters + 1", |b| {
            let n = num_counters(b).unwrap_or(0);
            set_num_counters(b, n + 1);
        }),
        ("last 8 bytes cut", |b| {
            b.truncate(b.len().saturating_sub(8));
        }),
        ("valid_hooks bit 0 flipped", |b| b[32] ^= 1),
        ("num_entries - 1", |b| b[36] = b[36].wrapping_sub(1)),
        ("first entry's next_offset + 8", |b| {
            b[96 + 90] = b[96 + 90].wrapping_add(8)
        }),
        ("first entry's target_offset - 8", |b| {
            b[96 + 88] = b[96 + 88].wrapping_sub(8)
        }),
        ("first entry's ip.invflags = 0x80", |b| b[96 + 83] = 0x80),
        ("last entry's target name mangled", |b| {
            // The final entry is the ERROR entry (64-byte target at its end): rename it.
            let at = b.len() - 64 + 2;
            b[at] = b'X';
        }),
    ];
    let fixtures = fixtures();
    let mut oracle = KernelOracle::new().expect("oracle namespace");
    let mut failures = Vec::new();
    let mut cases = 0;
    for f in &fixtures {
        for (what, mutate) in &mutations {
            let mut optval = f.fresh_optval();
            mutate(&mut optval);
            let kernel = oracle.replace_errno(&optval).expect("oracle");
            let (model, why) = validator_errno(&optval);
            if kernel != model {
                failures.push(format!(
                    "{} [{what}]: kernel errno {kernel}, validator errno {model} ({why})",
                    f.name
                ));
            }
            cases += 1;
        }
    }
    // The batched oracle must agree with a namespace per blob; spot-check one fixture's cases.
    for (what, mutate) in &mutations {
        let mut optval = fixtures[0].fresh_optval();
        mutate(&mut optval);
        assert_eq!(
            oracle.replace_errno(&optval).expect("oracle"),
            kernel_replace_errno(&optval).expect("fresh namespace"),
            "{} [{what}]",
            fixtures[0].name
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
