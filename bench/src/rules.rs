//! The rulesets and the packets that probe them.
//!
//! Every ruleset is N rules in the INPUT chain (hook LOCAL_IN), policy DROP, each of the form
//!
//! ```text
//! -s 10.0.0.2/32 -p udp -m udp --dport P_i -j ACCEPT          (iptables-legacy)
//! ip saddr 10.0.0.2 udp dport P_i accept                       (nftables, linear)
//! ip saddr . udp dport @allow accept, allow = { 10.0.0.2 . P_i, ... }   (nftables, one set)
//! ```
//!
//! The fields are checked in this order by both kernels: source address first (x_tables'
//! `ip_packet_match`, nft's first `payload`+`cmp`), then the protocol, then the UDP destination
//! port last (the `udp` match, nft's last `cmp`). All rules share the source, so one packet can
//! be made to differ from *every* rule in only the first field or only the last:
//!
//! ```text
//! profile   packet (to 10.0.0.1)           differs from each rule in      verdict
//! shallow   10.0.0.3 -> udp/5000           source (first field)           DROP (policy)
//! deep      10.0.0.2 -> udp/4999           port only (last field)         DROP (policy)
//! last      10.0.0.2 -> udp/5000           nothing, for the last rule     ACCEPT (rule N)
//! ```
//!
//! Ports: rule i < N-1 gets `5001 + i mod 60000`, the last rule [`MATCH_PORT`]. Beyond 60,001
//! rules the ports repeat (a UDP port has 16 bits and the deep profile needs every rule to
//! agree on everything but the port): the kernel still walks every rule, and the nft set,
//! which cannot hold duplicates, holds the distinct ones — the same accept set, so the same
//! verdicts.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// The namespace's own address (on `veth0`), the destination of every packet.
pub const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Source address of every rule.
pub const RULE_SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// Source address of the shallow-mismatch packet (same subnet, so routing treats it alike).
pub const SHALLOW_SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
/// Port of the last rule, and of the socket bound in every namespace.
pub const MATCH_PORT: u16 = 5000;
/// Port of the deep-mismatch packet: no rule has it.
pub const DEEP_PORT: u16 = 4999;
/// Port of rule 0 (when N > 1); rule i gets `FIRST_PORT + i mod PORT_SPAN`.
pub const FIRST_PORT: u16 = 5001;
/// How many distinct ports the non-final rules cycle through.
pub const PORT_SPAN: usize = 60_000;
/// Source port of every packet.
pub const SPORT: u16 = 12345;
/// MAC address of `veth0`, the receiving device (frames are sent to it).
pub const VETH_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// MAC address of `veth1`, the peer (the frames' source).
pub const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// A verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// `NF_ACCEPT`.
    Accept,
    /// `NF_DROP`.
    Drop,
}

/// One rule: `-s src -p udp --dport dport -j ACCEPT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Source address (a /32).
    pub src: Ipv4Addr,
    /// UDP destination port.
    pub dport: u16,
}

/// What the rules look at in a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Source address.
    pub src: Ipv4Addr,
    /// IP protocol (17 = UDP).
    pub proto: u8,
    /// UDP destination port.
    pub dport: u16,
}

impl Rule {
    /// Whether the rule matches `p`.
    pub fn matches(&self, p: &Packet) -> bool {
        self.src == p.src && p.proto == 17 && self.dport == p.dport
    }
}

