//! Edge (a): core::eval against the generated BPF programs under `BPF_PROG_TEST_RUN`.
//!
//! Each ruleset is compiled and loaded once (`umh::loader::load_table`, every hook); each
//! packet runs through its hook's program in a test run, and the per-rule counters map is
//! read before and after. What the program sees is what `bpf_prog_test_run_nf` builds, and
//! core::eval gets exactly those facts:
//!
//! * devices: with a context (the loader passes one for every hook but LOCAL_OUT),
//!   `verify_and_copy_hook_state` picks the devices by `state->hook` *before* copying the
//!   user's hook into it, so it always takes the LOCAL_OUT branch: `out` is the loopback
//!   device ("lo") and `in` is NULL, whatever the hook. Without a context (LOCAL_OUT) both
//!   stay NULL.
//! * `pkt_type`: before LOCAL_OUT, `eth_type_trans` on the loopback device sees a destination
//!   MAC that is not its own: `PACKET_OTHERHOST`; at LOCAL_OUT it stays `PACKET_HOST`.
//! * mark 0, no conntrack entry (INVALID).
//!
//! Rulesets with an extension the code generator does not implement are not taken (counted
//! by extension); a program the verifier refuses, or any other failure to load a table the
//! kernel accepted, is a failure of the edge.
//!
//! Edge (c), [`AttachedEdge`], is here too: the same programs attached in a lab
//! ([`super::kernel`]) against the kernel's iptables in another.

