//! The implementations under test, behind one trait.
//!
//! Each backend puts the same [`RuleSet`] at the same place: hook `LOCAL_IN`, priority 0 (the
//! filter table's `NF_IP_PRI_FILTER`), policy DROP, into a [`Sandbox`] of its own.

use crate::rules::{RuleSet, Verdict};
use crate::topo::Sandbox;
use crate::BenchError;
use bpfilter_core::blob::Entries;
use bpfilter_core::codegen::Builder;
use bpfilter_umh::sys::bpf::{Link, LoadOptions, NetfilterAttach, Program, NFPROTO_IPV4};
use bpfilter_umh::sys::ipt::IptSocket;
use std::time::{Duration, Instant};

/// `NF_INET_LOCAL_IN`.
pub const NF_INET_LOCAL_IN: u32 = 1;
/// The filter table's priority (`NF_IP_PRI_FILTER`).
pub const NF_IP_PRI_FILTER: i32 = 0;

/// What the kernel said about a loaded BPF program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgStats {
    /// Instructions submitted.
    pub insns: usize,
    /// Instructions the verifier processed (`verified_insns`).
    pub verified_insns: u32,
    /// JIT image size in bytes.
    pub jited_len: u32,
    /// Wall time of `BPF_PROG_LOAD` (verification + JIT).
    pub load_time: Duration,
}

/// A ruleset in force in a namespace.
#[derive(Debug)]
pub struct Applied {
    /// Wall time from the start of the apply to the ruleset being in force.
    pub apply_time: Duration,
    /// For BPF backends, the program's load statistics.
    pub prog: Option<ProgStats>,
    /// Objects that keep the ruleset attached (closing a netfilter link's fd detaches it).
    pub hold: Vec<Link>,
}

/// Per-rule packet counters, where the implementation keeps them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hits {
    /// Packets that met the chain policy.
    pub policy: u64,
    /// Packets that matched the last rule.
    pub last_rule: u64,
}

/// An implementation of the benchmark's ruleset.
pub trait Backend: Sync {
    /// Name in the output (`iptables-legacy`, `nft-linear`, ...).
    fn name(&self) -> &'static str;

    /// Why this backend cannot run yet, if it cannot.
    fn pending(&self) -> Option<&'static str> {
        None
    }

    /// Put `rules` in force in `sb`.
    fn apply(&self, sb: &Sandbox, rules: &RuleSet) -> Result<Applied, BenchError>;

    /// The policy and last-rule packet counters in `sb`, if this backend has them without
    /// changing the ruleset under test.
    fn hits(&self, _sb: &Sandbox) -> Result<Option<Hits>, BenchError> {
        Ok(None)
    }
}

/// The kernel's x_tables through `iptables-legacy-restore`.
#[derive(Debug)]
pub struct IptablesLegacy;

impl Backend for IptablesLegacy {
    fn name(&self) -> &'static str {
        "iptables-legacy"
    }

    fn apply(&self, sb: &Sandbox, rules: &RuleSet) -> Result<Applied, BenchError> {
        let text = rules.iptables_restore();
        // -w: wait for the xtables lock (/run/xtables.lock is shared by every namespace).
        let apply_time = sb.run("iptables-legacy-restore", &["-w"], Some(&text))?;
        Ok(Applied {
            apply_time,
            prog: None,
            hold: Vec::new(),
        })
    }

    /// INPUT's policy entry is at `underflow[LOCAL_IN]`; the last rule is the entry before it.
    fn hits(&self, sb: &Sandbox) -> Result<Option<Hits>, BenchError> {
        let (info, entries) = sb.ns.run(|| -> Result<_, BenchError> {
            let sock = IptSocket::new()?;
            let errno = |e| BenchError(format!("IPT_SO_GET_*: errno {e}"));
            let info = sock.get_info("filter").map_err(errno)?;
            let entries = sock.get_entries("filter", info.size.get()).map_err(errno)?;
            Ok((info, entries))
        })??;
        let local_in = usize::try_from(NF_INET_LOCAL_IN).unwrap_or(1);
        let underflow = info
            .underflow
            .get(local_in)
            .map(|u| u.get())
            .ok_or_else(|| BenchError("no LOCAL_IN underflow".into()))?;
        let table = Entries::new(&entries);
        let mut prev = None;
        for e in table.iter() {
            let pcnt = e.header().counters.pcnt.get();
            if u32::try_from(e.pos()).ok() == Some(underflow) {
                return Ok(Some(Hits {
                    policy: pcnt,
                    last_rule: prev.unwrap_or(0),
                }));
            }
            prev = Some(pcnt);
        }
        Err(BenchError("INPUT policy entry not found".into()))
    }
}

/// nftables, one rule per rule, through `nft -f`.
#[derive(Debug)]
pub struct NftLinear;

impl Backend for NftLinear {
    fn name(&self) -> &'static str {
        "nft-linear"
    }

    fn apply(&self, sb: &Sandbox, rules: &RuleSet) -> Result<Applied, BenchError> {
        let apply_time = sb.run("nft", &["-f", "-"], Some(&rules.nft_linear()))?;
        Ok(Applied {
            apply_time,
            prog: None,
            hold: Vec::new(),
        })
    }
}

