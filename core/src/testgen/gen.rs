//! Structure-aware random rulesets and targeted mutations, for the differential harness
//! (`verify validate`), proptest and the fuzz targets.
//!
//! A [`Rng`] drives everything, so a case is reproducible from its seed, and a fuzzer can
//! drive the same generator from its input bytes ([`Rng::from_bytes`]).

use super::{Hk, RawEntry, RawExt, RawTable, UserChain, T, V};
use crate::ext::{self, Kind};
use crate::uapi::{xt_align, TABLES};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// SplitMix64, or a byte stream when driven by a fuzzer.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
    bytes: Option<(Vec<u8>, usize)>,
}

impl Rng {
    /// A seeded generator.
    pub fn new(seed: u64) -> Self {
        Rng {
            state: seed,
            bytes: None,
        }
    }

    /// A generator that reads its choices from `data` (then zeros).
    pub fn from_bytes(data: &[u8]) -> Self {
        Rng {
            state: 0,
            bytes: Some((data.to_vec(), 0)),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        if let Some((b, at)) = &mut self.bytes {
            let mut v = [0u8; 8];
            for x in v.iter_mut() {
                *x = b.get(*at).copied().unwrap_or(0);
                *at += 1;
            }
            return u64::from_le_bytes(v);
        }
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 if n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `num/den`.
    pub fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }

    /// Pick one element.
    pub fn pick<'a, X>(&mut self, xs: &'a [X]) -> &'a X {
        &xs[self.below(xs.len())]
    }

    /// Random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

const CHAIN_NAMES: [&str; 6] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];

/// A payload for extension `d`: zeros, random, or a known-good shape.
fn payload(rng: &mut Rng, d: &ext::ExtDesc) -> Vec<u8> {
    let n = xt_align(d.size).unwrap_or(d.size);
    let mut p = vec![0u8; n];
    match rng.below(8) {
        0 => {}
        1 => p = rng.bytes(n),
        _ => known_good(rng, d, &mut p),
    }
    if rng.chance(1, 40) {
        // Size off by a multiple of 8, or by an odd amount.
        let extra = *rng.pick(&[8usize, 16, 1, 4]);
        if rng.chance(1, 2) && p.len() >= extra {
            p.truncate(p.len() - extra);
        } else {
            p.extend(core::iter::repeat_n(0, extra));
        }
    }
    p
}

/// Fill in a payload that the extension's check is likely to accept.
fn known_good(rng: &mut Rng, d: &ext::ExtDesc, p: &mut [u8]) {
    let put16 = |p: &mut [u8], at: usize, v: u16| {
        if let Some(s) = p.get_mut(at..at + 2) {
            s.copy_from_slice(&v.to_le_bytes());
        }
    };
    let put32 = |p: &mut [u8], at: usize, v: u32| {
        if let Some(s) = p.get_mut(at..at + 4) {
            s.copy_from_slice(&v.to_le_bytes());
        }
    };
    match d.name {
        "tcp" | "udp" => {
            let lo = rng.below(1024) as u16;
            put16(p, 0, 0);
            put16(p, 2, 0xFFFF);
            put16(p, 4, lo);
            put16(p, 6, lo.saturating_add(rng.below(100) as u16));
        }
        "icmp" => {
            if let Some(s) = p.get_mut(0..3) {
                s.copy_from_slice(&[8, 0, 0xFF]);
            }
        }
        "comment" => {
            for (x, b) in p.iter_mut().zip(b"generated".iter()) {
                *x = *b;
            }
        }
        "LOG" => {
            if let Some(x) = p.get_mut(0) {
                *x = rng.below(8) as u8;
            }
            if let Some(s) = p.get_mut(2..5) {
                s.copy_from_slice(b"gen");
            }
        }
        "REJECT" => put32(p, 0, *rng.pick(&[0u32, 1, 2, 3, 5, 6, 9, 10])),
        "state" => put32(p, 0, 1 + rng.below(30) as u32),
        "mark" | "MARK" => {
            put32(p, 0, rng.below(16) as u32);
            put32(p, 4, 0xFFFF_FFFF);
        }
        "length" => {
            put16(p, 0, 0);
            put16(p, 2, 1500);
        }
        "ttl" => {
            if let Some(x) = p.get_mut(1) {
                *x = 64;
            }
        }
        "limit" => {
            put32(p, 0, 10_000 / 3);
            put32(p, 4, 5);
        }
        "multiport" => {
            if let Some(s) = p.get_mut(0..2) {
                s.copy_from_slice(&[1, 2]);
            }
            put16(p, 2, 22);
            put16(p, 4, 80);
        }
        "SNAT" | "DNAT" | "MASQUERADE" | "REDIRECT" | "NETMAP" => {
            put32(p, 0, 1);
            if d.name != "MASQUERADE" {
                put32(p, 4, 1);
                if let Some(s) = p.get_mut(8..16) {
                    s.copy_from_slice(&[10, 0, 0, 1, 10, 0, 0, 1]);
                }
            }
        }
        _ => {}
    }
}