use super::gen::{TestPacket, OUT};
use super::kernel::Lab;
use super::{hex, predicted, Check, Edge, LoadResult, Loaded};
use bpfilter_core::codegen::{CompileError, Prescreen};
use bpfilter_core::eval::{Ct, EvalState, Evaluator, Input, Skb, Verdict};
use bpfilter_core::uapi::HOOK_NAMES;
use bpfilter_umh::loader::{
    host_compile_options, load_table, LoadedTable, LoaderError, LoaderOptions,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

/// `PACKET_OTHERHOST`.
const PACKET_OTHERHOST: u8 = 3;

/// Edge (a).
pub struct BpfEdge {
    opts: LoaderOptions,
    loaded: Option<LoadedTable>,
    state: Option<EvalState>,
    counters: Vec<(u64, u64)>,
    loaded_at: Instant,
    coverage: BTreeMap<String, u64>,
    /// `(hook, first, len, key)` of every classified run the loaded programs hold.
    classified: Vec<(usize, usize, usize, &'static str)>,
    /// `(hook, kind)` of every prescreen the loaded programs have.
    prescreened: Vec<(usize, Prescreen)>,
}

/// Loader options for the running kernel (its BTF).
pub(super) fn loader_options() -> Result<LoaderOptions, String> {
    let compile = host_compile_options().map_err(|e| format!("code generator: {e}"))?;
    Ok(LoaderOptions {
        compile,
        // Not 0: umh::sys::bpf passes a log buffer whatever the level, and the kernel
        // refuses a buffer with level 0 (EINVAL, reported as "no netfilter programs"). A
        // refused program is reloaded with the full log anyway.
        log_level: bpfilter_umh::sys::bpf::LOG_STATS,
    })
}

/// What a failed load means for an edge: the code generator's documented refusals are not
/// taken; anything else on a table the kernel accepts is a failure.
pub(super) fn load_outcome(e: LoaderError, rs: &Loaded) -> LoadResult {
    match e {
        LoaderError::Compile(c) => match refusal(&c) {
            Some(why) => LoadResult::Skip(why),
            None => LoadResult::Fail(format!(
                "the code generator refused a table the kernel takes: {c}\nruleset:\n{}",
                rs.save
            )),
        },
        e => LoadResult::Fail(format!(
            "loading the generated programs failed: {e}\nruleset:\n{}",
            rs.save
        )),
    }
}

impl BpfEdge {
    /// Compile options for the running kernel (its BTF).
    pub fn new() -> Result<BpfEdge, String> {
        Ok(BpfEdge {
            opts: loader_options()?,
            loaded: None,
            state: None,
            counters: Vec::new(),
            loaded_at: Instant::now(),
            coverage: BTreeMap::new(),
            classified: Vec::new(),
            prescreened: Vec::new(),
        })
    }

    fn jiffies(&self) -> u64 {
        let ms = self.loaded_at.elapsed().as_millis();
        (ms * u128::from(self.opts.compile.hz) / 1000) as u64
    }

    /// The output device of a test run at `hook` (see the module docs).
    fn outdev(hook: usize) -> &'static str {
        if hook == OUT {
            ""
        } else {
            "lo"
        }
    }

    /// The skb facts of a test run at `hook`.
    fn facts(hook: usize) -> Skb {
        Skb {
            mark: 0,
            ct: Ct::Invalid,
            ct_status: 0,
            pkt_type: if hook == OUT { 0 } else { PACKET_OTHERHOST },
            src_mac: None,
        }
    }
}

/// Why the code generator refuses a table, grouped by extension (entry numbers left out).
pub(super) fn refusal(e: &CompileError) -> Option<String> {
    match e {
        CompileError::UnsupportedMatch { name, .. } => Some(format!("codegen: no match {name}")),
        CompileError::UnsupportedTarget { name, .. } => Some(format!("codegen: no target {name}")),
        // Documented limits of BPF, not bugs.
        CompileError::TooDeep { .. } => Some("codegen: chains nest too deep".into()),
        CompileError::StackTooLarge { .. } => Some("codegen: stack too large".into()),
        _ => None,
    }
}

impl Edge for BpfEdge {
    fn name(&self) -> &'static str {
        "eval vs BPF test run (a)"
    }

    fn tag(&self) -> &'static str {
        "a"
    }

    fn coverage(&self) -> Vec<(String, u64)> {
        self.coverage.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    fn load(&mut self, rs: &Loaded) -> Result<LoadResult, String> {
        self.loaded = None;
        match load_table(&rs.table, &self.opts) {
            Ok(t) => {
                self.counters = t.counters().map_err(|e| format!("counters: {e}"))?;
                self.state = Some(EvalState::with_hz(&rs.table, 0, self.opts.compile.hz));
                self.classified = t
                    .hooks
                    .iter()
                    .flat_map(|h| {
                        let c = &h.compiled;
                        c.classified()
                            .map(move |r| (h.hook, r.first, r.len, r.key.name()))
                    })
                    .collect();
                self.prescreened = t
                    .hooks
                    .iter()
                    .filter_map(|h| h.compiled.stats.prescreen.map(|p| (h.hook, p)))
                    .collect();
                for (_, p) in &self.prescreened {
                    let what = match p {
                        Prescreen::Direct { .. } => "hooks with a direct prescreen",
                        Prescreen::Fields { .. } => "hooks with a fields prescreen",
                    };
                    *self.coverage.entry(what.into()).or_default() += 1;
                }
                if !self.classified.is_empty() {
                    *self
                        .coverage
                        .entry("rulesets with classified runs".into())
                        .or_default() += 1;
                }
                for c in t.hooks.iter().flat_map(|h| h.compiled.classified()) {
                    *self
                        .coverage
                        .entry(format!("runs keyed on {}", c.key.name()))
                        .or_default() += 1;
                }
                self.loaded = Some(t);
                self.loaded_at = Instant::now();
                Ok(LoadResult::Ready)
            }
            Err(e) => Ok(load_outcome(e, rs)),
        }
    }

    fn check(&mut self, rs: &Loaded, p: &TestPacket) -> Result<Check, String> {
        let now = self.jiffies();
        let t = self.loaded.as_ref().ok_or("check before load")?;
        let data = p.at_hook();
        let out = t
            .test_run(p.hook, &data, 1)
            .map_err(|e| format!("test run: {e}"))?;
        let counters = t.counters().map_err(|e| format!("counters: {e}"))?;
        let delta: Vec<(u64, u64)> = counters
            .iter()
            .zip(self.counters.iter().chain(std::iter::repeat(&(0, 0))))
            .map(|(&(p1, b1), &(p0, b0))| (p1.wrapping_sub(p0), b1.wrapping_sub(b0)))
            .collect();
        self.counters = counters;
        let skb = Self::facts(p.hook);
        let input = Input {
            hook: p.hook,
            data: &data,
            indev: b"",
            outdev: Self::outdev(p.hook).as_bytes(),
            skb,
        };
        let ev = Evaluator::new(&rs.table);
        let state = self.state.as_mut().ok_or("check before load")?;
        let res = ev.run(state, &input, now);
        let n = rs.table.entries.len();
        let bpf_verdict = match out.retval {
            0 => Some(Verdict::Drop),
            1 => Some(Verdict::Accept),
            _ => None,
        };
        if let Ok(o) = &res {
            if predicted(o, n, data.len()) == delta && bpf_verdict == Some(o.verdict) {
                *self
                    .coverage
                    .entry(format!("{} by {:?}", o.verdict, o.cause))
                    .or_default() += 1;
                // Packets through a prescreened hook: decided by the policy (which the
                // prescreen may have done) or by an entry (it let them through).
                for (hook, kind) in &self.prescreened {
                    if *hook != p.hook {
                        continue;
                    }
                    let kind = match kind {
                        Prescreen::Direct { .. } => "direct",
                        Prescreen::Fields { .. } => "fields",
                    };
                    let by =
                        if rs.table.underflow.get(*hook).copied().flatten() == Some(o.decided_by) {
                            "the policy"
                        } else {
                            "an entry"
                        };
                    *self
                        .coverage
                        .entry(format!("{kind} prescreen: decided by {by}"))
                        .or_default() += 1;
                }
                // Packets that reached a classified run: decided inside it (a hit), or
                // counted nothing in it (a miss or a common-part mismatch went on).
                for &(hook, first, len, key) in &self.classified {
                    if hook != p.hook {
                        continue;
                    }
                    let what = if (first..first + len).contains(&o.decided_by) {
                        match o.decided_by - first {
                            0 => "decided by a run's first entry",
                            d if d + 1 == len => "decided by a run's last entry",
                            _ => "decided inside a run",
                        }
                    } else {
                        "decided outside the run"
                    };
                    *self
                        .coverage
                        .entry(format!("classified ({key}): {what}"))
                        .or_default() += 1;
                }
                return Ok(Check::Agree);
            }
        }
        let mut text = String::new();
        let _ = writeln!(
            text,
            "hook {} (test run: indev \"\", outdev {:?})\nskb: {skb:?}\npacket: {}",
            HOOK_NAMES[p.hook],
            Self::outdev(p.hook),
            hex(&data)
        );
        let _ = writeln!(text, "bpf: retval {}", out.retval);
        for (i, &(pk, by)) in delta.iter().enumerate() {
            if pk != 0 || by != 0 {
                let _ = writeln!(text, "  entry {i}: +{pk} packets +{by} bytes");
            }
        }
        match &res {
            Ok(o) => {
                let _ = writeln!(
                    text,
                    "eval: {} by entry {} ({:?}), counted {:?}",
                    o.verdict, o.decided_by, o.cause, o.counted
                );
            }
            Err(e) => {
                let _ = writeln!(text, "eval: error: {e}");
            }
        }
        let _ = writeln!(text, "ruleset:\n{}", rs.save);
        Ok(Check::Disagree(text))
    }
}

