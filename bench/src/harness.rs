//! Setup, sanity checks, calibration and the interleaved rounds.

use crate::backend::{
    Applied, Backend, Baseline, Bpfilter, Hits, IptablesLegacy, NftLinear, NftSet, ProgStats,
};
use crate::cli::Options;
use crate::rules::{Profile, RuleSet, Verdict};
use crate::stats::{self, Rng};
use crate::topo::Sandbox;
use crate::BenchError;
use bpfilter_umh::sys::bpf::Program;
use bpfilter_umh::sys::bpf_xdp::load_xdp_pass;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Frames per sanity injection: enough to fill the never-read socket's queue (about 50
/// page-sized skbs in the default 208 KiB) with room to spare.
pub const SANITY_FRAMES: u32 = 256;
/// Fewest frames in one timed sample (very slow configurations).
pub const MIN_REPEAT: u32 = 16;
/// Most frames in one timed sample.
pub const MAX_REPEAT: u32 = 50_000_000;

static IPT: IptablesLegacy = IptablesLegacy;
static NFT_LINEAR: NftLinear = NftLinear;
static NFT_SET: NftSet = NftSet;
static BPFILTER: Bpfilter = Bpfilter;
static BASELINE_DROP: Baseline = Baseline {
    policy: Verdict::Drop,
};
static BASELINE_ACCEPT: Baseline = Baseline {
    policy: Verdict::Accept,
};

/// The backend behind an implementation name from [`crate::cli::IMPLS`].
pub fn backend(name: &str) -> Option<&'static dyn Backend> {
    let all: [&'static dyn Backend; 4] = [&IPT, &NFT_LINEAR, &NFT_SET, &BPFILTER];
    all.into_iter().find(|b| b.name() == name)
}

/// One implementation at one rule count, in its own namespace.
pub struct Config {
    /// The implementation.
    pub backend: &'static dyn Backend,
    /// Rule count (0 for the baselines).
    pub rules: usize,
    /// Namespace and applied ruleset; `None` while the backend is pending or when applying
    /// failed.
    pub live: Option<(Sandbox, Applied)>,
    /// Why applying the ruleset failed (the row is then reported as failed, the run goes on).
    pub failed: Option<String>,
}

impl Config {
    fn label(&self) -> String {
        format!("{} x {}", self.backend.name(), self.rules)
    }

    fn expected(&self, p: Profile) -> Verdict {
        if self.rules == 0 {
            // A baseline returns its policy for every packet.
            if self.backend.name() == BASELINE_ACCEPT.name() {
                Verdict::Accept
            } else {
                Verdict::Drop
            }
        } else {
            p.expected()
        }
    }
}

/// One timed (configuration, profile) pair.
#[derive(Clone, Debug)]
pub struct Job {
    /// Index into the configurations.
    pub config: usize,
    /// The profile.
    pub profile: Profile,
    /// Frames per sample.
    pub repeat: u32,
    /// Mean ns per frame of each round's sample.
    pub samples: Vec<f64>,
}

/// One row of the result: an implementation, a rule count and a profile.
#[derive(Clone, Debug)]
pub struct Row {
    /// Implementation name.
    pub impl_name: &'static str,
    /// Rule count.
    pub rules: usize,
    /// Profile.
    pub profile: Profile,
    /// Why there are no numbers (`"codegen pending"`, `"failed to load: ..."`), if there are
    /// none.
    pub pending: Option<String>,
    /// Smallest sample.
    pub min_ns: Option<f64>,
    /// Median sample.
    pub median_ns: Option<f64>,
    /// Median over rounds of (sample - baseline sample).
    pub filter_ns: Option<f64>,
    /// 95 % confidence interval of that median.
    pub filter_ci95: Option<(f64, f64)>,
    /// `filter_ns` / iptables-legacy's `filter_ns` for the same rules and profile.
    pub ratio: Option<f64>,
    /// Frames per sample.
    pub repeat: u32,
    /// Time to apply the ruleset.
    pub apply: Option<Duration>,
    /// BPF program statistics.
    pub prog: Option<ProgStats>,
}