fn random_ext(rng: &mut Rng, kind: Kind) -> RawExt {
    let reg = ext::registry(kind);
    let usable: Vec<&ext::ExtDesc> = reg
        .iter()
        .filter(|d| !d.name.is_empty() && d.name != "ERROR")
        .collect();
    if usable.is_empty() || rng.chance(1, 25) {
        let name = *rng.pick(&["nosuch", "tcp", "comment", "LOG", "DNAT", "ERROR", ""]);
        let n = 8 * rng.below(5);
        let mut x = RawExt::new(name, rng.below(4) as u8, &rng.bytes(n));
        if rng.chance(1, 2) {
            x.data.iter_mut().for_each(|b| *b = 0);
        }
        return x;
    }
    let d: &ext::ExtDesc = usable[rng.below(usable.len())];
    let mut rev = d.revision;
    if rng.chance(1, 30) {
        rev = rev.wrapping_add(1 + rng.below(3) as u8);
    }
    RawExt::new(d.name, rev, &payload(rng, d))
}

/// Matches and targets whose checks [`known_good`] payloads pass (with the protocol set).
const SAFE_MATCHES: [&str; 13] = [
    "tcp",
    "udp",
    "icmp",
    "comment",
    "mark",
    "length",
    "ttl",
    "limit",
    "multiport",
    "state",
    "pkttype",
    "iprange",
    "conntrack",
];

/// A rule that the kernel accepts (in `table`), built from [`SAFE_MATCHES`].
fn safe_rule(rng: &mut Rng, chains: &[String], table: &str) -> RawEntry {
    let mut targets = vec!["LOG", "MARK"];
    if table == "filter" {
        targets.push("REJECT");
    }
    let target = match rng.below(10) {
        0..=2 => T::Std(V::Accept),
        3..=4 => T::Std(V::Drop),
        5 => T::Std(V::Return),
        6..=7 if !chains.is_empty() => T::Std(V::Label(rng.pick(chains).clone(), 0)),
        _ => {
            let name = *rng.pick(&targets);
            match ext::registry(Kind::Target)
                .iter()
                .rev()
                .find(|d| d.name == name)
            {
                Some(d) => T::Ext(RawExt::new(d.name, d.revision, &payload_good(rng, d))),
                None => T::Std(V::Accept),
            }
        }
    };
    let mut e = RawEntry::new(target);
    if rng.chance(1, 2) {
        e.ip.src = [10, rng.below(4) as u8, 0, 0];
        e.ip.smsk = [255, 255, 0, 0];
    }
    e.ip.proto = (*rng.pick(&[0u16, 1, 6, 17])).into();
    for _ in 0..rng.below(3) {
        let name = *rng.pick(&SAFE_MATCHES);
        let Some(d) = ext::registry(Kind::Match)
            .iter()
            .rev()
            .find(|d| d.name == name)
        else {
            continue;
        };
        match name {
            "tcp" | "udp" | "icmp" | "multiport"
                if e.matches.iter().any(|m| {
                    m.name.starts_with(b"tcp")
                        || m.name.starts_with(b"udp")
                        || m.name.starts_with(b"icmp")
                }) =>
            {
                continue
            }
            "tcp" | "multiport" => e.ip.proto = 6.into(),
            "udp" => e.ip.proto = 17.into(),
            "icmp" => e.ip.proto = 1.into(),
            _ => {}
        }
        e.matches
            .push(RawExt::new(d.name, d.revision, &payload_good(rng, d)));
    }
    if matches!(e.target, T::Ext(ref x) if x.name.starts_with(b"REJECT")) {
        // tcp-reset (the only REJECT that needs -p tcp) is not among the known-good values.
        e.ip.invflags = 0;
    }
    e
}