/// An INPUT chain of ACCEPT rules with policy DROP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSet {
    /// The rules, in order.
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// The benchmark's ruleset of `n` rules (see the module doc); `n = 0` is the empty chain.
    pub fn generate(n: usize) -> RuleSet {
        let rules = (0..n)
            .map(|i| {
                let dport = if i.checked_add(1) == Some(n) {
                    MATCH_PORT
                } else {
                    let off = u16::try_from(i % PORT_SPAN).unwrap_or(0);
                    FIRST_PORT.saturating_add(off)
                };
                Rule {
                    src: RULE_SRC,
                    dport,
                }
            })
            .collect();
        RuleSet { rules }
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the chain has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// First-match evaluation, the reference for what the kernels must do.
    pub fn verdict(&self, p: &Packet) -> Verdict {
        if self.rules.iter().any(|r| r.matches(p)) {
            Verdict::Accept
        } else {
            Verdict::Drop
        }
    }

    /// The rules without duplicates, first occurrence kept (what a set can hold).
    pub fn distinct(&self) -> Vec<Rule> {
        let mut seen = std::collections::HashSet::new();
        self.rules
            .iter()
            .copied()
            .filter(|r| seen.insert(*r))
            .collect()
    }

    /// Input for `iptables-legacy-restore`: the filter table, INPUT policy DROP.
    pub fn iptables_restore(&self) -> String {
        let mut s = String::with_capacity(self.len().saturating_mul(64).saturating_add(128));
        s.push_str("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
        for r in &self.rules {
            let _ = writeln!(
                s,
                "-A INPUT -s {}/32 -p udp -m udp --dport {} -j ACCEPT",
                r.src, r.dport
            );
        }
        s.push_str("COMMIT\n");
        s
    }

    /// Input for `nft -f`: one rule per rule, in a base chain at the filter table's hook and
    /// priority (input, 0), policy drop.
    pub fn nft_linear(&self) -> String {
        let mut s = String::with_capacity(self.len().saturating_mul(48).saturating_add(160));
        s.push_str(NFT_HEAD);
        for r in &self.rules {
            let _ = writeln!(s, "\t\tip saddr {} udp dport {} accept", r.src, r.dport);
        }
        s.push_str("\t}\n}\n");
        s
    }

    /// Input for `nft -f`: the same accept set as one concatenated-key set and one rule
    /// (`ip saddr . udp dport @allow accept`); with no rules, the empty chain.
    pub fn nft_set(&self) -> String {
        let distinct = self.distinct();
        if distinct.is_empty() {
            return format!("{NFT_HEAD}\t}}\n}}\n");
        }
        let mut s = String::with_capacity(distinct.len().saturating_mul(24).saturating_add(300));
        s.push_str("table ip bench {\n\tset allow {\n\t\ttype ipv4_addr . inet_service\n");
        s.push_str("\t\telements = {\n");
        for (i, r) in distinct.iter().enumerate() {
            let sep = if i.saturating_add(1) == distinct.len() {
                ""
            } else {
                ","
            };
            let _ = writeln!(s, "\t\t\t{} . {}{sep}", r.src, r.dport);
        }
        s.push_str("\t\t}\n\t}\n");
        s.push_str(NFT_CHAIN);
        s.push_str("\t\tip saddr . udp dport @allow accept\n\t}\n}\n");
        s
    }
}

const NFT_HEAD: &str = "table ip bench {\n\tchain input {\n\t\t\
                        type filter hook input priority 0; policy drop;\n";
const NFT_CHAIN: &str = "\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n";

/// A packet profile: how the injected packet relates to the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// The first field (source address) differs from every rule.
    Shallow,
    /// Only the last field (destination port) differs from every rule.
    Deep,
    /// The last rule matches.
    Last,
}

impl Profile {
    /// Every profile, in display order.
    pub const ALL: [Profile; 3] = [Profile::Shallow, Profile::Deep, Profile::Last];

    /// Short name, as on the command line and in the output.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Shallow => "shallow",
            Profile::Deep => "deep",
            Profile::Last => "last",
        }
    }

    /// Parse a name (also `last-match`).
    pub fn parse(s: &str) -> Option<Profile> {
        match s {
            "shallow" => Some(Profile::Shallow),
            "deep" => Some(Profile::Deep),
            "last" | "last-match" => Some(Profile::Last),
            _ => None,
        }
    }

    /// The probing packet.
    pub fn packet(self) -> Packet {
        let (src, dport) = match self {
            Profile::Shallow => (SHALLOW_SRC, MATCH_PORT),
            Profile::Deep => (RULE_SRC, DEEP_PORT),
            Profile::Last => (RULE_SRC, MATCH_PORT),
        };
        Packet {
            src,
            proto: 17,
            dport,
        }
    }

    /// The verdict every implementation must reach for any ruleset of at least one rule.
    pub fn expected(self) -> Verdict {
        match self {
            Profile::Shallow | Profile::Deep => Verdict::Drop,
            Profile::Last => Verdict::Accept,
        }
    }

    /// The Ethernet frame injected on `veth0`.
    pub fn frame(self) -> Vec<u8> {
        let p = self.packet();
        udp_frame(VETH_MAC, PEER_MAC, p.src, DST, SPORT, p.dport)
    }
}