/// Everything a run produced.
#[derive(Debug)]
pub struct Outcome {
    /// Baseline rows first, then by rule count, profile, implementation.
    pub rows: Vec<Row>,
    /// Seed of the round order.
    pub seed: u64,
    /// Rounds run.
    pub rounds: usize,
    /// Wall time of setup, sanity checks and timing.
    pub phases: [(&'static str, Duration); 3],
}

fn log(start: Instant, msg: &str) {
    eprintln!("[{:7.1}s] {msg}", start.elapsed().as_secs_f64());
}

/// Run the benchmark described by `opts`.
pub fn run(opts: &Options) -> Result<Outcome, BenchError> {
    let t0 = Instant::now();
    let gen = load_xdp_pass()?;
    let frames: Vec<(Profile, Vec<u8>)> = Profile::ALL.iter().map(|p| (*p, p.frame())).collect();
    let frame = |p: Profile| -> &[u8] {
        frames
            .iter()
            .find(|(q, _)| *q == p)
            .map_or(&[][..], |(_, f)| f.as_slice())
    };

    // --- setup: every namespace before any timing.
    let mut configs: Vec<Config> = Vec::new();
    for b in [&BASELINE_DROP as &dyn Backend, &BASELINE_ACCEPT] {
        let sb = Sandbox::new()?;
        let applied = b.apply(&sb, &RuleSet::generate(0))?;
        configs.push(Config {
            backend: b,
            rules: 0,
            live: Some((sb, applied)),
            failed: None,
        });
    }
    for &n in &opts.rules {
        let rs = RuleSet::generate(n);
        for name in &opts.impls {
            let b = backend(name).ok_or_else(|| BenchError(format!("no backend {name}")))?;
            let (live, failed) = if b.pending().is_some() {
                (None, None)
            } else {
                let sb = Sandbox::new()?;
                match b.apply(&sb, &rs) {
                    Ok(applied) => {
                        log(
                            t0,
                            &format!(
                                "{:>15} x {n:>6} rules applied in {:.1} ms",
                                b.name(),
                                applied.apply_time.as_secs_f64() * 1e3
                            ),
                        );
                        (Some((sb, applied)), None)
                    }
                    // A ruleset one implementation cannot take is a result too (bpfilter
                    // beyond the verifier's limit): a failed row, and the run goes on. The
                    // namespace goes with `sb`.
                    Err(e) => {
                        let first = e.to_string().lines().next().unwrap_or("").to_owned();
                        log(
                            t0,
                            &format!("{:>15} x {n:>6} rules FAILED: {first}", b.name()),
                        );
                        (None, Some(failed_reason(&first)))
                    }
                }
            };
            configs.push(Config {
                backend: b,
                rules: n,
                live,
                failed,
            });
        }
    }
    let setup = t0.elapsed();

    // --- sanity: the control namespace first, then every timed pair.
    let t1 = Instant::now();
    if let Some(Some((sb, _))) = configs.get(1).map(|c| c.live.as_ref()) {
        for p in Profile::ALL {
            control(sb, &gen, frame(p), p)?;
        }
    }
    let mut jobs = Vec::new();
    for (i, c) in configs.iter().enumerate() {
        let Some((sb, _)) = c.live.as_ref() else {
            continue;
        };
        for &p in &opts.profiles {
            let wanted = c.rules > 0 || c.expected(p) == p.expected();
            if !wanted {
                continue;
            }
            let est = check_verdict(c.backend, sb, &gen, frame(p), c.expected(p))
                .map_err(|e| BenchError(format!("sanity {} {}: {e}", c.label(), p.name())))?;
            // The sanity runs are short and start cold; one quarter-length sample refines the
            // estimate before the repeat count is fixed for every round.
            let target = opts.sample_ms.saturating_mul(1_000_000);
            let warm = repeat_for(target / 4, est);
            let est = sb.inject(&gen, frame(p), warm)?.min(est);
            let repeat = repeat_for(target, est);
            jobs.push(Job {
                config: i,
                profile: p,
                repeat,
                samples: Vec::with_capacity(opts.rounds),
            });
        }
    }
    log(
        t0,
        &format!(
            "sanity checks passed for {} (configuration, profile) pairs",
            jobs.len()
        ),
    );
    let sanity_time = t1.elapsed();

    // --- rounds: every job once per round, in a new random order each time.
    let t2 = Instant::now();
    let seed = opts.seed.unwrap_or_else(|| {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| {
            u64::try_from(d.as_nanos() & u128::from(u64::MAX)).unwrap_or(1)
        })
    });
    let mut rng = Rng::new(seed);
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    let mut kernel_timed = 0.0f64;
    for r in 0..opts.rounds {
        rng.shuffle(&mut order);
        for &j in &order {
            let Some(job) = jobs.get_mut(j) else { continue };
            let Some(Some((sb, _))) = configs.get(job.config).map(|c| c.live.as_ref()) else {
                continue;
            };
            let ns = sb.inject(&gen, frame(job.profile), job.repeat)?;
            job.samples.push(f64::from(ns));
            kernel_timed += f64::from(ns) * f64::from(job.repeat);
        }
        log(
            t0,
            &format!("round {}/{} done", r.saturating_add(1), opts.rounds),
        );
    }
    let timing = t2.elapsed();
    // The kernel stops its clock while the injecting thread is preempted (cond_resched in
    // bpf_test_timer_continue), so a busy machine shows up as wall time, not as ns/packet.
    log(
        t0,
        &format!(
            "timing: {:.1} s kernel-timed of {:.1} s wall",
            kernel_timed / 1e9,
            timing.as_secs_f64()
        ),
    );

    Ok(Outcome {
        rows: rows(&configs, &jobs, opts),
        seed,
        rounds: opts.rounds,
        phases: [
            ("setup", setup),
            ("sanity", sanity_time),
            ("timing", timing),
        ],
    })
}

/// A failed row's status: "failed to load: " and the error's first line, cut short.
fn failed_reason(first_line: &str) -> String {
    let short: String = first_line.chars().take(80).collect();
    format!("failed to load: {short}")
}

/// Frames per sample for `target_ns` at `est_ns` per frame.
fn repeat_for(target_ns: u64, est_ns: u32) -> u32 {
    u32::try_from(target_ns / u64::from(est_ns.max(1)))
        .unwrap_or(MAX_REPEAT)
        .clamp(MIN_REPEAT, MAX_REPEAT)
}

/// The control: in the namespace with a zero-rule ACCEPT filter, every profile's packet is
/// delivered to UDP. A drop seen elsewhere then comes from the filter, not from routing.
fn control(sb: &Sandbox, gen: &Program, frame: &[u8], p: Profile) -> Result<(), BenchError> {
    let (_, d) = sb.inject_counted(gen, frame, SANITY_FRAMES)?;
    let n = i64::from(SANITY_FRAMES);
    let got = (d.get("Ip:InReceives"), d.get("Ip:InDelivers"));
    if got != (n, n) {
        return Err(BenchError(format!(
            "control: {} packets without a filter: InReceives +{}, InDelivers +{} (want +{n} \
             each): the packets do not reach local delivery",
            p.name(),
            got.0,
            got.1
        )));
    }
    Ok(())
}

/// Inject a few hundred frames and check that the kernel saw them reach the hook and get the
/// verdict `want` (see `--help`, "HOW"). Returns the smallest ns per frame seen (for
/// calibration). Errors name the counter that disagreed.
pub fn check_verdict(
    backend: &dyn Backend,
    sb: &Sandbox,
    gen: &Program,
    frame: &[u8],
    want: Verdict,
) -> Result<u32, BenchError> {
    let n = i64::from(SANITY_FRAMES);
    let before = backend.hits(sb)?;
    let (ns1, d) = sb.inject_counted(gen, frame, SANITY_FRAMES)?;
    let after = backend.hits(sb)?;
    let delivered = match want {
        Verdict::Accept => n,
        Verdict::Drop => 0,
    };
    let check = |what: &str, got: i64, want: i64| {
        if got == want {
            Ok(())
        } else {
            Err(BenchError(format!("{what} +{got}, want +{want}")))
        }
    };
    check(
        "Ip InReceives (packets reaching IP)",
        d.get("Ip:InReceives"),
        n,
    )?;
    check(
        "Ip InDelivers (packets past LOCAL_IN)",
        d.get("Ip:InDelivers"),
        delivered,
    )?;
    check("Icmp OutMsgs (error replies)", d.get("Icmp:OutMsgs"), 0)?;
    if let (Some(b), Some(a)) = (before, after) {
        let delta =
            |f: fn(&Hits) -> u64| i64::try_from(f(&a).saturating_sub(f(&b))).unwrap_or(i64::MAX);
        check("policy counter", delta(|h| h.policy), n - delivered)?;
        check("last rule counter", delta(|h| h.last_rule), delivered)?;
    }
    let mut est = ns1;
    if want == Verdict::Accept {
        // Steady state for accepted packets: the socket queue is full and every packet ends
        // at the enqueue check, in every implementation alike.
        let (ns2, d2) = sb.inject_counted(gen, frame, SANITY_FRAMES)?;
        check(
            "Udp RcvbufErrors (socket queue full)",
            d2.get("Udp:RcvbufErrors"),
            n,
        )?;
        est = est.min(ns2);
    }
    Ok(est)
}

fn rows(configs: &[Config], jobs: &[Job], opts: &Options) -> Vec<Row> {
    let find = |name: &str, rules: usize, p: Profile| {
        jobs.iter().find(|j| {
            configs
                .get(j.config)
                .is_some_and(|c| c.backend.name() == name && c.rules == rules)
                && j.profile == p
        })
    };
    let base_of = |p: Profile| match p {
        Profile::Last => find(BASELINE_ACCEPT.name(), 0, p),
        Profile::Shallow | Profile::Deep => find(BASELINE_DROP.name(), 0, p),
    };
    let mut out = Vec::new();
    let mut emit = |c: &Config, p: Profile| {
        let job = find(c.backend.name(), c.rules, p);
        let samples = job.map(|j| j.samples.as_slice()).unwrap_or_default();
        let base = base_of(p).map(|j| j.samples.as_slice()).unwrap_or_default();
        let filter = stats::paired_diff(samples, base);
        // The baselines themselves have no filter cost.
        let filter_ns = (c.rules > 0).then(|| stats::median(&filter)).flatten();
        let ipt = find(IPT.name(), c.rules, p)
            .and_then(|j| stats::median(&stats::paired_diff(&j.samples, base)));
        // A ratio of the two medians, each of per-round differences to the same round's
        // baseline. Not a median of per-round ratios: with a filter cost of a few ns, a
        // round's difference is often 0 or negative (noise is several ns), and such a ratio
        // says nothing, while dropping those rounds would bias the rest.
        let ratio = filter_ns
            .zip(ipt)
            .and_then(|(f, i)| (i > 0.0).then(|| f / i));
        let (apply, prog) = c
            .live
            .as_ref()
            .map_or((None, None), |(_, a)| (Some(a.apply_time), a.prog));
        out.push(Row {
            impl_name: c.backend.name(),
            rules: c.rules,
            profile: p,
            pending: c
                .backend
                .pending()
                .map(str::to_owned)
                .or_else(|| c.failed.clone()),
            min_ns: stats::min(samples),
            median_ns: stats::median(samples),
            filter_ns,
            filter_ci95: (c.rules > 0).then(|| stats::median_ci95(&filter)).flatten(),
            ratio,
            repeat: job.map_or(0, |j| j.repeat),
            apply,
            prog,
        });
    };
    for c in configs.iter().filter(|c| c.rules == 0) {
        for &p in &opts.profiles {
            if c.expected(p) == p.expected() {
                emit(c, p);
            }
        }
    }
    for &n in &opts.rules {
        for &p in &opts.profiles {
            for c in configs.iter().filter(|c| c.rules == n) {
                emit(c, p);
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;
    use crate::rules::{udp_frame, DST, PEER_MAC, RULE_SRC, SPORT, VETH_MAC};

    /// The checks pass on the real setup and fail, naming the counter, when the packets
    /// never reach the rules or get another verdict than expected.
    #[test]
    fn sanity_checks_can_fail() {
        let gen = load_xdp_pass().unwrap();
        let rules = RuleSet::generate(10);
        for b in [&IPT as &dyn Backend, &NFT_LINEAR, &NFT_SET] {
            let sb = Sandbox::new().unwrap();
            b.apply(&sb, &rules).unwrap();
            for p in Profile::ALL {
                check_verdict(b, &sb, &gen, &p.frame(), p.expected()).unwrap();
            }
            // The wrong verdict is noticed.
            let e = check_verdict(b, &sb, &gen, &Profile::Deep.frame(), Verdict::Accept);
            assert!(e.unwrap_err().0.contains("InDelivers"), "{}", b.name());
            // A frame for another MAC is dropped before IP: nothing reaches the hook.
            let mut other = Profile::Deep.frame();
            other[5] ^= 0xff;
            let e = check_verdict(b, &sb, &gen, &other, Verdict::Drop).unwrap_err();
            assert!(e.0.contains("InReceives"), "{}: {e}", b.name());
        }
    }

    /// A packet no rule and no socket wants, accepted by the policy, would take the ICMP
    /// error path: the check refuses it.
    #[test]
    fn icmp_error_path_is_refused() {
        let gen = load_xdp_pass().unwrap();
        let sb = Sandbox::new().unwrap();
        BASELINE_ACCEPT.apply(&sb, &RuleSet::generate(0)).unwrap();
        let f = udp_frame(VETH_MAC, PEER_MAC, RULE_SRC, DST, SPORT, 7);
        let e = check_verdict(&BASELINE_ACCEPT, &sb, &gen, &f, Verdict::Accept).unwrap_err();
        assert!(e.0.contains("Icmp"), "{e}");
    }
}
