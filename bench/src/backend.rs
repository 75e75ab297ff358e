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

/// bpfilter: the same `iptables-legacy-restore` input, run through `bpfilter exec` in the
/// configuration's namespace, so the rules are validated, compiled to netfilter BPF programs
/// and linked at LOCAL_IN priority 0 exactly as a user gets them. The apply time is that whole
/// command. The pinned links are then taken over by [`Applied::hold`] (and the pins removed),
/// so dropping the configuration detaches them. Program figures come from loading the same
/// table's programs once more without attaching them.
#[derive(Debug)]
pub struct Bpfilter;

/// The `bpfilter` binary: `$BPFILTER`, or beside this executable (`target/release/`).
fn bpfilter_bin() -> Result<std::path::PathBuf, BenchError> {
    if let Some(p) = std::env::var_os("BPFILTER") {
        return Ok(p.into());
    }
    let exe = std::env::current_exe().map_err(|e| BenchError(format!("current_exe: {e}")))?;
    let p = exe
        .parent()
        .map(|d| d.join("bpfilter"))
        .ok_or_else(|| BenchError("no directory for the bpfilter binary".into()))?;
    if p.is_file() {
        Ok(p)
    } else {
        Err(BenchError(format!(
            "{} not found: run the benchmark with scripts/bench.sh (which builds it), build it \
             with `cargo build --release -p bpfilter-umh`, or set BPFILTER",
            p.display()
        )))
    }
}

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

    /// Load (not attach) the table's programs to read the kernel's figures for LOCAL_IN.
    fn stats(rules: &RuleSet) -> Result<ProgStats, BenchError> {
        use bpfilter_core::validate::{validate_replace, FreshNamespace};
        let blob = Self::blob(rules)?;
        let n = bpfilter_umh::capture::num_counters(&blob);
        let v = validate_replace(&blob, &FreshNamespace { current_entries: n })
            .map_err(|e| BenchError(format!("validate: {e}")))?;
        let table = bpfilter_core::ir::Table::from_validated(&v)
            .map_err(|e| BenchError(format!("ir: {e:?}")))?;
        let opts = bpfilter_umh::loader::LoaderOptions {
            compile: bpfilter_umh::loader::host_compile_options()
                .map_err(|e| BenchError(format!("{e}")))?,
            log_level: bpfilter_umh::sys::bpf::LOG_STATS,
        };
        let loaded = bpfilter_umh::loader::load_table(&table, &opts)
            .map_err(|e| BenchError(format!("{e}")))?;
        let h = loaded
            .hook(usize::try_from(NF_INET_LOCAL_IN).unwrap_or(1))
            .ok_or_else(|| BenchError("no LOCAL_IN program".into()))?;
        Ok(ProgStats {
            insns: h.stats.insn_cnt,
            verified_insns: h.stats.verified_insns,
            jited_len: h.stats.jited_len,
            load_time: h.stats.load_time,
        })
    }
}

static APPLIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Backend for Bpfilter {
    fn name(&self) -> &'static str {
        "bpfilter"
    }

    fn apply(&self, sb: &Sandbox, rules: &RuleSet) -> Result<Applied, BenchError> {
        use std::io::Write;
        let bin = bpfilter_bin()?;
        let n = APPLIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tag = format!("bpfbench{}_{n}", std::process::id());
        let state = std::env::temp_dir().join(&tag);
        let pins = std::path::Path::new("/sys/fs/bpf").join(&tag);
        let text = rules.iptables_restore();
        let mut cmd = std::process::Command::new(&bin);
        cmd.args(["exec", "-q", "--state-dir"])
            .arg(&state)
            .arg("--pin-dir")
            .arg(&pins)
            .args(["--", "iptables-legacy-restore", "-w"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        sb.ns.command(&mut cmd)?;
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| BenchError(format!("{}: {e}", bin.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .map_err(|e| BenchError(format!("bpfilter exec stdin: {e}")))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| BenchError(format!("bpfilter exec: {e}")))?;
        let apply_time = start.elapsed();
        let take_links = || -> Result<Vec<Link>, BenchError> {
            let mut hold = Vec::new();
            for ns_dir in std::fs::read_dir(&pins)
                .map_err(|e| BenchError(format!("{}: {e}", pins.display())))?
            {
                let dir = ns_dir
                    .map_err(|e| BenchError(e.to_string()))?
                    .path()
                    .join("filter");
                for h in 0..5 {
                    if let Ok(l) = Link::from_pinned(&dir.join(format!("link_{h}"))) {
                        hold.push(l);
                    }
                }
            }
            Ok(hold)
        };
        let hold = if out.status.success() {
            take_links()
        } else {
            Ok(Vec::new())
        };
        // The links now live in `hold` only: dropping the configuration detaches them.
        let _ = std::fs::remove_dir_all(&pins);
        let _ = std::fs::remove_dir_all(&state);
        if !out.status.success() {
            return Err(BenchError(format!(
                "bpfilter exec -- iptables-legacy-restore: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let hold = hold?;
        if hold.is_empty() {
            return Err(BenchError("bpfilter attached no links".into()));
        }
        Ok(Applied {
            apply_time,
            prog: Some(Self::stats(rules)?),
            hold,
        })
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
