//! `bpfilter-verify verdicts`: verdict and counter parity on generated rulesets and packets.
//!
//! The verification triangle (DESIGN.md) has three edges; each is an [`Edge`] here:
//!
//! ```text
//!   (b) core::eval  vs  the kernel's iptables   -- KernelEdge: the lab's namespaces
//!   (a) core::eval  vs  generated BPF           -- BpfEdge: BPF_PROG_TEST_RUN
//!   (c) attached BPF vs  the kernel's iptables   -- AttachedEdge: two labs, same packets
//! ```
//!
//! For every ruleset the edges load the same SET_REPLACE blob; for every packet they report
//! agreement, a reason to skip (the packet never reached the hook), or a disagreement, which
//! is saved under `--out` as `verdict-SEED-R-P.bin` (the blob, replaceable as is into a fresh
//! namespace) and `.txt` (hook, devices, skb facts, packet hex, both outcomes, the ruleset as
//! iptables-save text). The run exits non-zero on any disagreement.
//!
//! Everything random comes from one seed: a run is repeated with `--seed`. With
//! `VERDICTS_DEBUG` set in the environment every packet's observation is printed to stderr.

#[path = "verdicts_bpf.rs"]
pub mod bpf;
#[path = "verdicts_gen.rs"]
pub mod gen;
#[path = "verdicts_kernel.rs"]
pub mod kernel;

use bpfilter_core::eval::{EvalState, Evaluator, Input, Outcome, Skb, Verdict};
use bpfilter_core::ir::Table;
use bpfilter_core::testgen::gen::Rng;
use bpfilter_core::uapi::HOOK_NAMES;
use bpfilter_core::validate::{validate_replace, FreshNamespace};
use gen::{TestPacket, FWD, IN, OUT};
use kernel::{Lab, Observed};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

/// Usage text for the subcommand.
pub const USAGE: &str = "\
  bpfilter-verify verdicts [--rulesets N] [--packets M] [--seed S] [--max-rules K] [--out DIR]
                           [--no-bpf] [--bpf-only] [--quiet]

  verdicts   random filter rulesets from core::eval's supported subset and packets aimed at
             their fields, on the three edges of the verification triangle:
               (b) core::eval against the kernel's own iptables: the same blob in throwaway
                   namespaces, real packets through veth pairs, per-rule counters read back;
               (a) core::eval against the generated BPF programs under BPF_PROG_TEST_RUN;
               (c) the generated programs attached in a namespace lab against iptables in
                   another, on the same packets (counters, acceptance, mark).
             --no-bpf runs (b) only; --bpf-only generates only what the code generator
             supports (otherwise half the rulesets). Each disagreement (and each table the code generator or
             the verifier fails on) is written to DIR/verdict-SEED-R-P-EDGE.{bin,txt};
             exit status 1 if any. Defaults: 20 rulesets, 50 packets each, 6 rules per chain
             at most, a seed from the clock (printed).
";

/// A run's parameters.
#[derive(Clone, Debug)]
pub struct Config {
    /// Rulesets to generate.
    pub rulesets: u64,
    /// Packets per ruleset.
    pub packets: u64,
    /// Seed.
    pub seed: u64,
    /// Rules per chain, at most.
    pub max_rules: usize,
    /// Where reproducers go.
    pub out: PathBuf,
    /// Print each disagreement to stderr.
    pub verbose: bool,
    /// Run edges (a) and (c) too (the generated BPF under BPF_PROG_TEST_RUN, and attached).
    pub bpf: bool,
    /// Only rulesets the code generator supports (otherwise half of them are).
    pub bpf_only: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rulesets: 20,
            packets: 50,
            seed: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1),
            max_rules: 6,
            out: PathBuf::from("verify-out"),
            verbose: true,
            bpf: true,
            bpf_only: false,
        }
    }
}

/// Parse the subcommand's arguments.
pub fn parse(mut it: impl Iterator<Item = String>) -> Result<Config, String> {
    let mut c = Config::default();
    while let Some(x) = it.next() {
        let mut val = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let num = |s: String, name: &str| s.parse::<u64>().map_err(|e| format!("{name}: {e}"));
        match x.as_str() {
            "--rulesets" => c.rulesets = num(val("--rulesets")?, "--rulesets")?,
            "--packets" => c.packets = num(val("--packets")?, "--packets")?,
            "--seed" => c.seed = num(val("--seed")?, "--seed")?,
            "--max-rules" => c.max_rules = num(val("--max-rules")?, "--max-rules")? as usize,
            "--out" => c.out = val("--out")?.into(),
            "--quiet" => c.verbose = false,
            "--no-bpf" => c.bpf = false,
            "--bpf-only" => c.bpf_only = true,
            _ => return Err(format!("unknown argument {x:?}")),
        }
    }
    Ok(c)
}