/// A known-good payload for `d`.
fn payload_good(rng: &mut Rng, d: &ext::ExtDesc) -> Vec<u8> {
    let mut p = vec![0u8; xt_align(d.size).unwrap_or(d.size)];
    known_good(rng, d, &mut p);
    p
}

fn random_rule(rng: &mut Rng, chains: &[String]) -> RawEntry {
    let target = match rng.below(12) {
        0..=2 => T::Std(V::Accept),
        3..=4 => T::Std(V::Drop),
        5 => T::Std(V::Return),
        6 if rng.chance(1, 4) => T::Std(V::Queue),
        6..=8 if !chains.is_empty() => T::Std(V::Label(rng.pick(chains).clone(), 0)),
        9 => T::Error(String::from("inline")),
        _ => T::Ext(random_ext(rng, Kind::Target)),
    };
    let mut e = RawEntry::new(target);
    if rng.chance(2, 3) {
        e.ip.src = [10, rng.below(4) as u8, 0, 0];
        e.ip.smsk = [255, 255, 0, 0];
    }
    if rng.chance(1, 4) {
        e.ip.dst = [192, 168, rng.below(4) as u8, 1];
        e.ip.dmsk = [255; 4];
    }
    if rng.chance(1, 5) {
        e.ip.iniface[..4].copy_from_slice(b"veth");
        e.ip.iniface_mask[..4].copy_from_slice(&[0xFF; 4]);
    }
    e.ip.proto = (*rng.pick(&[0u16, 0, 1, 6, 17, 6, 17, 132, 300])).into();
    if rng.chance(1, 12) {
        e.ip.invflags = rng.below(0x80) as u8;
    }
    if rng.chance(1, 12) {
        e.ip.flags = rng.below(4) as u8;
    }
    if let T::Std(V::Label(..)) = e.target {
        if rng.chance(1, 3) {
            e.ip.flags |= crate::uapi::IPT_F_GOTO;
        }
    }
    for _ in 0..rng.below(3) {
        e.matches.push(random_ext(rng, Kind::Match));
    }
    e
}

/// A random ruleset in iptables' layout (most of them valid, many not).
pub fn random_table(rng: &mut Rng) -> RawTable {
    let t = if rng.chance(3, 4) {
        TABLES[0]
    } else {
        *rng.pick(&TABLES)
    };
    let nuser = rng.below(4);
    // Half the rulesets use only extensions and payloads the kernel accepts, so that many
    // cases exercise the accepting paths too.
    let safe = rng.chance(1, 2);
    let names: Vec<String> = CHAIN_NAMES
        .iter()
        .take(nuser)
        .map(|s| String::from(*s))
        .collect();
    // Jumps only "downward" in name order most of the time, so many rulesets are loop-free.
    let mut builtin = Vec::new();
    for _ in 0..t.valid_hooks.count_ones() {
        let rules = (0..rng.below(4))
            .map(|_| {
                if safe {
                    safe_rule(rng, &names, t.name)
                } else {
                    random_rule(rng, &names)
                }
            })
            .collect();
        builtin.push((rules, if rng.chance(1, 4) { V::Drop } else { V::Accept }));
    }
    let mut user: Vec<UserChain> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let later: Vec<String> = if rng.chance(9, 10) {
            names[i + 1..].to_vec()
        } else {
            names.clone()
        };
        let rules = (0..rng.below(4))
            .map(|_| {
                if safe {
                    safe_rule(rng, &later, t.name)
                } else {
                    random_rule(rng, &later)
                }
            })
            .collect();
        user.push((CHAIN_NAMES[i], rules));
        let _ = n;
    }
    RawTable::iptables_layout(t.name, t.valid_hooks, builtin, user, t.initial_entries)
}

/// What a mutation did (for reports).
pub type MutationName = &'static str;

