//! Edge (b) of the verification triangle on a small fixed-seed sample: core::eval's verdict and
//! per-entry counter increments against the kernel's own iptables, with real packets in
//! throwaway network namespaces (the harness of `bpfilter-verify verdicts`, compiled in here).
//!
//! Needs root. Without it this test fails, never skips: CI runs as root.

#[path = "../../verify/src/verdicts.rs"]
#[allow(dead_code, reason = "the subcommand's CLI parts are not used here")]
mod verdicts;

use bpfilter_core::ir::{Table, Target};
use bpfilter_umh::oracle::probe;
use std::collections::BTreeMap;
use verdicts::{Check, Config, Edge, KernelEdge, Loaded};

fn config(name: &str, rulesets: u64, packets: u64) -> Config {
    Config {
        rulesets,
        packets,
        seed: 0x5EED_2026,
        max_rules: 6,
        out: std::env::temp_dir().join(format!("bpfilter-{name}-{}", std::process::id())),
        verbose: true,
        // Edge (b) only: this test is about core::eval against the kernel.
        bpf: false,
        bpf_only: false,
    }
}

#[test]
fn eval_agrees_with_the_kernel_on_a_fixed_sample() {
    if let Err(e) = probe() {
        panic!("{e}");
    }
    let cfg = config("verdicts", 60, 40);
    let mut edges: Vec<Box<dyn Edge>> = vec![Box::new(KernelEdge::new().expect("lab"))];
    let rep = verdicts::run(&cfg, &mut edges).expect("run");
    rep.print(&cfg);
    assert_eq!(
        rep.disagreements(),
        0,
        "reproducers in {}",
        cfg.out.display()
    );
    let b = &rep.edges[0];
    assert!(
        b.not_taken.is_empty(),
        "the kernel refused generated rulesets: {:?}",
        b.not_taken
    );
    assert!(
        rep.validate_refused.is_empty(),
        "core::validate refused rulesets the kernel took: {:?}",
        rep.validate_refused
    );
    let (agree, skipped) = (b.agree, b.skipped.values().sum::<u64>());
    assert!(
        agree >= 60 * 40 * 95 / 100,
        "only {agree} pairs compared ({skipped} skipped)"
    );
    // The sample reaches the corners it is meant to.
    let covered: BTreeMap<&str, u64> = b.coverage.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    for want in [
        "ACCEPT by Target",
        "DROP by Target",
        "DROP by Hotdrop",
        "DROP by JumpStackFull",
        "ct New",
        "ct Invalid",
        "non-first fragment",
        "LOG passed",
        "nonzero mark at the end",
    ] {
        assert!(
            covered.contains_key(want),
            "sample never hit {want:?}: {covered:?}"
        );
    }
}

/// Every built-in policy flipped (ACCEPT <-> DROP) in the table core::eval sees, never in the
/// blob the kernel gets.
fn flip_policies(t: &Table) -> Table {
    let mut t = t.clone();
    for u in t.underflow.iter().flatten() {
        let e = &mut t.entries[*u];
        e.target = match e.target {
            Target::Accept => Target::Drop,
            _ => Target::Accept,
        };
    }
    t
}

/// The kernel edge with core::eval looking at a tampered table.
struct Tampered(KernelEdge);

impl Tampered {
    fn tamper(rs: &Loaded) -> Loaded {
        Loaded {
            table: flip_policies(&rs.table),
            ..rs.clone()
        }
    }
}

impl Edge for Tampered {
    fn name(&self) -> &'static str {
        "tampered eval vs kernel"
    }
    fn tag(&self) -> &'static str {
        "t"
    }
    fn load(&mut self, rs: &Loaded) -> Result<verdicts::LoadResult, String> {
        self.0.load(&Self::tamper(rs))
    }
    fn check(&mut self, rs: &Loaded, p: &verdicts::gen::TestPacket) -> Result<Check, String> {
        self.0.check(&Self::tamper(rs), p)
    }
}

#[test]
fn the_harness_sees_a_wrong_evaluator() {
    if let Err(e) = probe() {
        panic!("{e}");
    }
    let cfg = Config {
        verbose: false,
        ..config("verdicts-tampered", 10, 20)
    };
    let mut edges: Vec<Box<dyn Edge>> = vec![Box::new(Tampered(KernelEdge::new().expect("lab")))];
    let rep = verdicts::run(&cfg, &mut edges).expect("run");
    // Policies decide a good share of packets: many of them must disagree, and each one is
    // saved as a reproducer.
    assert!(rep.disagreements() > 20, "{rep:?}");
    let saved = std::fs::read_dir(&cfg.out)
        .expect("reproducers")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "txt"))
        })
        .count();
    assert_eq!(saved as u64, rep.disagreements());
    let _ = std::fs::remove_dir_all(&cfg.out);
}