/// A ruleset as every edge gets it.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The table core::eval runs: parsed back from the blob when core::validate accepts it.
    pub table: Table,
    /// The table as built (its `to_replace` is the blob).
    pub built: Table,
    /// The ruleset uses conntrack matches.
    pub uses_ct: bool,
    /// iptables-save text, for reports.
    pub save: String,
}

impl Loaded {
    /// The SET_REPLACE blob for a namespace whose filter table has `num_counters` entries.
    pub fn blob(&self, num_counters: u32) -> Vec<u8> {
        self.built.to_replace(num_counters, 0)
    }
}

/// The result of one (ruleset, packet) pair on one edge.
#[derive(Clone, Debug)]
pub enum Check {
    /// Both sides agree.
    Agree,
    /// The pair does not count (the packet never reached the hook, ...).
    Skip(&'static str),
    /// They differ: the report.
    Disagree(String),
}

/// What an edge made of a ruleset.
#[derive(Clone, Debug)]
pub enum LoadResult {
    /// Ready for packets.
    Ready,
    /// This edge does not take it (the kernel refused it; the code generator does not
    /// implement one of its extensions): not compared, counted by reason.
    Skip(String),
    /// It should have taken it and did not (the verifier refused a generated program, ...):
    /// counted as a disagreement and saved.
    Fail(String),
}

/// One edge of the triangle.
pub trait Edge {
    /// Short name for the summary.
    fn name(&self) -> &'static str;
    /// The edge's letter, for reproducer file names.
    fn tag(&self) -> &'static str;
    /// Take a new ruleset.
    fn load(&mut self, rs: &Loaded) -> Result<LoadResult, String>;
    /// One packet.
    fn check(&mut self, rs: &Loaded, p: &TestPacket) -> Result<Check, String>;
    /// What the compared pairs covered (outcome kinds, conntrack states, ...).
    fn coverage(&self) -> Vec<(String, u64)> {
        Vec::new()
    }
}

/// Edge (b): core::eval against the kernel's iptables in the lab.
pub struct KernelEdge {
    lab: Lab,
    states: [Option<EvalState>; 3],
    coverage: BTreeMap<String, u64>,
}

impl KernelEdge {
    /// Build the lab.
    pub fn new() -> Result<KernelEdge, String> {
        Ok(KernelEdge {
            lab: Lab::new()?,
            states: [None, None, None],
            coverage: BTreeMap::new(),
        })
    }
}

fn slot(hook: usize) -> usize {
    match hook {
        IN => 0,
        FWD => 1,
        _ => 2,
    }
}

/// core::eval's prediction of the counter deltas: (packets, bytes) per entry.
fn predicted(o: &Outcome, n: usize, len: usize) -> Vec<(u64, u64)> {
    o.packet_counts(n)
        .into_iter()
        .map(|c| (c, c * len as u64))
        .collect()
}

impl KernelEdge {
    /// Tally what an agreeing pair exercised.
    fn count(&mut self, o: &Outcome, obs: &Observed, data: &[u8], skb: &Skb) {
        let mut add = |k: String| *self.coverage.entry(k).or_default() += 1;
        add(format!("{} by {:?}", o.verdict, o.cause));
        add(format!("ct {:?}", obs.ct)
            .replace("{ reply: true }", "reply")
            .replace("{ reply: false }", "orig"));
        if u16::from_be_bytes([data[6], data[7]]) & 0x1FFF != 0 {
            add("non-first fragment".into());
        }
        if !o.logs.is_empty() {
            add("LOG passed".into());
        }
        if o.counted.len() > 1 {
            add("several entries counted".into());
        }
        if o.mark != 0 {
            add("nonzero mark at the end".into());
        }
        if skb.pkt_type == 1 {
            add("link broadcast".into());
        }
    }
}

impl Edge for KernelEdge {
    fn name(&self) -> &'static str {
        "eval vs kernel (b)"
    }