/// Apply one targeted mutation to a ruleset or to its optval bytes.
pub fn mutate(rng: &mut Rng, t: &mut RawTable) -> (MutationName, Option<Vec<u8>>) {
    let n = t.entries.len();
    let i = rng.below(n.max(1));
    let small = |rng: &mut Rng| -> i32 { *rng.pick(&[-16, -8, -4, -1, 1, 4, 8, 16]) };
    match rng.below(16) {
        0 => {
            if let Some(e) = t.entries.get_mut(i) {
                let d = small(rng);
                e.next_offset = Some((e.len() as i32 + d).clamp(0, 0xFFFF) as u16);
            }
            ("next_offset off by a little", None)
        }
        1 => {
            if let Some(e) = t.entries.get_mut(i) {
                let to = 112
                    + e.matches
                        .iter()
                        .map(|m| 32 + m.data.len().div_ceil(8) * 8)
                        .sum::<usize>();
                e.target_offset = Some((to as i32 + small(rng)).clamp(0, 0xFFFF) as u16);
            }
            ("target_offset off by a little", None)
        }
        2 => {
            let labels: Vec<String> = t.entries.iter().filter_map(|e| e.label.clone()).collect();
            if let (Some(e), false) = (t.entries.get_mut(i), labels.is_empty()) {
                let l = labels[rng.below(labels.len())].clone();
                let delta = if rng.chance(1, 2) { 0 } else { small(rng) * 8 };
                e.target = T::Std(V::Label(l, delta));
                e.ip.src = [1, 2, 3, 4];
                e.ip.smsk = [255; 4];
            }
            ("jump retargeted", None)
        }
        3 => {
            if let Some(e) = t.entries.get_mut(i) {
                e.target = T::Std(V::Raw(
                    rng.below(4096) as i32 * if rng.chance(1, 4) { -1 } else { 1 },
                ));
            }
            ("jump to a random offset", None)
        }
        4 => {
            let h = rng.below(5);
            let j = rng.below(n.max(1));
            if rng.chance(1, 2) {
                t.hook_entry[h] = Hk::Entry(j);
            } else {
                t.underflow[h] = Hk::Entry(j);
            }
            ("hook or underflow moved", None)
        }
        5 => {
            let d = small(rng);
            t.num_entries = Some((n as i64 + i64::from(d)).max(0) as u32);
            ("num_entries changed", None)
        }
        6 => {
            t.num_counters = (i64::from(t.num_counters) + i64::from(small(rng))).max(0) as u32;
            ("num_counters changed", None)
        }
        7 => {
            if let Some(e) = t.entries.get_mut(i) {
                match &mut e.target {
                    T::Ext(x) => x.name = [b'Z'; 29],
                    T::Error(s) => *s = "E".repeat(30),
                    _ => {
                        if let Some(m) = e.matches.first_mut() {
                            m.name = [b'm'; 29];
                        }
                    }
                }
            }
            ("name unterminated", None)
        }
        8 => {
            if let Some(e) = t.entries.get_mut(i) {
                if let Some(m) = e.matches.first_mut() {
                    m.revision = m.revision.wrapping_add(1);
                } else if let T::Ext(x) = &mut e.target {
                    x.revision = x.revision.wrapping_add(1);
                }
            }
            ("revision changed", None)
        }
        9 => {
            let mut v = t.optval();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(v.len());
                v[at] ^= 1 << rng.below(8);
            }
            ("bit flips", Some(v))
        }
        10 => {
            let mut v = t.optval();
            let cut = rng.below(v.len());
            v.truncate(cut);
            ("truncated optval", Some(v))
        }
        11 => {
            let d = small(rng);
            let len = t.blob().len() as i64;
            t.size = Some((len + i64::from(d)).max(0) as u32);
            ("size changed", None)
        }
        12 => {
            // Make a loop: the last rule of a user chain jumps to its own head.
            if let Some(h) = t
                .entries
                .iter()
                .position(|e| e.label.as_deref().is_some_and(|l| l.starts_with('@')))
            {
                let name = t.entries[h].label.clone().unwrap_or_default();
                if let Some(e) = t.entries.get_mut(h + 1) {
                    e.target = T::Std(V::Label(name, 0));
                    e.ip.src = [1, 1, 1, 1];
                    e.ip.smsk = [255; 4];
                }
            }
            ("loop", None)
        }
        13 => {
            if let Some(e) = t.entries.get_mut(i) {
                e.ip.flags = rng.below(256) as u8;
                e.ip.invflags = rng.below(256) as u8;
            }
            ("flags", None)
        }
        14 => {
            if n > 1 {
                t.entries.remove(i);
            }
            ("entry removed", None)
        }
        _ => {
            t.valid_hooks ^= 1 << rng.below(6);
            ("valid_hooks changed", None)
        }
    }
}