/// nftables, the rules as one concatenated-key set, through `nft -f`.
#[derive(Debug)]
pub struct NftSet;

impl Backend for NftSet {
    fn name(&self) -> &'static str {
        "nft-set"
    }

    fn apply(&self, sb: &Sandbox, rules: &RuleSet) -> Result<Applied, BenchError> {
        let apply_time = sb.run("nft", &["-f", "-"], Some(&rules.nft_set()))?;
        Ok(Applied {
            apply_time,
            prog: None,
            hold: Vec::new(),
        })
    }
}

/// Zero rules: a netfilter BPF program that returns the policy verdict at once, linked at
/// LOCAL_IN priority 0. The cheapest possible filter at the same hook; every other backend's
/// filter-only cost is measured against it. Ignores the ruleset it is given.
#[derive(Debug)]
pub struct Baseline {
    /// The policy: DROP for the mismatch profiles, ACCEPT for the last-match profile (whose
    /// packets must travel on to the socket exactly as an accepted packet does).
    pub policy: Verdict,
}

impl Backend for Baseline {
    fn name(&self) -> &'static str {
        match self.policy {
            Verdict::Drop => "baseline",
            Verdict::Accept => "baseline-accept",
        }
    }

    fn apply(&self, sb: &Sandbox, _rules: &RuleSet) -> Result<Applied, BenchError> {
        let start = Instant::now();
        let mut b = Builder::new();
        b.ret(match self.policy {
            Verdict::Drop => 0,
            Verdict::Accept => 1,
        });
        let insns = b
            .finish()
            .map_err(|e| BenchError(format!("baseline program: {e:?}")))?;
        let opts = LoadOptions {
            name: "bench_baseline",
            ..LoadOptions::default()
        };
        let (prog, stats) = Program::load_netfilter(&insns, &opts)?;
        let at = NetfilterAttach {
            pf: NFPROTO_IPV4,
            hooknum: NF_INET_LOCAL_IN,
            priority: NF_IP_PRI_FILTER,
            flags: 0,
        };
        let link = sb.ns.run(|| Link::netfilter(&prog, &at))??;
        Ok(Applied {
            apply_time: start.elapsed(),
            prog: Some(ProgStats {
                insns: stats.insn_cnt,
                verified_insns: stats.verified_insns,
                jited_len: stats.jited_len,
                load_time: stats.load_time,
            }),
            hold: vec![link],
        })
    }
}

/// bpfilter: the iptables-legacy blob of the same rules, compiled to one netfilter BPF program
/// and linked at LOCAL_IN priority 0.
///
/// SLOT — NOT IMPLEMENTED YET: the code generator that turns a validated blob into a program
/// does not exist yet, so this backend reports itself pending and the harness prints its rows
/// as "n/a (codegen pending)". No numbers are produced for it. When the generator lands,
/// `apply` becomes:
///
/// 1. the blob: [`Bpfilter::blob`] (iptables-legacy-restore into a scratch namespace, then
///    `umh::capture::capture("filter")`), or built directly;
/// 2. timed from here: `core::validate::validate_replace(blob, &FreshNamespace)`, codegen to
///    `Vec<Insn>`, `Program::load_netfilter` (its `LoadStats` fill [`ProgStats`]), and
///    `Link::netfilter(prog, {NFPROTO_IPV4, LOCAL_IN, priority 0})` inside `sb.ns`;
/// 3. `hold` keeps the link; `hits` reads the per-rule counter map once it exists.
#[derive(Debug)]
pub struct Bpfilter;

impl Bpfilter {
    /// The SET_REPLACE blob iptables-legacy sends for `rules`, captured from a scratch
    /// namespace (with `comefrom` and counters zeroed, as `umh::capture` gives it).
    pub fn blob(rules: &RuleSet) -> Result<Vec<u8>, BenchError> {
        let scratch = Sandbox::new()?;
        IptablesLegacy.apply(&scratch, rules)?;
        let blob = scratch
            .ns
            .run(|| bpfilter_umh::capture::capture("filter"))??;
        Ok(blob)
    }
}

impl Backend for Bpfilter {
    fn name(&self) -> &'static str {
        "bpfilter"
    }

    fn pending(&self) -> Option<&'static str> {
        Some("codegen pending")
    }

    fn apply(&self, _sb: &Sandbox, _rules: &RuleSet) -> Result<Applied, BenchError> {
        Err(BenchError(
            "bpfilter backend: code generator pending (see the slot's doc)".into(),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;
    use bpfilter_core::blob::ReplaceView;

    /// The bpfilter slot's input is a real blob: 3 policies + N rules + the ERROR entry.
    #[test]
    fn bpfilter_blob_has_every_rule() {
        let blob = Bpfilter::blob(&RuleSet::generate(5)).unwrap();
        let view = ReplaceView::new(&blob).unwrap();
        assert_eq!(view.header().num_entries.get(), 5 + 3 + 1);
        assert_eq!(view.entries().unwrap().iter().count(), 9);
    }
}