    fn tag(&self) -> &'static str {
        "b"
    }

    fn coverage(&self) -> Vec<(String, u64)> {
        self.coverage.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    fn load(&mut self, rs: &Loaded) -> Result<LoadResult, String> {
        match self.lab.load(|n| rs.blob(n), rs.uses_ct)? {
            Ok(()) => {
                // The kernel ran checkentry (limit's buckets start) now: so does eval.
                for s in &mut self.states {
                    *s = Some(EvalState::new(&rs.table, 0));
                }
                Ok(LoadResult::Ready)
            }
            Err(errno) => Ok(LoadResult::Skip(format!(
                "the kernel refused it ({})",
                bpfilter_core::error::Errno::from_code(errno)
                    .map_or_else(|| format!("errno {errno}"), |e| e.name().to_string())
            ))),
        }
    }

    fn check(&mut self, rs: &Loaded, p: &TestPacket) -> Result<Check, String> {
        let obs = self.lab.send(p)?;
        if std::env::var_os("VERDICTS_DEBUG").is_some() {
            let hit: Vec<String> = obs
                .filter
                .iter()
                .enumerate()
                .filter(|(_, c)| c.0 > 0)
                .map(|(i, c)| format!("{i}:{}/{}", c.0, c.1))
                .collect();
            eprintln!(
                "pkt hook {} proto {} len {} frag {:02x}{:02x} -> delivered {} ct {:?} accepted {} [{}] {:?}",
                p.hook,
                p.bytes[9],
                p.bytes.len(),
                p.bytes[6],
                p.bytes[7],
                obs.delivered,
                obs.ct,
                obs.accepted,
                hit.join(" "),
                obs.send_error
            );
        }
        if !obs.delivered {
            return Ok(Check::Skip(if obs.send_error.is_some() {
                "sendto failed, never reached the hook"
            } else {
                "never reached the hook"
            }));
        }
        let now = self.lab.jiffies();
        let data = p.at_hook();
        let skb = Skb {
            mark: p.initial_mark(),
            ct: obs.ct,
            ct_status: obs.ct_status,
            pkt_type: p.pkt_type(),
            src_mac: p.src_mac(),
        };
        let input = Input {
            hook: p.hook,
            data: &data,
            indev: p.indev().as_bytes(),
            outdev: p.outdev().as_bytes(),
            skb,
        };
        let ev = Evaluator::new(&rs.table);
        let state = self.states[slot(p.hook)]
            .as_mut()
            .ok_or("check before load")?;
        let res = ev.run(state, &input, now);
        let n = rs.table.entries.len();
        let agree = match &res {
            Ok(o) => {
                predicted(o, n, data.len()) == obs.filter
                    && (o.verdict == Verdict::Accept) == obs.accepted
                    && obs.mark.is_none_or(|m| m == o.mark)
            }
            Err(_) => false,
        };
        if agree {
            if let Ok(o) = &res {
                self.count(o, &obs, &data, &skb);
            }
            return Ok(Check::Agree);
        }
        Ok(Check::Disagree(report(p, &data, &skb, &obs, &res, rs)))
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn report(
    p: &TestPacket,
    at_hook: &[u8],
    skb: &Skb,
    obs: &Observed,
    res: &Result<Outcome, bpfilter_core::eval::EvalError>,
    rs: &Loaded,
) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "hook {} indev {:?} outdev {:?}",
        HOOK_NAMES[p.hook],
        p.indev(),
        p.outdev()
    );
    let _ = writeln!(t, "skb: {skb:?}");
    let _ = writeln!(t, "packet as sent:  {}", hex(&p.bytes));
    let _ = writeln!(t, "packet at hook:  {}", hex(at_hook));
    let _ = writeln!(
        t,
        "kernel: accepted {}{}",
        obs.accepted,
        obs.mark
            .map_or(String::new(), |m| format!(", mark after filter {m:#x}"))
    );
    for (i, &(pk, by)) in obs.filter.iter().enumerate() {
        if pk != 0 || by != 0 {
            let _ = writeln!(t, "  entry {i}: +{pk} packets +{by} bytes");
        }
    }
    match res {
        Ok(o) => {
            let _ = writeln!(
                t,
                "eval: {} by entry {} ({:?}), counted {:?}, mark {:#x}",
                o.verdict, o.decided_by, o.cause, o.counted, o.mark
            );
            for (i, (pk, by)) in predicted(o, rs.table.entries.len(), at_hook.len())
                .into_iter()
                .enumerate()
            {
                let k = obs.filter.get(i).copied().unwrap_or((0, 0));
                if (pk, by) != k {
                    let _ = writeln!(t, "  entry {i}: eval +{pk}/+{by}, kernel +{}/+{}", k.0, k.1);
                }
            }
        }
        Err(e) => {
            let _ = writeln!(t, "eval: error: {e}");
        }
    }
    let _ = writeln!(t, "ruleset:\n{}", rs.save);
    t
}

