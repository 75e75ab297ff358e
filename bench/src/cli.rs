//! Command line.

use crate::rules::Profile;
use std::path::PathBuf;

/// The full matrix of rule counts.
pub const FULL_RULES: [usize; 9] = [1, 10, 100, 500, 1000, 2000, 8000, 10_000, 100_000];
/// `--quick`: up to 1,000 rules.
pub const QUICK_RULES: [usize; 5] = [1, 10, 100, 500, 1000];
/// Every implementation, in output order.
pub const IMPLS: [&str; 4] = ["iptables-legacy", "nft-linear", "nft-set", "bpfilter"];

/// `--help`.
pub const HELP: &str = "\
bpfilter-bench: per-packet cost of iptables-legacy, nftables and bpfilter on the same rules

USAGE
    scripts/bench.sh [OPTIONS]                                (as root, from the repository:
                                                               installs iptables and nftables
                                                               if missing, builds, runs)
    cargo run --release -p bpfilter-bench -- [OPTIONS]        (as root, bpfilter built)

OPTIONS
    --quick             reduced matrix: rule counts up to 1,000, 3 rounds (under two minutes)
    --rules LIST        rule counts, e.g. 1,100,10000 (default 1,10,100,500,1000,2000,8000,
                        10000,100000)
    --profiles LIST     shallow,deep,last (default all)
    --impls LIST        iptables-legacy,nft-linear,nft-set,bpfilter (default all)
    --rounds N          timed rounds (default 10; --quick 3)
    --sample-ms MS      target length of one timed sample (default 20; --quick 10)
    --seed N            seed of the round order (default: from the clock; printed)
    --json FILE         also write one JSON row per configuration to FILE
    -h, --help          this text

WHAT IS MEASURED
    The whole receive path of one UDP packet into a network namespace whose INPUT hook
    (LOCAL_IN, priority 0, the filter table's place) holds N rules of the form
        -s 10.0.0.2/32 -p udp --dport P -j ACCEPT        policy DROP
    in each implementation: iptables-legacy (iptables-legacy-restore), nftables with one rule
    per rule (nft-linear), nftables with the same rules as one `ip saddr . udp dport` set
    (nft-set), and bpfilter (the iptables-legacy blob compiled to a netfilter BPF program;
    shown as n/a until its code generator exists).

    Profiles (the packet, against every rule):
        shallow   the first field differs (source 10.0.0.3): each rule fails at once
        deep      only the last field differs (port 4999): each rule is read to the end
        last      the last rule matches (port 5000): the packet is accepted after N rules
    Above 60,001 rules the ports repeat (a port has 16 bits); the nft set holds the
    distinct entries, which accept exactly the same packets.

HOW
    Packets: BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on an XDP program returning
    XDP_PASS, called inside the namespace with xdp_md.ingress_ifindex = its veth and the
    veth's own MAC as destination: each frame takes the real path ip_rcv -> PREROUTING ->
    routing -> LOCAL_IN -> UDP. The kernel times it: ns per packet for the whole path, with
    its clock stopped while the thread is preempted. (The test machine has no pktgen.)

    Every configuration (implementation x rule count, plus the baselines) gets its own
    network namespace, all set up before timing. Namespaces are held only by file
    descriptors and vanish when the program exits, on error or ctrl-C alike.

    Before timing, a few hundred packets of each profile go into each configuration and the
    kernel's counters must agree: Ip InReceives grew by exactly that many, Ip InDelivers by
    all of them (ACCEPT) or none (DROP), no ICMP errors sent; for iptables-legacy also the
    rule counters (last rule or policy). A control namespace without a filter checks that
    every profile's packet is delivered when nothing drops it. A benchmark whose packets never
    reach the rules would measure nothing; this one stops instead.

    Rounds: each round takes one sample (about --sample-ms of packets) of every
    configuration and profile, in a new random order, so drift and noise from other load
    spread evenly instead of landing on one configuration.

WHY POLICY DROP
    With an ACCEPT policy and no listener, every packet that no rule drops continues to UDP
    and triggers an ICMP port-unreachable reply, about 900 ns that have nothing to do with
    filtering. With policy DROP the mismatching packets stop at the hook. The last-match
    packets are accepted and go to a bound, never-read UDP socket whose queue is full, so
    they end cheaply and identically in every implementation.

OUTPUT
    min_ns, median_ns   ns per packet for the whole path, over the rounds
    filter_ns           filter-only cost: per round, this configuration minus the baseline
                        (the same hook with zero rules: a netfilter BPF program returning
                        DROP, or ACCEPT for the last-match profile), median over rounds
    ci95                95% confidence interval of that median (order statistics of the
                        rounds): the kernel reports whole ns per packet and samples of the
                        same configuration differ by several ns from round to round, so two
                        filter costs of a few ns are only told apart by many rounds
    ratio               filter_ns / iptables-legacy's filter_ns for the same rules and profile
                        (< 1: cheaper than iptables). Both are medians of differences taken
                        within each round, so drift cancels; the ratio itself is of the
                        medians, since a single round's cost of a few ns is often <= 0
    apply               wall time to put the ruleset in force: iptables-legacy-restore, nft -f,
                        bpfilter's validate + compile + load + attach
    BPF programs        instructions, verifier-processed instructions, JIT size, load time
";

/// Parsed options.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Rule counts.
    pub rules: Vec<usize>,
    /// Profiles.
    pub profiles: Vec<Profile>,
    /// Implementations (names from [`IMPLS`]).
    pub impls: Vec<&'static str>,
    /// Timed rounds.
    pub rounds: usize,
    /// Target length of one sample.
    pub sample_ms: u64,
    /// Seed of the round order.
    pub seed: Option<u64>,
    /// Where to write JSON rows.
    pub json: Option<PathBuf>,
    /// `--quick` was given.
    pub quick: bool,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run the benchmark.
    Run(Options),
    /// Print [`HELP`].
    Help,
}