/// Edge (c): the generated programs attached in a lab of their own, against the kernel's
/// iptables in another, on the same real packets: per-rule counters, whether the packet was
/// accepted, the mark after filter. Both labs are built alike (marks, conntrack probes), so
/// the two enforcers see the same packets with the same facts.
pub struct AttachedEdge {
    kernel: Lab,
    bpf: Lab,
    opts: LoaderOptions,
    coverage: BTreeMap<String, u64>,
}

impl AttachedEdge {
    /// Build both labs.
    pub fn new() -> Result<AttachedEdge, String> {
        Ok(AttachedEdge {
            kernel: Lab::new()?,
            bpf: Lab::new()?,
            opts: loader_options()?,
            coverage: BTreeMap::new(),
        })
    }
}

impl Edge for AttachedEdge {
    fn name(&self) -> &'static str {
        "attached BPF vs kernel (c)"
    }

    fn tag(&self) -> &'static str {
        "c"
    }

    fn coverage(&self) -> Vec<(String, u64)> {
        self.coverage.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    fn load(&mut self, rs: &Loaded) -> Result<LoadResult, String> {
        if let Err(errno) = self.kernel.load(|n| rs.blob(n), rs.uses_ct)? {
            return Ok(LoadResult::Skip(format!(
                "the kernel refused it (errno {errno})"
            )));
        }
        Ok(
            match self.bpf.load_bpf(&rs.table, &self.opts, rs.uses_ct)? {
                Ok(()) => LoadResult::Ready,
                Err(e) => load_outcome(e, rs),
            },
        )
    }

    fn check(&mut self, rs: &Loaded, p: &TestPacket) -> Result<Check, String> {
        let k = self.kernel.send(p)?;
        let b = self.bpf.send(p)?;
        if !k.delivered && !b.delivered {
            return Ok(Check::Skip("never reached the hook"));
        }
        if k.delivered == b.delivered
            && k.filter == b.filter
            && k.accepted == b.accepted
            && k.mark == b.mark
        {
            let what = if k.accepted { "accepted" } else { "dropped" };
            *self.coverage.entry(what.to_string()).or_default() += 1;
            return Ok(Check::Agree);
        }
        let mut text = String::new();
        let _ = writeln!(
            text,
            "hook {} indev {:?} outdev {:?}\npacket as sent: {}\npacket at hook: {}",
            HOOK_NAMES[p.hook],
            p.indev(),
            p.outdev(),
            hex(&p.bytes),
            hex(&p.at_hook())
        );
        for (who, o) in [("kernel", &k), ("bpf", &b)] {
            let _ = writeln!(
                text,
                "{who}: delivered {} ct {:?} status {:#x} accepted {} mark {:?}",
                o.delivered, o.ct, o.ct_status, o.accepted, o.mark
            );
            for (i, &(pk, by)) in o.filter.iter().enumerate() {
                if pk != 0 || by != 0 {
                    let _ = writeln!(text, "  entry {i}: +{pk} packets +{by} bytes");
                }
            }
        }
        let _ = writeln!(text, "ruleset:\n{}", rs.save);
        Ok(Check::Disagree(text))
    }
}