/// One edge's tally.
#[derive(Debug, Default)]
pub struct EdgeTally {
    /// The edge.
    pub name: &'static str,
    /// Rulesets it ran.
    pub rulesets: u64,
    /// Pairs that agreed.
    pub agree: u64,
    /// Pairs that disagreed.
    pub disagree: u64,
    /// Pairs skipped, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Rulesets it did not take, by reason.
    pub not_taken: BTreeMap<String, u64>,
    /// Rulesets it failed to take (counted as disagreements).
    pub load_failures: u64,
    /// What its agreeing pairs covered.
    pub coverage: Vec<(String, u64)>,
}

/// Counts of a run.
#[derive(Debug, Default)]
pub struct Report {
    /// Seed.
    pub seed: u64,
    /// Rulesets generated.
    pub rulesets: u64,
    /// Entries of the smallest and the largest ruleset (policies and chain ends included).
    pub entries: (usize, usize),
    /// Rulesets core::validate refused, by its reason (each also shows in the kernel edge:
    /// when the kernel took it, that is a validation disagreement to chase).
    pub validate_refused: BTreeMap<String, u64>,
    /// Per edge.
    pub edges: Vec<EdgeTally>,
    /// Packets per hook.
    pub per_hook: BTreeMap<&'static str, u64>,
    /// Rulesets per layout mutation ([`gen::mutate_table`]).
    pub mutations: BTreeMap<&'static str, u64>,
    /// Seconds.
    pub secs: f64,
}