/// Ethernet + IPv4 (valid header checksum, DF, TTL 64) + UDP (no checksum, 4-byte payload).
pub fn udp_frame(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
) -> Vec<u8> {
    const PAYLOAD: [u8; 4] = *b"bpfb";
    const UDP_LEN: u16 = 8 + 4;
    const IP_LEN: u16 = 20 + UDP_LEN;
    let mut f = Vec::with_capacity(14 + usize::from(IP_LEN));
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&IP_LEN.to_be_bytes());
    ip[6] = 0x40; // DF: never a fragment, so no defrag path.
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let sum = inet_checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&UDP_LEN.to_be_bytes());
    f.extend_from_slice(&[0, 0]); // no UDP checksum (allowed over IPv4)
    f.extend_from_slice(&PAYLOAD);
    f
}

/// The Internet checksum (RFC 1071) of `bytes` (even length).
pub fn inet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| {
            let hi = c.first().copied().unwrap_or(0);
            let lo = c.get(1).copied().unwrap_or(0);
            u32::from(u16::from_be_bytes([hi, lo]))
        })
        .fold(0u32, u32::wrapping_add);
    while sum > 0xffff {
        sum = (sum & 0xffff).wrapping_add(sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0xffff)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    const COUNTS: [usize; 10] = [1, 2, 10, 100, 500, 1000, 8000, 60_001, 60_002, 100_000];

    #[test]
    fn every_profile_gets_its_verdict_at_every_size() {
        for n in COUNTS {
            let rs = RuleSet::generate(n);
            assert_eq!(rs.len(), n);
            for p in Profile::ALL {
                assert_eq!(rs.verdict(&p.packet()), p.expected(), "n={n} {p:?}");
            }
            assert_eq!(
                RuleSet::generate(0).verdict(&Profile::Last.packet()),
                Verdict::Drop
            );
        }
    }

    #[test]
    fn profiles_differ_from_every_rule_where_they_say() {
        for n in [1, 7, 1000, 70_000] {
            let rs = RuleSet::generate(n);
            let (sh, deep, last) = (
                Profile::Shallow.packet(),
                Profile::Deep.packet(),
                Profile::Last.packet(),
            );
            for (i, r) in rs.rules.iter().enumerate() {
                // shallow: the first field already differs
                assert_ne!(r.src, sh.src);
                // deep: source and protocol agree, the port alone differs
                assert_eq!((r.src, 17), (deep.src, deep.proto));
                assert_ne!(r.dport, deep.dport);
                // last: only the final rule matches
                assert_eq!(r.matches(&last), i + 1 == n, "n={n} i={i}");
            }
        }
    }

    #[test]
    fn distinct_rules_stop_growing_at_the_port_span() {
        assert_eq!(RuleSet::generate(1000).distinct().len(), 1000);
        assert_eq!(RuleSet::generate(60_001).distinct().len(), 60_001);
        assert_eq!(RuleSet::generate(100_000).distinct().len(), 60_001);
    }

    #[test]
    fn texts_hold_one_line_per_rule() {
        let rs = RuleSet::generate(10);
        let ipt = rs.iptables_restore();
        assert_eq!(ipt.matches("-A INPUT ").count(), 10);
        assert!(ipt.starts_with("*filter\n:INPUT DROP"));
        assert!(
            ipt.contains("-A INPUT -s 10.0.0.2/32 -p udp -m udp --dport 5000 -j ACCEPT\nCOMMIT")
        );
        let lin = rs.nft_linear();
        assert_eq!(lin.matches(" accept\n").count(), 10);
        assert!(lin.contains("policy drop;"));
        let set = RuleSet::generate(100_000).nft_set();
        assert_eq!(set.matches("10.0.0.2 . ").count(), 60_001);
        assert_eq!(set.matches("@allow accept").count(), 1);
        assert!(!RuleSet::generate(0).nft_set().contains("@allow"));
    }

    #[test]
    fn frames_have_a_valid_ip_checksum_and_the_profile_fields() {
        for p in Profile::ALL {
            let f = p.frame();
            assert_eq!(f.len(), 14 + 32);
            assert_eq!(&f[..6], &VETH_MAC);
            assert_eq!(inet_checksum(&f[14..34]), 0, "a correct header sums to 0");
            assert_eq!(&f[26..30], &p.packet().src.octets());
            assert_eq!(&f[30..34], &DST.octets());
            assert_eq!(u16::from_be_bytes([f[36], f[37]]), p.packet().dport);
        }
    }
}