/// One generated case: the optval and what produced it.
#[derive(Clone, Debug)]
pub struct GenCase {
    /// The optval bytes.
    pub optval: Vec<u8>,
    /// A description of how it was made.
    pub how: String,
}

/// A random case: a random ruleset, mutated zero to three times.
pub fn random_case(rng: &mut Rng) -> GenCase {
    let mut t = random_table(rng);
    let mut how = format!(
        "{} table, {} entries",
        String::from_utf8_lossy(&t.name),
        t.entries.len()
    );
    let mut bytes = None;
    let muts = *rng.pick(&[0usize, 0, 0, 1, 1, 2, 3]);
    for _ in 0..muts {
        let (name, b) = mutate(rng, &mut t);
        how.push_str("; ");
        how.push_str(name);
        if b.is_some() {
            bytes = b;
            break;
        }
    }
    GenCase {
        optval: bytes.unwrap_or_else(|| t.optval()),
        how,
    }
}

/// A random ruleset that is valid by construction (the `structured` fuzz target's input):
/// built-in and user chains, conditional rules over every `ipt_ip` field, jumps and gotos only
/// to chains later in name order (no loops), RETURNs, QUEUE, policies ACCEPT or DROP.
pub fn random_ruleset(rng: &mut Rng) -> crate::ir::Ruleset {
    use crate::ir::{ChainName, ChainTarget, Rule, Ruleset, Verdict};
    use core::net::Ipv4Addr;
    let t = if rng.chance(3, 4) {
        TABLES[0]
    } else {
        *rng.pick(&TABLES)
    };
    let mut rs = Ruleset::new(&t);
    for c in rs.chains.iter_mut() {
        if rng.chance(1, 3) {
            c.policy = Some(Verdict::Drop);
        }
    }
    let nuser = rng.below(CHAIN_NAMES.len() + 1);
    for name in CHAIN_NAMES.iter().take(nuser) {
        if let Some(c) = crate::ir::Chain::user(name) {
            rs.chains.push(c);
        }
    }
    let nchains = rs.chains.len();
    let builtin = nchains - nuser;
    for ci in 0..nchains {
        // Chain ci may jump to user chains with a larger index: no cycles.
        let targets: Vec<usize> = (builtin.max(ci + 1)..nchains).collect();
        let nrules = rng.below(5);
        for _ in 0..nrules {
            let target = match rng.below(10) {
                0..=2 => ChainTarget::Accept,
                3..=4 => ChainTarget::Drop,
                5 => ChainTarget::Return,
                6 => ChainTarget::Queue,
                _ if !targets.is_empty() => {
                    let to = targets[rng.below(targets.len())];
                    let name: ChainName = rs.chains[to].name.clone();
                    if rng.chance(1, 3) {
                        ChainTarget::Goto(name)
                    } else {
                        ChainTarget::Jump(name)
                    }
                }
                _ => ChainTarget::Accept,
            };
            let mut r = Rule::new(target);
            if rng.chance(1, 2) {
                r.ip.src = Ipv4Addr::new(10, rng.below(256) as u8, 0, 0);
                r.ip.smsk = Ipv4Addr::new(255, *rng.pick(&[0u8, 128, 255]), 0, 0);
            }
            if rng.chance(1, 3) {
                r.ip.dst = Ipv4Addr::new(192, 168, rng.below(256) as u8, rng.below(256) as u8);
                r.ip.dmsk = Ipv4Addr::new(255, 255, 255, *rng.pick(&[0u8, 255]));
            }
            if rng.chance(1, 4) {
                let names = ["eth0", "veth+", "lo", "wg0", "br-+"];
                if let Some(i) = crate::ir::Iface::parse(names[rng.below(names.len())]) {
                    if rng.chance(1, 2) {
                        r.ip.iniface = i;
                    } else {
                        r.ip.outiface = i;
                    }
                }
            }
            r.ip.proto = *rng.pick(&[0u16, 1, 6, 17, 47, 132]);
            r.ip.frag = rng.chance(1, 10);
            r.ip.inv = crate::ir::Inversions::from_bits(
                rng.below(0x80) as u8 & *rng.pick(&[0u8, 0, 0x08, 0x7F]),
            );
            rs.chains[ci].rules.push(r);
        }
    }
    rs
}