fn list<K: std::fmt::Display>(m: &BTreeMap<K, u64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Report {
    /// Total disagreements (failed loads included).
    pub fn disagreements(&self) -> u64 {
        self.edges
            .iter()
            .map(|e| e.disagree + e.load_failures)
            .sum()
    }

    /// Print the summary.
    pub fn print(&self, cfg: &Config) {
        println!(
            "bpfilter-verify verdicts --seed {} --rulesets {} --packets {} --max-rules {}",
            self.seed, cfg.rulesets, cfg.packets, cfg.max_rules
        );
        println!(
            "rulesets:       {} ({} to {} entries)",
            self.rulesets, self.entries.0, self.entries.1
        );
        if !self.validate_refused.is_empty() {
            println!(
                "                refused by core::validate: {}",
                list(&self.validate_refused)
            );
        }
        println!("packets:        {}", list(&self.per_hook));
        if !self.mutations.is_empty() {
            println!("layouts:        {}", list(&self.mutations));
        }
        for e in &self.edges {
            println!(
                "{}: {} rulesets, {} agree, {} disagree{}",
                e.name,
                e.rulesets,
                e.agree,
                e.disagree,
                if e.load_failures > 0 {
                    format!(", {} rulesets FAILED to load", e.load_failures)
                } else {
                    String::new()
                }
            );
            if !e.not_taken.is_empty() {
                println!("  not taken: {}", list(&e.not_taken));
            }
            if !e.skipped.is_empty() {
                println!("  skipped pairs: {}", list(&e.skipped));
            }
            let c: Vec<String> = e.coverage.iter().map(|(k, v)| format!("{k} {v}")).collect();
            if !c.is_empty() {
                println!("  covered: {}", c.join(", "));
            }
        }
        println!("time:           {:.1}s", self.secs);
    }
}

/// The table's eval twin: parsed back from the blob (the kernel's view of it).
fn prepare(built: Table, uses_ct: bool) -> Result<(Loaded, Option<String>), String> {
    let fresh = built.to_replace(4, 0);
    let (table, validated) = match validate_replace(&fresh, &FreshNamespace::default()) {
        Ok(v) => (
            Table::from_validated(&v).map_err(|e| format!("from_validated: {e}"))?,
            None,
        ),
        Err(e) => (built.clone(), Some(e.to_string())),
    };
    let mut save = String::new();
    built.save(&mut save);
    Ok((
        Loaded {
            table,
            built,
            uses_ct,
            save,
        },
        validated,
    ))
}

/// Run `cfg` on `edges`.
pub fn run(cfg: &Config, edges: &mut [Box<dyn Edge>]) -> Result<Report, String> {
    let started = Instant::now();
    let mut rep = Report {
        seed: cfg.seed,
        edges: edges
            .iter()
            .map(|e| EdgeTally {
                name: e.name(),
                ..EdgeTally::default()
            })
            .collect(),
        ..Report::default()
    };
    let mut rng = Rng::new(cfg.seed);
    for r in 0..cfg.rulesets {
        let g = gen::ruleset(&mut rng, cfg.max_rules, cfg.bpf_only);
        let mut built = g
            .ruleset
            .build()
            .map_err(|e| format!("generated ruleset does not build: {e}"))?;
        for m in gen::mutate_table(&mut rng, &mut built) {
            *rep.mutations.entry(m).or_default() += 1;
        }
        let n = built.entries.len();
        rep.entries = if rep.rulesets == 0 {
            (n, n)
        } else {
            (rep.entries.0.min(n), rep.entries.1.max(n))
        };
        let (rs, validated) = prepare(built, g.hints.uses_ct)?;
        rep.rulesets += 1;
        if let Some(v) = validated {
            // Keep the reason without the entry/offset details, so the summary groups them.
            let key = v.split(" at ").next().unwrap_or(&v).to_string();
            *rep.validate_refused.entry(key).or_default() += 1;
        }
        let mut ready = vec![false; edges.len()];
        for (i, e) in edges.iter_mut().enumerate() {
            let t = &mut rep.edges[i];
            match e.load(&rs)? {
                LoadResult::Ready => {
                    ready[i] = true;
                    t.rulesets += 1;
                }
                LoadResult::Skip(why) => *t.not_taken.entry(why).or_default() += 1,
                LoadResult::Fail(text) => {
                    t.load_failures += 1;
                    save(cfg, r, "load", e.tag(), e.name(), &rs, &text)?;
                }
            }
        }
        if !ready.iter().any(|&x| x) {
            continue;
        }
        let mut history = gen::History::default();
        for k in 0..cfg.packets {
            let hook = *rng.pick(&[IN, FWD, OUT]);
            let p = gen::packet(&mut rng, &g.hints, hook, &history);
            history.push(&p);
            *rep.per_hook.entry(HOOK_NAMES[hook]).or_default() += 1;
            for (i, e) in edges.iter_mut().enumerate() {
                if !ready[i] {
                    continue;
                }
                let t = &mut rep.edges[i];
                match e.check(&rs, &p)? {
                    Check::Agree => t.agree += 1,
                    Check::Skip(why) => *t.skipped.entry(why).or_default() += 1,
                    Check::Disagree(text) => {
                        t.disagree += 1;
                        save(cfg, r, &k.to_string(), e.tag(), e.name(), &rs, &text)?;
                    }
                }
            }
        }
    }
    for (t, e) in rep.edges.iter_mut().zip(edges.iter()) {
        t.coverage = e.coverage();
    }
    rep.secs = started.elapsed().as_secs_f64();
    Ok(rep)
}

fn save(
    cfg: &Config,
    r: u64,
    k: &str,
    tag: &str,
    edge: &str,
    rs: &Loaded,
    text: &str,
) -> Result<(), String> {
    std::fs::create_dir_all(&cfg.out).map_err(|e| format!("{}: {e}", cfg.out.display()))?;
    let base = cfg.out.join(format!("verdict-{}-{r}-{k}-{tag}", cfg.seed));
    std::fs::write(base.with_extension("bin"), rs.blob(4)).map_err(|e| e.to_string())?;
    let full = format!(
        "{edge}: seed {} ruleset {r} packet {k}\nblob: {} (SET_REPLACE for a fresh namespace)\n{text}",
        cfg.seed,
        base.with_extension("bin").display()
    );
    std::fs::write(base.with_extension("txt"), &full).map_err(|e| e.to_string())?;
    if cfg.verbose {
        eprintln!("DISAGREE {full}");
    }
    Ok(())
}

/// The subcommand: parse, run every available edge, print. `Ok(true)` if nothing disagreed.
pub fn main(args: impl Iterator<Item = String>) -> Result<bool, String> {
    let cfg = parse(args)?;
    let mut edges: Vec<Box<dyn Edge>> = vec![Box::new(KernelEdge::new()?)];
    if cfg.bpf {
        edges.push(Box::new(bpf::BpfEdge::new()?));
        edges.push(Box::new(bpf::AttachedEdge::new()?));
    }
    let rep = run(&cfg, &mut edges)?;
    rep.print(&cfg);
    Ok(rep.disagreements() == 0)
}

// Hook numbers the report names.
const _: () = assert!(IN == 1 && FWD == 2 && OUT == 3);