fn list<T>(s: &str, what: &str, f: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    let v = s
        .split(',')
        .filter(|x| !x.is_empty())
        .map(|x| f(x.trim()).ok_or_else(|| format!("bad {what}: {x:?}")))
        .collect::<Result<Vec<_>, _>>()?;
    if v.is_empty() {
        return Err(format!("empty {what} list"));
    }
    Ok(v)
}

fn count(s: &str) -> Option<usize> {
    s.replace('_', "").parse().ok().filter(|n| *n > 0)
}

/// Parse the arguments (without the program name).
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut it = args.into_iter();
    let mut quick = false;
    let (mut rules, mut profiles, mut impls, mut rounds, mut sample_ms, mut seed, mut json) =
        (None, None, None, None, None, None, None);
    while let Some(a) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--quick" => quick = true,
            "--rules" => rules = Some(list(&val(&a)?, "rule count", count)?),
            "--profiles" => profiles = Some(list(&val(&a)?, "profile", Profile::parse)?),
            "--impls" => {
                impls = Some(list(&val(&a)?, "implementation", |s| {
                    IMPLS.iter().copied().find(|i| *i == s)
                })?)
            }
            "--rounds" => rounds = Some(count(&val(&a)?).ok_or("bad --rounds")?),
            "--sample-ms" => {
                sample_ms = Some(
                    val(&a)?
                        .parse::<u64>()
                        .ok()
                        .filter(|m| *m > 0)
                        .ok_or("bad --sample-ms")?,
                )
            }
            "--seed" => seed = Some(val(&a)?.parse::<u64>().map_err(|_| "bad --seed")?),
            "--json" => json = Some(PathBuf::from(val(&a)?)),
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    let mut rules = rules.unwrap_or_else(|| {
        if quick {
            QUICK_RULES.to_vec()
        } else {
            FULL_RULES.to_vec()
        }
    });
    rules.sort_unstable();
    rules.dedup();
    let mut profiles = profiles.unwrap_or_else(|| Profile::ALL.to_vec());
    profiles.sort_unstable();
    profiles.dedup();
    let impls = impls.unwrap_or_else(|| IMPLS.to_vec());
    let impls = IMPLS
        .iter()
        .copied()
        .filter(|i| impls.contains(i))
        .collect();
    Ok(Command::Run(Options {
        rules,
        profiles,
        impls,
        rounds: rounds.unwrap_or(if quick { 3 } else { 10 }),
        sample_ms: sample_ms.unwrap_or(if quick { 10 } else { 20 }),
        seed,
        json,
        quick,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Options, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Command::Run(o) => Ok(o),
            Command::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults_and_quick() {
        let full = run(&[]).unwrap();
        assert_eq!(full.rules, FULL_RULES);
        assert_eq!(
            (full.rounds, full.profiles.len(), full.impls.len()),
            (10, 3, 4)
        );
        let q = run(&["--quick"]).unwrap();
        assert_eq!((q.rules.as_slice(), q.rounds), (&QUICK_RULES[..], 3));
        let q = run(&["--quick", "--rounds", "5", "--rules", "1_000,10"]).unwrap();
        assert_eq!((q.rules, q.rounds), (vec![10, 1000], 5));
    }

    #[test]
    fn lists_are_checked() {
        let o = run(&[
            "--profiles",
            "last,shallow",
            "--impls",
            "nft-set,iptables-legacy",
        ])
        .unwrap();
        assert_eq!(o.profiles, [Profile::Shallow, Profile::Last]);
        assert_eq!(o.impls, ["iptables-legacy", "nft-set"]);
        assert!(run(&["--profiles", "medium"]).is_err());
        assert!(run(&["--rules", "0"]).is_err());
        assert!(run(&["--rules"]).is_err());
        assert!(run(&["--bogus"]).is_err());
        assert_eq!(parse(["--help".to_string()]).unwrap(), Command::Help);
    }
}
