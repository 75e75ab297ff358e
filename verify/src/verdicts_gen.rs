//! Random filter rulesets from core::eval's supported subset, and packets aimed at their fields.
//!
//! A ruleset is built through the chain view (`core::ir::Ruleset`), so it has iptables' layout:
//! built-in chains with ACCEPT/DROP policies, user chains `c0`..`cN` that only jump forward
//! (the call graph is a DAG, as the kernel requires), rules with random `ipt_ip` parts, 0-3
//! matches and a target. Every value the ruleset compares against goes into [`Hints`], and the
//! packet generator aims at them: addresses inside and just outside each mask, the edges of every
//! port range, flag combinations either side of each mask, option kinds, ICMP types and codes,
//! lengths and TTLs at and next to each bound, every protocol, first and non-first fragments,
//! both input interfaces (which `-i` names with `+` match or not). Half the rulesets also hold
//! a run of 16-63 rules that differ only in one port or address prefix (what the code
//! generator turns into a hash or LPM-trie lookup), with repeated keys and nested prefixes.

use bpfilter_core::ext::matches::{
    Comment, Conntrack, Icmp, Iprange, Length, Limit, Mac, Mark, MatchValue, Multiport, Pkttype,
    State, Tcp, Ttl, Udp,
};
use bpfilter_core::ext::targets::log::Log;
use bpfilter_core::ext::targets::mark::Mark as MarkTarget;
use bpfilter_core::ext::targets::reject::Reject;
use bpfilter_core::ext::targets::TargetValue;
use bpfilter_core::ir::{
    Chain, ChainName, ChainTarget, ErrorName, ExtTarget, Iface, IpMatch, Match, Rule, Ruleset,
    Table, Target, Verdict,
};
use bpfilter_core::testgen::gen::Rng;
use bpfilter_core::uapi::table_by_name;
use std::net::Ipv4Addr;

/// `NF_INET_LOCAL_IN`.
pub const IN: usize = 1;
/// `NF_INET_FORWARD`.
pub const FWD: usize = 2;
/// `NF_INET_LOCAL_OUT`.
pub const OUT: usize = 3;

/// The lab's input interfaces (in the namespaces under test) and the MAC address of the peer
/// each one receives from.
pub const INPUTS: [(&str, [u8; 6]); 2] = [
    ("in0", [0x02, 0, 0, 0, 0xA0, 0x02]),
    ("in1", [0x02, 0, 0, 0, 0xA1, 0x02]),
];
/// The lab's output interfaces: `out0` carries 0.0.0.0/1, `out1` 128.0.0.0/1.
pub const OUTPUTS: [&str; 2] = ["out0", "out1"];

/// The link subnet of input interface `i` of the `hook` namespace: 10.255.N.0/30 with the
/// namespace's end at .1 and the peer at .2.
pub fn in_link(hook: usize, i: usize) -> u8 {
    (10 * (hook - 1) + i) as u8
}

/// The link's broadcast address (10.255.N.3): a packet to it arrives as `PACKET_BROADCAST`.
pub fn in_link_broadcast(hook: usize, i: usize) -> u32 {
    u32::from_be_bytes([10, 255, in_link(hook, i), 3])
}

/// The output interface the lab routes `dst` through.
pub fn out_iface(dst: u32) -> usize {
    usize::from(dst >= 0x8000_0000)
}

/// The marks packets arrive with: the lab's mangle table sets `MARKS[id & 7]` (0 for 6 and 7)
/// from the IP id before filter sees the packet.
pub const MARKS: [u32; 6] = [0, 1, 0x10, 0xFF, 0x8000_0001, 0xFFFF_FFFF];

/// Names rules use for `-i` / `-o`: exact, `+` prefixes that match one, both or none of the
/// lab's interfaces, and names that match nothing.
const IFNAMES: [&str; 17] = [
    "in0", "in1", "in+", "in0+", "i+", "in", "in00", "out0", "out1", "out+", "o+", "+", "eth0",
    "lo", "x+", "ou+", "out1+",
];

/// Addresses the lab cannot deliver: 0/8, 127/8, 224/3 (multicast, class E, broadcast) are
/// martians, 10.255/16 holds the lab's own links.
pub fn undeliverable(a: u32) -> bool {
    let o = a >> 24;
    o == 0 || o == 127 || o >= 224 || a >> 16 == 0x0AFF
}

/// Everything the ruleset compares against, for aiming packets.
#[derive(Clone, Debug, Default)]
pub struct Hints {
    /// Anchor addresses the rules' networks were cut from.
    pub anchors: Vec<u32>,
    /// (address, mask) of every `-s`/`-d`.
    pub nets: Vec<(u32, u32)>,
    /// iprange bounds.
    pub ranges: Vec<(u32, u32)>,
    /// Ports and port-range bounds.
    pub ports: Vec<u16>,
    /// TCP (mask, cmp) pairs.
    pub flags: Vec<(u8, u8)>,
    /// TCP option kinds.
    pub options: Vec<u8>,
    /// ICMP (type, code).
    pub icmp: Vec<(u8, u8)>,
    /// Total lengths.
    pub lengths: Vec<u16>,
    /// TTLs.
    pub ttls: Vec<u8>,
    /// Protocols.
    pub protos: Vec<u8>,
    /// The ruleset has `state` / `conntrack` matches (the lab then enables conntrack).
    pub uses_ct: bool,
}

/// A generated ruleset.
pub struct Generated {
    /// The chains.
    pub ruleset: Ruleset,
    /// What packets should aim at.
    pub hints: Hints,
}

/// A target of the registry's extension `name`.
fn ext_target(name: &str, rev: u8, v: TargetValue) -> ChainTarget {
    ChainTarget::Ext(ExtTarget::new(name, rev, v).expect("registered target"))
}

/// `m` if the registry has it (the typed layer may lag behind).
fn mk(name: &str, rev: u8, v: MatchValue) -> Option<Match> {
    Match::new(name, rev, v).ok()
}

struct G<'a> {
    rng: &'a mut Rng,
    h: Hints,
    /// This ruleset may use conntrack matches (a third do: with conntrack on, the kernel
    /// reassembles fragments before the filter hooks, so the others carry the fragments).
    allow_ct: bool,
    /// Half the rulesets keep to what the BPF code generator implements (no QUEUE, MARK,
    /// REJECT, mac, conntrack --ctstatus or SNAT/DNAT states), so edge (a) runs them too.
    bpf_only: bool,
    marks: Vec<u32>,
    ports_pool: Vec<u16>,
}

impl G<'_> {
    fn u32(&mut self) -> u32 {
        self.rng.next_u64() as u32
    }
    fn u16(&mut self) -> u16 {
        self.rng.next_u64() as u16
    }
    fn u8(&mut self) -> u8 {
        self.rng.next_u64() as u8
    }
    fn p(&mut self, num: usize, den: usize) -> bool {
        self.rng.chance(num, den)
    }
    fn below(&mut self, n: usize) -> usize {
        self.rng.below(n)
    }

    fn safe_addr(&mut self) -> u32 {
        for _ in 0..64 {
            let a = self.u32();
            if !undeliverable(a) {
                return a;
            }
        }
        0x0A00_0001
    }

    fn mask(&mut self) -> u32 {
        if self.p(1, 20) {
            // A non-contiguous mask: the kernel compares bit by bit.
            return self.u32();
        }
        let len = *self.rng.pick(&[0u32, 8, 16, 24, 28, 30, 32, 32]);
        let len = if self.p(1, 4) {
            self.below(33) as u32
        } else {
            len
        };
        u32::MAX.checked_shl(32 - len).unwrap_or(0)
    }

    /// A network around one of the anchors; the address is normalized (as iptables writes
    /// it) except now and then, which makes a rule that never matches (or, inverted, always).
    fn net(&mut self) -> (u32, u32) {
        let a = *self.rng.pick(&self.h.anchors.clone());
        let m = self.mask();
        let addr = if self.p(1, 20) { a } else { a & m };
        self.h.nets.push((addr, m));
        (addr, m)
    }

    fn port(&mut self) -> u16 {
        *self.rng.pick(&self.ports_pool.clone())
    }

    fn range(&mut self) -> [u16; 2] {
        let r = match self.below(5) {
            0 => [0, 0xFFFF],
            1 | 2 => {
                let p = self.port();
                [p, p]
            }
            _ => {
                let (a, b) = (self.port(), self.port());
                [a.min(b), a.max(b)]
            }
        };
        self.h.ports.extend(r);
        r
    }

    fn iface(&mut self) -> (Iface, bool) {
        let name = *self.rng.pick(&IFNAMES);
        let mut f = Iface::parse(name).unwrap_or(Iface::ANY);
        if self.p(1, 8) {
            // What iptables never writes: junk after the NUL, masks that end early or reach
            // past the name, up to all 16 bytes (the kernel compares them all).
            for _ in 0..1 + self.below(3) {
                // Byte 15 often: a name's NUL is always there in a device name.
                let i = if self.p(1, 3) { 15 } else { self.below(16) };
                if i == 15 && self.p(1, 2) {
                    // 16 name bytes under the mask and no NUL: no device has such a name.
                    f.name[15] = self.u8() | 1;
                    f.mask[15] = 0xFF;
                    continue;
                }
                match self.below(3) {
                    0 => f.name[i] = self.u8(),
                    1 => f.mask[i] = 0xFF,
                    _ => f.mask[i] = 0,
                }
            }
        }
        (f, self.p(1, 4))
    }

    fn ip_part(&mut self) -> IpMatch {
        let mut ip = IpMatch::default();
        if self.p(1, 3) {
            let (a, m) = self.net();
            ip.src = Ipv4Addr::from(a);
            ip.smsk = Ipv4Addr::from(m);
            ip.inv.src = self.p(1, 4);
        }
        if self.p(1, 3) {
            let (a, m) = self.net();
            ip.dst = Ipv4Addr::from(a);
            ip.dmsk = Ipv4Addr::from(m);
            ip.inv.dst = self.p(1, 4);
        }
        if self.p(1, 5) {
            (ip.iniface, ip.inv.iniface) = self.iface();
        }
        if self.p(1, 5) {
            (ip.outiface, ip.inv.outiface) = self.iface();
        }
        if self.p(2, 3) {
            let proto = *self
                .rng
                .pick(&[6u8, 6, 6, 17, 17, 17, 1, 1, 47, 132, 136, 50]);
            ip.proto = u16::from(proto);
            ip.inv.proto = self.p(1, 10);
            self.h.protos.push(proto);
        }
        if self.p(1, 12) {
            ip.frag = true;
            ip.inv.frag = self.p(1, 2);
        } else if self.p(1, 100) {
            // The inversion bit alone: the kernel then matches nothing.
            ip.inv.frag = true;
        }
        ip
    }

    fn tcp(&mut self) -> Tcp {
        let mut v = Tcp {
            spts: [0, 0xFFFF],
            dpts: [0, 0xFFFF],
            option: 0,
            flg_mask: 0,
            flg_cmp: 0,
            invflags: 0,
        };
        if self.p(1, 2) {
            v.spts = self.range();
        }
        if self.p(2, 3) {
            v.dpts = self.range();
        }
        if self.p(1, 2) {
            let (m, c) = match self.below(7) {
                0 => (0x17, 0x02),
                1 => (0x3F, 0x12),
                2 => (0x12, 0x10),
                3 => (0x3F, 0x00),
                4 => (0x3F, 0x3F),
                5 => (0x01, 0x01),
                _ => {
                    let m = self.u8();
                    let c = if self.p(3, 4) {
                        self.u8() & m
                    } else {
                        self.u8()
                    };
                    (m, c)
                }
            };
            v.flg_mask = m;
            v.flg_cmp = c;
            self.h.flags.push((m, c));
        }
        if self.p(1, 6) {
            v.option = *self.rng.pick(&[1u8, 2, 3, 4, 8, 30, 77]);
            if self.p(1, 10) {
                v.option = self.u8().max(1);
            }
            self.h.options.push(v.option);
        }
        for bit in [0x01u8, 0x02, 0x04, 0x08] {
            if self.p(1, 6) {
                v.invflags |= bit;
            }
        }
        v
    }

    fn udp(&mut self) -> Udp {
        let mut v = Udp {
            spts: [0, 0xFFFF],
            dpts: [0, 0xFFFF],
            invflags: 0,
        };
        if self.p(1, 2) {
            v.spts = self.range();
        }
        if self.p(2, 3) {
            v.dpts = self.range();
        }
        for bit in [0x01u8, 0x02] {
            if self.p(1, 6) {
                v.invflags |= bit;
            }
        }
        v
    }

    fn icmp(&mut self) -> Icmp {
        let t = *self.rng.pick(&[0u8, 3, 3, 5, 8, 8, 11, 0xFF, 13, 42]);
        let code = match self.below(3) {
            0 => [0, 0xFF],
            1 => {
                let c = self.below(6) as u8;
                [c, c]
            }
            _ => {
                let (a, b) = (self.below(16) as u8, self.below(16) as u8);
                [a.min(b), a.max(b)]
            }
        };
        self.h.icmp.push((t, code[0]));
        self.h.icmp.push((t, code[1]));
        Icmp {
            icmp_type: t,
            code,
            invflags: u8::from(self.p(1, 5)),
        }
    }

    fn multiport(&mut self) -> Multiport {
        let mut v = Multiport {
            flags: self.below(3) as u8,
            count: 0,
            ports: [0; 15],
            pflags: [0; 15],
            invert: if self.p(1, 20) {
                2
            } else {
                u8::from(self.p(1, 4))
            },
        };
        let want = 1 + self.below(6);
        let mut i = 0usize;
        for _ in 0..want {
            if i >= 15 {
                break;
            }
            if i + 1 < 15 && self.p(1, 3) {
                let (a, b) = (self.port(), self.port());
                v.ports[i] = a.min(b);
                v.pflags[i] = 1;
                v.ports[i + 1] = a.max(b);
                self.h.ports.extend([a, b]);
                i += 2;
            } else {
                v.ports[i] = self.port();
                self.h.ports.push(v.ports[i]);
                i += 1;
            }
        }
        v.count = i as u8;
        v
    }

    fn iprange(&mut self) -> Iprange {
        let mut v = Iprange {
            src_min: [0; 16],
            src_max: [0; 16],
            dst_min: [0; 16],
            dst_max: [0; 16],
            flags: 0,
        };
        let one = |g: &mut Self| -> ([u8; 16], [u8; 16]) {
            let a = *g.rng.pick(&g.h.anchors.clone());
            let m = g.mask();
            let (lo, hi) = if g.p(1, 2) {
                (a & m, a | !m)
            } else {
                let b = g.safe_addr();
                (a.min(b), a.max(b))
            };
            g.h.ranges.push((lo, hi));
            let mut x = [[0u8; 16]; 2];
            x[0][..4].copy_from_slice(&lo.to_be_bytes());
            x[1][..4].copy_from_slice(&hi.to_be_bytes());
            (x[0], x[1])
        };
        let which = 1 + self.below(3);
        if which & 1 != 0 {
            (v.src_min, v.src_max) = one(self);
            v.flags |= 0x01 | if self.p(1, 4) { 0x10 } else { 0 };
        }
        if which & 2 != 0 {
            (v.dst_min, v.dst_max) = one(self);
            v.flags |= 0x02 | if self.p(1, 4) { 0x20 } else { 0 };
        }
        v
    }

    fn length(&mut self) -> Length {
        let a = 20 + self.below(120) as u16;
        let b = if self.p(1, 2) {
            a
        } else {
            a + self.below(200) as u16
        };
        self.h.lengths.extend([a, b]);
        Length {
            min: a,
            max: b,
            invert: if self.p(1, 30) {
                2
            } else {
                u8::from(self.p(1, 4))
            },
        }
    }

    fn ttl(&mut self) -> Ttl {
        let t = *self.rng.pick(&[1u8, 2, 3, 63, 64, 65, 128, 254, 255]);
        self.h.ttls.push(t);
        Ttl {
            mode: self.below(4) as u8,
            ttl: t,
        }
    }

    fn mark_value(&mut self) -> u32 {
        *self.rng.pick(&self.marks.clone())
    }

    fn mark(&mut self) -> Mark {
        let mask = *self
            .rng
            .pick(&[u32::MAX, u32::MAX, 0xFF, 0xF0, 0x1, 0xFFFF_0000]);
        Mark {
            mark: self.mark_value() & mask,
            mask,
            invert: u8::from(self.p(1, 4)),
        }
    }

    fn conntrack(&mut self) -> Conntrack {
        let options: &[u16] = if self.bpf_only {
            &[1, 1 << 12]
        } else {
            &[1, 1 << 12, 1 << 6]
        };
        let mut flags = 0u16;
        while flags == 0 {
            for &f in options {
                if self.p(1, 2) {
                    flags |= f;
                }
            }
        }
        let mut inv = 0u16;
        for f in [1u16, 1 << 12, 1 << 6] {
            if flags & f != 0 && self.p(1, 4) {
                inv |= f;
            }
        }
        let bits: &[u16] = if self.bpf_only {
            &[1, 2, 4, 8, 256]
        } else {
            &[1, 2, 4, 8, 256, 64]
        };
        let mut state = 0u16;
        while state == 0 {
            for &b in bits {
                if self.p(1, 3) {
                    state |= b;
                }
            }
        }
        let status = 1u16 << self.below(4);
        Conntrack {
            revision: 3,
            origsrc: [[0; 16]; 2],
            origdst: [[0; 16]; 2],
            replsrc: [[0; 16]; 2],
            repldst: [[0; 16]; 2],
            expires: [0, 0],
            l4proto: 0,
            ports: [0; 4],
            match_flags: flags,
            invert_flags: inv,
            state_mask: state,
            status_mask: status,
            ports_high: [0; 4],
        }
    }

    /// 0-3 matches that fit the rule's protocol.
    fn matches(&mut self, ip: &IpMatch) -> Vec<Match> {
        let mut out = Vec::new();
        let p = if ip.inv.proto { 0 } else { ip.proto };
        if p == 6 && self.p(3, 5) {
            out.extend(mk("tcp", 0, MatchValue::Tcp(self.tcp())));
        }
        if p == 17 && self.p(3, 5) {
            out.extend(mk("udp", 0, MatchValue::Udp(self.udp())));
        }
        if p == 1 && self.p(3, 5) {
            out.extend(mk("icmp", 0, MatchValue::Icmp(self.icmp())));
        }
        if matches!(p, 6 | 17 | 132 | 136) && self.p(1, 5) {
            out.extend(mk("multiport", 1, MatchValue::Multiport(self.multiport())));
        }
        let extra = self.below(3);
        for _ in 0..extra {
            let m = match self.below(12) {
                0 => mk("iprange", 1, MatchValue::Iprange(self.iprange())),
                1 => {
                    let v = self.length();
                    mk("length", 0, MatchValue::Length(v))
                }
                2 => {
                    let v = self.ttl();
                    mk("ttl", 0, MatchValue::Ttl(v))
                }
                3 | 4 => {
                    let v = self.mark();
                    mk("mark", 1, MatchValue::Mark(v))
                }
                5 => mk(
                    "pkttype",
                    0,
                    MatchValue::Pkttype(Pkttype {
                        pkttype: *self.rng.pick(&[0, 0, 1, 2, 3]),
                        invert: i32::from(self.p(1, 3)),
                    }),
                ),
                6 => mk(
                    "comment",
                    0,
                    MatchValue::Comment(Comment {
                        comment: format!("rule {}", self.below(1000)).into_bytes(),
                    }),
                ),
                7 if !self.bpf_only => {
                    let srcaddr = if self.p(2, 3) {
                        INPUTS[self.below(2)].1
                    } else {
                        [2, 0, 0, 0, self.u8(), self.u8()]
                    };
                    mk(
                        "mac",
                        0,
                        MatchValue::Mac(Mac {
                            srcaddr,
                            invert: i32::from(self.p(1, 3)),
                        }),
                    )
                }
                8 => {
                    // Slow rates only: the kernel's clock runs on while the lab sends, and
                    // at one per minute or slower no token comes back within a ruleset.
                    let avg = *self.rng.pick(&[600_000u32, 36_000_000, 864_000_000]);
                    // user2credits(avg * burst) wraps in 32 bits past 1/day x 1: the kernel
                    // answers ERANGE, so a day only ever has a burst of 1.
                    let burst = if avg > 36_000_000 {
                        1
                    } else {
                        1 + self.below(4) as u32
                    };
                    mk("limit", 0, MatchValue::Limit(Limit { avg, burst }))
                }
                9 if self.allow_ct => {
                    self.h.uses_ct = true;
                    let mut statemask = 0u32;
                    while statemask == 0 {
                        for b in [1u32, 2, 4, 8, 64] {
                            if self.p(1, 3) {
                                statemask |= b;
                            }
                        }
                    }
                    mk("state", 0, MatchValue::State(State { statemask }))
                }
                10 if self.allow_ct => {
                    self.h.uses_ct = true;
                    let v = self.conntrack();
                    mk("conntrack", 3, MatchValue::Conntrack(v))
                }
                _ => None,
            };
            out.extend(m);
        }
        out
    }

    fn target(&mut self, rule: &Rule<ChainTarget>, callees: &[String]) -> ChainTarget {
        let r = self.below(100);
        let name = |s: &String| ChainName::new(s.as_bytes()).expect("short chain name");
        match r {
            0..=19 => ChainTarget::Accept,
            20..=39 => ChainTarget::Drop,
            40..=46 => ChainTarget::Return,
            47..=63 if !callees.is_empty() => {
                ChainTarget::Jump(name(&callees[self.below(callees.len())]))
            }
            64..=70 if !callees.is_empty() => {
                ChainTarget::Goto(name(&callees[self.below(callees.len())]))
            }
            71..=74 => ChainTarget::Fallthrough { goto: false },
            75..=81 => {
                let mut prefix = [0u8; 30];
                let text = format!("r{} ", self.below(100));
                prefix[..text.len()].copy_from_slice(text.as_bytes());
                let level = self.below(8) as u8;
                ext_target(
                    "LOG",
                    0,
                    TargetValue::Log(Log {
                        level,
                        logflags: 0,
                        prefix,
                    }),
                )
            }
            82..=90 if !self.bpf_only => {
                let mark = self.mark_value();
                let mask = *self.rng.pick(&[u32::MAX, 0, 0xFF, 0xFFFF_0000]);
                ext_target("MARK", 2, TargetValue::Mark(MarkTarget { mark, mask }))
            }
            91..=96 if !self.bpf_only => {
                // icmp-port-unreachable, or tcp-reset where the kernel allows it.
                let tcp = rule.ip.proto == 6 && !rule.ip.inv.proto;
                // enum ipt_reject_with: 4 (echo-reply) is refused, 7 (tcp-reset) needs -p tcp.
                let with: u32 = if tcp && self.p(1, 2) {
                    7
                } else {
                    *self.rng.pick(&[0u32, 1, 2, 3, 3, 5, 6, 8])
                };
                ext_target("REJECT", 0, TargetValue::Reject(Reject { with }))
            }
            97 | 98 if !self.bpf_only => ChainTarget::Queue,
            _ => ChainTarget::Accept,
        }
    }

    /// A run of 16 to 63 rules that differ only in one key the code generator can classify
    /// (`core::codegen::classify`): a TCP/UDP destination or source port, or a destination
    /// or source prefix, with ACCEPT/DROP targets, over a random common part (which may hold
    /// hotdrop points before or after the key). Keys repeat and prefixes nest; the first and
    /// last keys are hinted twice, so packets hit the run's edges.
    fn classifier_run(&mut self) -> Vec<Rule<ChainTarget>> {
        let key = self.below(7);
        if key >= 4 {
            return self.protocol_or_interface_run(key);
        }
        let (n, bare, mut ip) = self.run_common();
        let mut matches = Vec::new();
        // A few distinct keys, fewer than rules: duplicates.
        let distinct = 2 + self.below(n);
        let mut keys: Vec<(u32, u32)> = Vec::new();
        if key < 2 {
            let tcp = self.p(1, 2);
            ip.proto = if tcp { 6 } else { 17 };
            ip.inv.proto = false;
            self.h.protos.push(ip.proto as u8);
            for _ in 0..distinct {
                let p = if self.p(1, 3) {
                    self.port()
                } else {
                    self.u16()
                };
                keys.push((u32::from(p), 0));
            }
            let m = if bare {
                let v = Udp {
                    spts: [0, 0xFFFF],
                    dpts: [0, 0xFFFF],
                    invflags: 0,
                };
                if tcp {
                    mk(
                        "tcp",
                        0,
                        MatchValue::Tcp(Tcp {
                            spts: v.spts,
                            dpts: v.dpts,
                            option: 0,
                            flg_mask: 0,
                            flg_cmp: 0,
                            invflags: 0,
                        }),
                    )
                } else {
                    mk("udp", 0, MatchValue::Udp(v))
                }
            } else if tcp {
                let mut v = self.tcp();
                v.invflags &= if key == 0 { !0x02 } else { !0x01 };
                mk("tcp", 0, MatchValue::Tcp(v))
            } else {
                let mut v = self.udp();
                v.invflags &= if key == 0 { !0x02 } else { !0x01 };
                mk("udp", 0, MatchValue::Udp(v))
            };
            matches.extend(m);
        } else {
            let anchors = self.h.anchors.clone();
            for _ in 0..distinct {
                let a = *self.rng.pick(&anchors)
                    ^ (self.u32() & *self.rng.pick(&[0xFF, 0xF0F, 0x3_0000, 0]));
                let len = if self.p(1, 3) {
                    1 + self.below(32) as u32
                } else {
                    *self.rng.pick(&[8u32, 16, 20, 24, 28, 30, 32, 32])
                };
                let m = u32::MAX << (32 - len);
                keys.push((a & m, m));
            }
        }
        // Extra common matches, without side effects (a limit would end the run).
        if !bare {
            matches.extend(
                self.matches(&ip)
                    .into_iter()
                    .filter(|m| !matches!(m.value, MatchValue::Limit(_))),
            );
        } else if key >= 2 && self.p(1, 2) {
            // A UDP header behind the prefix key: a hotdrop point after the key.
            ip.proto = 17;
            self.h.protos.push(17);
            matches.extend(mk(
                "udp",
                0,
                MatchValue::Udp(Udp {
                    spts: [0, 0xFFFF],
                    dpts: [0, 0xFFFF],
                    invflags: 0,
                }),
            ));
        }
        // The last entry gets a key of its own that no earlier prefix contains, so that it can
        // decide (a run's far edge).
        for _ in 0..16 {
            let k = if key < 2 {
                (u32::from(self.u16()), 0)
            } else {
                (self.safe_addr(), u32::MAX)
            };
            let covered = keys
                .iter()
                .any(|&(v, m)| if key < 2 { v == k.0 } else { k.0 & m == v });
            if !covered {
                keys.push(k);
                break;
            }
        }
        let mut out = Vec::with_capacity(n);
        let mut picks: Vec<usize> = (0..n).map(|_| self.below(keys.len())).collect();
        picks[n - 1] = keys.len() - 1;
        for (i, &k) in picks.iter().enumerate() {
            let (kv, km) = keys[k];
            let mut r = self.run_rule(ip, &matches);
            match key {
                0 | 1 => {
                    let p = kv as u16;
                    for m in &mut r.matches {
                        match &mut m.value {
                            MatchValue::Tcp(v) if key == 0 => v.dpts = [p, p],
                            MatchValue::Tcp(v) => v.spts = [p, p],
                            MatchValue::Udp(v) if key == 0 => v.dpts = [p, p],
                            MatchValue::Udp(v) => v.spts = [p, p],
                            _ => continue,
                        }
                        break;
                    }
                    let edge = if i == 0 || i + 1 == n { 2 } else { 1 };
                    for _ in 0..edge {
                        self.h.ports.push(p);
                    }
                }
                _ => {
                    if key == 2 {
                        r.ip.dst = Ipv4Addr::from(kv);
                        r.ip.dmsk = Ipv4Addr::from(km);
                        r.ip.inv.dst = false;
                    } else {
                        r.ip.src = Ipv4Addr::from(kv);
                        r.ip.smsk = Ipv4Addr::from(km);
                        r.ip.inv.src = false;
                    }
                    let edge = if i == 0 || i + 1 == n { 2 } else { 1 };
                    for _ in 0..edge {
                        self.h.nets.push((kv, km));
                    }
                }
            }
            out.push(r);
        }
        out
    }

    /// One rule of a classifier run before its key is set: the common part, ACCEPT or DROP.
    fn run_rule(&mut self, ip: IpMatch, matches: &[Match]) -> Rule<ChainTarget> {
        let mut r = Rule::new(if self.p(1, 2) {
            ChainTarget::Accept
        } else {
            ChainTarget::Drop
        });
        r.ip = ip;
        r.matches = matches.to_vec();
        r
    }

    /// A classifier run's length (16 to 63) and common IPv4 part: bare half the time, so
    /// that many packets get to the lookup, else random.
    fn run_common(&mut self) -> (usize, bool, IpMatch) {
        let n = 16 + self.below(48);
        let bare = self.p(1, 2);
        let ip = if bare {
            IpMatch::default()
        } else {
            self.ip_part()
        };
        (n, bare, ip)
    }

    /// A run of 16 to 63 rules that differ only in the protocol (`kind` 4), the input
    /// interface (5) or the output interface (6), exact names and `name+` wildcards that
    /// overlap, over a random common part (without protocol matches for a protocol run).
    fn protocol_or_interface_run(&mut self, kind: usize) -> Vec<Rule<ChainTarget>> {
        let (n, bare, mut ip) = self.run_common();
        let mut matches = Vec::new();
        if kind == 4 {
            ip.proto = 0;
            ip.inv.proto = false;
        } else if !bare {
            matches.extend(
                self.matches(&ip)
                    .into_iter()
                    .filter(|m| !matches!(m.value, MatchValue::Limit(_))),
            );
        }
        const PROTOS: [u8; 9] = [1, 2, 6, 17, 41, 47, 50, 132, 136];
        let names: Vec<&str> = IFNAMES.iter().copied().filter(|n| *n != "+").collect();
        let distinct = 2 + self.below(8);
        let mut out = Vec::with_capacity(n);
        let keys: Vec<usize> = (0..distinct)
            .map(|_| self.below(if kind == 4 { PROTOS.len() } else { names.len() }))
            .collect();
        for _ in 0..n {
            let mut r = self.run_rule(ip, &matches);
            let k = keys[self.below(keys.len())];
            match kind {
                4 => {
                    r.ip.proto = u16::from(PROTOS[k]);
                    self.h.protos.push(PROTOS[k]);
                }
                5 => {
                    r.ip.iniface = Iface::parse(names[k]).unwrap_or(Iface::ANY);
                    r.ip.inv.iniface = false;
                }
                _ => {
                    r.ip.outiface = Iface::parse(names[k]).unwrap_or(Iface::ANY);
                    r.ip.inv.outiface = false;
                }
            }
            out.push(r);
        }
        out
    }

    fn rule(&mut self, callees: &[String]) -> Rule<ChainTarget> {
        let ip = self.ip_part();
        let mut r = Rule::new(ChainTarget::Accept);
        r.matches = self.matches(&ip);
        r.ip = ip;
        r.target = self.target(&r, callees);
        r
    }
}

/// A random filter ruleset: up to `max_rules` rules per chain, up to 4 user chains; with
/// `bpf_only`, only what the code generator supports (otherwise half the rulesets are so).
pub fn ruleset(rng: &mut Rng, max_rules: usize, bpf_only: bool) -> Generated {
    let allow_ct = rng.chance(1, 3);
    let bpf_only = rng.chance(1, 2) || bpf_only;
    let mut g = G {
        rng,
        h: Hints::default(),
        allow_ct,
        bpf_only,
        marks: Vec::new(),
        ports_pool: vec![0, 1, 22, 53, 80, 443, 1023, 1024, 65535],
    };
    let n_anchor = 2 + g.below(4);
    for _ in 0..n_anchor {
        let a = g.safe_addr();
        g.h.anchors.push(a);
    }
    for _ in 0..6 {
        let p = g.u16();
        g.ports_pool.push(p);
    }
    let extra = [g.u32(), g.u32() & 0xFF];
    g.marks = MARKS.to_vec();
    g.marks.extend(extra);

    let filter = table_by_name(b"filter").expect("filter table");
    let mut rs = Ruleset::new(filter);
    let n_user = g.below(5);
    let users: Vec<String> = (0..n_user).map(|i| format!("c{i}")).collect();
    for (i, name) in users.iter().enumerate() {
        let mut c = Chain::user(name).expect("chain name");
        // Forward jumps only: a DAG, as mark_source_chains requires.
        let callees = &users[i + 1..];
        let n = g.below(max_rules.max(1) + 1);
        c.rules = (0..n).map(|_| g.rule(callees)).collect();
        rs.chains.push(c);
    }
    for c in rs.chains.iter_mut().filter(|c| c.hook.is_some()) {
        let n = g.below(max_rules.max(1) + 1);
        c.rules = (0..n).map(|_| g.rule(&users)).collect();
        c.policy = Some(if g.p(1, 2) {
            Verdict::Accept
        } else {
            Verdict::Drop
        });
    }
    // A quarter of the rulesets give one built-in chain the prescreen's shape: every rule
    // starts with one of a few source/destination conditions (`Prescreen` in
    // core::codegen), so that packets matching none of them are decided before the rest.
    if g.p(1, 4) {
        let hooked: Vec<usize> = (0..rs.chains.len())
            .filter(|&i| rs.chains[i].hook.is_some())
            .collect();
        let c = hooked[g.below(hooked.len())];
        let n = 1 + g.below(3);
        let nonzero = |g: &mut G| {
            for _ in 0..8 {
                let (a, m) = g.net();
                if m != 0 {
                    return Some((a, m));
                }
            }
            None
        };
        let templates: Vec<_> = (0..n)
            .map(|_| {
                let src = if g.p(2, 3) { nonzero(&mut g) } else { None };
                let dst = if src.is_none() || g.p(1, 3) {
                    nonzero(&mut g)
                } else {
                    None
                };
                (src, dst)
            })
            .collect();
        for r in &mut rs.chains[c].rules {
            let (src, dst) = templates[g.below(templates.len())];
            if let Some((a, m)) = src {
                r.ip.src = Ipv4Addr::from(a);
                r.ip.smsk = Ipv4Addr::from(m);
                r.ip.inv.src = false;
            }
            if let Some((a, m)) = dst {
                r.ip.dst = Ipv4Addr::from(a);
                r.ip.dmsk = Ipv4Addr::from(m);
                r.ip.inv.dst = false;
            }
        }
    }
    // Now and then every chain first calls the next one unconditionally: packets go through
    // every user chain, as deep as the DAG allows (and past the jump stack when
    // `mutate_table` takes the ERROR heads away).
    if !users.is_empty() && g.p(1, 4) {
        let jump = |to: &String| {
            Rule::new(ChainTarget::Jump(
                ChainName::new(to.as_bytes()).expect("name"),
            ))
        };
        for c in rs.chains.iter_mut() {
            let next = match c.hook {
                Some(_) => Some(&users[0]),
                None => users
                    .iter()
                    .position(|u| u.as_bytes() == c.name.as_bytes())
                    .and_then(|i| users.get(i + 1)),
            };
            if let Some(n) = next {
                c.rules.insert(0, jump(n));
            }
        }
    }
    // Half the rulesets get a classifier run in one chain, at its start half the time.
    if g.p(1, 2) {
        let run = g.classifier_run();
        let c = g.below(rs.chains.len());
        let at = if g.p(1, 2) {
            0
        } else {
            g.below(rs.chains[c].rules.len() + 1)
        };
        rs.chains[c].rules.splice(at..at, run);
    }
    strip_output_only_invalid(&mut rs);
    Generated {
        ruleset: rs,
        hints: g.h,
    }
}

/// `mac` is registered for PRE_ROUTING, LOCAL_IN and FORWARD only: drop it from every chain
/// OUTPUT can reach, as the kernel would refuse the table otherwise.
fn strip_output_only_invalid(rs: &mut Ruleset) {
    let mut reach: Vec<Vec<u8>> = vec![b"OUTPUT".to_vec()];
    let mut i = 0;
    while i < reach.len() {
        let from = reach[i].clone();
        if let Some(c) = rs.chains.iter().find(|c| c.name.as_bytes() == from) {
            for r in &c.rules {
                if let ChainTarget::Jump(n) | ChainTarget::Goto(n) = &r.target {
                    if !reach.iter().any(|x| x == n.as_bytes()) {
                        reach.push(n.as_bytes().to_vec());
                    }
                }
            }
        }
        i += 1;
    }
    for c in rs
        .chains
        .iter_mut()
        .filter(|c| reach.iter().any(|x| x == c.name.as_bytes()))
    {
        for r in &mut c.rules {
            r.matches.retain(|m| m.name() != "mac");
        }
    }
}

/// Layouts iptables never writes but the kernel takes, applied to the built table now and
/// then: user chains whose ERROR heads became unreachable RETURNs (fewer ERROR entries make a
/// smaller jump stack, so nesting hits the CVE-2018-1065 limit and drops), and an ordinary
/// rule turned into an ERROR entry (`ipt_error` drops at run time). Returns what was done.
pub fn mutate_table(rng: &mut Rng, t: &mut Table) -> Vec<&'static str> {
    let mut done = Vec::new();
    let n = t.entries.len();
    let is_error = |t: &Table, i: usize| matches!(t.entries[i].target, Target::Error(_));
    let heads: Vec<usize> = (0..n.saturating_sub(1))
        .filter(|&i| is_error(t, i))
        .collect();
    if !heads.is_empty() && rng.chance(1, 3) {
        let keep = heads.len() / 3;
        for &i in &heads[keep..] {
            t.entries[i].target = Target::Return;
        }
        done.push("user chains without ERROR heads");
    }
    if rng.chance(1, 8) {
        let underflows: Vec<usize> = t.underflow.iter().flatten().copied().collect();
        // Not a policy, not a chain's RETURN tail (the walk would fall through it into the
        // next chain, and from the last one off the table), not an ERROR entry.
        let rules: Vec<usize> = (0..n.saturating_sub(1))
            .filter(|&i| {
                !underflows.contains(&i)
                    && !is_error(t, i)
                    && !is_error(t, i + 1)
                    && t.entries[i].target != Target::Return
            })
            .collect();
        if !rules.is_empty() {
            let i = rules[rng.below(rules.len())];
            t.entries[i].target = Target::Error(ErrorName::new(b"ERR").expect("short name"));
            done.push("an ERROR entry as a rule");
        }
    }
    done
}

// ------------------------------------------------------------------ packets

/// One packet to send.
#[derive(Clone, Debug)]
pub struct TestPacket {
    /// The hook it is meant for.
    pub hook: usize,
    /// For LOCAL_IN and FORWARD: which input interface it arrives on.
    pub in_if: usize,
    /// The bytes sent (IPv4 header on, checksums filled in).
    pub bytes: Vec<u8>,
}

impl TestPacket {
    /// Destination address.
    pub fn dst(&self) -> u32 {
        u32::from_be_bytes([
            self.bytes[16],
            self.bytes[17],
            self.bytes[18],
            self.bytes[19],
        ])
    }

    /// The packet as the hook sees it: FORWARD comes after `ip_forward` decremented the TTL.
    pub fn at_hook(&self) -> Vec<u8> {
        let mut b = self.bytes.clone();
        if self.hook == FWD {
            b[8] = b[8].saturating_sub(1);
            set_ip_checksum(&mut b);
        }
        b
    }

    /// The input device name at the hook ("" for OUTPUT).
    pub fn indev(&self) -> &'static str {
        if self.hook == OUT {
            ""
        } else {
            INPUTS[self.in_if].0
        }
    }

    /// The output device name at the hook ("" for INPUT).
    pub fn outdev(&self) -> &'static str {
        if self.hook == IN {
            ""
        } else {
            OUTPUTS[out_iface(self.dst())]
        }
    }

    /// The mark the lab's mangle rules give the packet (from its IP id).
    pub fn initial_mark(&self) -> u32 {
        MARKS
            .get(usize::from(self.bytes[5] & 7))
            .copied()
            .unwrap_or(0)
    }

    /// `skb->pkt_type`: `PACKET_BROADCAST` (1) for the link broadcast, else `PACKET_HOST`.
    pub fn pkt_type(&self) -> u8 {
        u8::from(self.hook == IN && self.dst() == in_link_broadcast(self.hook, self.in_if))
    }

    /// The source MAC the hook sees (the sending peer's), none for OUTPUT.
    pub fn src_mac(&self) -> Option<[u8; 6]> {
        (self.hook != OUT).then(|| INPUTS[self.in_if].1)
    }
}

fn csum(data: &[u8], init: u32) -> u16 {
    let mut s = init;
    for c in data.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        s += u32::from(w);
    }
    while s >> 16 != 0 {
        s = (s & 0xFFFF) + (s >> 16);
    }
    !(s as u16)
}

fn set_ip_checksum(p: &mut [u8]) {
    let ihl = usize::from(p[0] & 0x0F) * 4;
    p[10] = 0;
    p[11] = 0;
    let c = csum(&p[..ihl.min(p.len())], 0);
    p[10..12].copy_from_slice(&c.to_be_bytes());
}

/// The TCP/UDP pseudo-header sum.
fn pseudo(src: u32, dst: u32, proto: u8, len: usize) -> u32 {
    let s = |x: u32| (x >> 16) + (x & 0xFFFF);
    s(src) + s(dst) + u32::from(proto) + len as u32
}

/// Previous packets, for replies (conntrack ESTABLISHED) in later ones.
#[derive(Default)]
pub struct History {
    sent: Vec<TestPacket>,
}

impl History {
    /// Remember `p`.
    pub fn push(&mut self, p: &TestPacket) {
        if self.sent.len() > 32 {
            self.sent.remove(0);
        }
        self.sent.push(p.clone());
    }
}

struct Aim<'a> {
    rng: &'a mut Rng,
    h: &'a Hints,
}

impl Aim<'_> {
    /// Up to `max - 1` random bytes.
    fn rbytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.rng.below(max);
        self.rng.bytes(n)
    }

    fn p(&mut self, num: usize, den: usize) -> bool {
        self.rng.chance(num, den)
    }

    fn addr(&mut self) -> u32 {
        for _ in 0..16 {
            let r = self.rng.next_u64() as u32;
            let a = match self.rng.below(10) {
                0..=3 if !self.h.nets.is_empty() => {
                    let (a, m) = *self.rng.pick(&self.h.nets);
                    (a & m) | (r & !m)
                }
                4 | 5 if !self.h.nets.is_empty() => {
                    // Just outside: one bit of the network flipped.
                    let (a, m) = *self.rng.pick(&self.h.nets);
                    let base = (a & m) | (r & !m);
                    if m == 0 {
                        r
                    } else {
                        let bits: Vec<u32> = (0..32).filter(|b| m >> b & 1 == 1).collect();
                        base ^ (1 << *self.rng.pick(&bits))
                    }
                }
                6 | 7 if !self.h.ranges.is_empty() => {
                    let (lo, hi) = *self.rng.pick(&self.h.ranges);
                    match self.rng.below(4) {
                        0 => lo.wrapping_sub(1),
                        1 => lo,
                        2 => hi,
                        _ => hi.wrapping_add(1),
                    }
                }
                8 if !self.h.anchors.is_empty() => *self.rng.pick(&self.h.anchors) ^ (r & 0xFF),
                _ => r,
            };
            if !undeliverable(a) {
                return a;
            }
        }
        0x0A00_0002
    }

    fn port(&mut self) -> u16 {
        if !self.h.ports.is_empty() && self.p(3, 4) {
            let p = *self.rng.pick(&self.h.ports);
            match self.rng.below(5) {
                0 => p.wrapping_sub(1),
                1 => p.wrapping_add(1),
                _ => p,
            }
        } else {
            self.rng.next_u64() as u16
        }
    }

    fn tcp_flags(&mut self) -> u8 {
        if !self.h.flags.is_empty() && self.p(2, 3) {
            let (m, c) = *self.rng.pick(&self.h.flags);
            let outside = (self.rng.next_u64() as u8) & !m;
            match self.rng.below(3) {
                0 => c | outside,
                1 => (c | outside) ^ (1 << self.rng.below(8)),
                _ => c,
            }
        } else {
            *self
                .rng
                .pick(&[0x02u8, 0x12, 0x10, 0x11, 0x04, 0x18, 0x03, 0x29, 0x00, 0xFF])
        }
    }

    /// TCP options: a mix of real ones and the rules' kinds, padded to 4 bytes.
    fn tcp_options(&mut self) -> Vec<u8> {
        if self.h.options.contains(&1) && self.p(1, 3) {
            // For `--tcp-option 1`: the walk steps onto a length byte of 1 and reads it as a
            // NOP, the only one in the packet.
            return vec![*self.rng.pick(&[9u8, 30, 200]), 1, 0, 0];
        }
        let mut o = Vec::new();
        let n = 1 + self.rng.below(4);
        for _ in 0..n {
            let kind = if !self.h.options.is_empty() && self.p(1, 2) {
                *self.rng.pick(&self.h.options)
            } else {
                *self.rng.pick(&[1u8, 2, 3, 4, 8])
            };
            match kind {
                0 | 1 => o.push(kind),
                2 => o.extend([2, 4, 5, 0xB4]),
                3 => o.extend([3, 3, 7]),
                4 => o.extend([4, 2]),
                8 => o.extend([8, 10, 0, 0, 0, 1, 0, 0, 0, 0]),
                k => {
                    // Lengths 0 and 1 too: the kernel's walk steps by `op[i+1] ?: 1`.
                    let len = self.rng.below(6) as u8;
                    o.push(k);
                    o.push(len);
                    o.extend(std::iter::repeat_n(0u8, usize::from(len.saturating_sub(2))));
                }
            }
        }
        if self.p(1, 4) {
            // A kind the rules look for behind a zero or one length byte.
            let k = if self.h.options.is_empty() {
                5
            } else {
                *self.rng.pick(&self.h.options)
            };
            let filler = *self.rng.pick(&[9u8, 30, 200]);
            o.extend([filler, self.rng.below(2) as u8, k, 2]);
        }
        o.truncate(40);
        while o.len() % 4 != 0 {
            o.push(if self.p(1, 2) { 0 } else { 1 });
        }
        o
    }
}

/// A packet for `hook`, aimed at `h`. `history` provides replies to earlier packets.
pub fn packet(rng: &mut Rng, h: &Hints, hook: usize, history: &History) -> TestPacket {
    let in_if = rng.below(INPUTS.len());
    // A reply to an earlier packet of the same hook: conntrack ESTABLISHED, reply direction.
    if h.uses_ct && rng.chance(1, 5) {
        let same: Vec<&TestPacket> = history.sent.iter().filter(|p| p.hook == hook).collect();
        if !same.is_empty() {
            let prev = same[rng.below(same.len())];
            return if rng.chance(1, 3) {
                icmp_error_for(prev, in_if)
            } else {
                reverse(prev, in_if)
            };
        }
    }
    let mut a = Aim { rng, h };
    let proto = if !h.protos.is_empty() && a.p(3, 4) {
        *a.rng.pick(&h.protos)
    } else {
        *a.rng.pick(&[6u8, 6, 17, 17, 1, 1, 47, 132, 136])
    };
    let src = a.addr();
    // Now and then LOCAL_IN gets a link-layer broadcast (pkttype matches see it).
    let dst = if hook == IN && a.p(1, 12) {
        in_link_broadcast(hook, in_if)
    } else {
        a.addr()
    };
    let ttl = if !h.ttls.is_empty() && a.p(1, 2) {
        let t = *a.rng.pick(&h.ttls);
        // FORWARD decrements first; +1 puts the rule's value at the hook.
        let t = if hook == FWD { t.saturating_add(1) } else { t };
        match a.rng.below(3) {
            0 => t.saturating_sub(1),
            1 => t.saturating_add(1),
            _ => t,
        }
    } else {
        *a.rng.pick(&[64u8, 64, 128, 255, 2, 3])
    }
    .max(2);

    // Fragments reach FORWARD and OUTPUT as they are (LOCAL_IN only sees reassembled
    // packets), and only without conntrack (whose defrag would hold them).
    let mut frag_off: u16 = 0;
    if hook != IN && !h.uses_ct && a.p(1, if proto == 6 { 3 } else { 6 }) {
        frag_off = match a.rng.below(if proto == 6 { 4 } else { 5 }) {
            0 => 0x2000,          // first fragment, MF
            1 => 0x0001,          // offset 1: TCP hotdrop
            2 => 0x0001 | 0x2000, // offset 1 + MF
            _ => (2 + a.rng.below(300) as u16) | if a.p(1, 2) { 0x2000 } else { 0 },
        };
    } else if a.p(1, 4) {
        frag_off = 0x4000; // DF
    }
    let opts: Vec<u8> = if a.p(1, 10) {
        let mut o = vec![1u8; 4 * (1 + a.rng.below(2))];
        if let Some(l) = o.last_mut() {
            *l = 0;
        }
        o
    } else {
        vec![]
    };

    let non_first = frag_off & 0x1FFF != 0;
    let mut l4: Vec<u8> = if non_first {
        a.rbytes(24)
    } else {
        match proto {
            6 => {
                let opt = if a.p(if h.options.is_empty() { 1 } else { 2 }, 3) {
                    a.tcp_options()
                } else {
                    vec![]
                };
                let mut t = vec![0u8; 20];
                t[0..2].copy_from_slice(&a.port().to_be_bytes());
                t[2..4].copy_from_slice(&a.port().to_be_bytes());
                t[4..8].copy_from_slice(&(a.rng.next_u64() as u32).to_be_bytes());
                let mut doff = ((20 + opt.len()) / 4) as u8;
                if a.p(1, 25) {
                    doff = a.rng.below(16) as u8;
                }
                t[12] = doff << 4;
                t[13] = a.tcp_flags();
                t[14..16].copy_from_slice(&512u16.to_be_bytes());
                t.extend_from_slice(&opt);
                t
            }
            17 | 136 => {
                let mut u = vec![0u8; 8];
                u[0..2].copy_from_slice(&a.port().to_be_bytes());
                u[2..4].copy_from_slice(&a.port().to_be_bytes());
                u
            }
            1 => {
                let (t, c) = if !h.icmp.is_empty() && a.p(3, 4) {
                    let (t, c) = *a.rng.pick(&h.icmp);
                    let t = if t == 0xFF { a.rng.below(20) as u8 } else { t };
                    let c = match a.rng.below(4) {
                        0 => c.wrapping_add(1),
                        1 => c.wrapping_sub(1),
                        _ => c,
                    };
                    (t, c)
                } else {
                    (*a.rng.pick(&[8u8, 0, 3, 11, 13]), 0)
                };
                let mut m = vec![t, c, 0, 0];
                m.extend((a.rng.next_u64() as u32).to_be_bytes());
                m
            }
            _ => a.rbytes(32),
        }
    };
    // Now and then a header cut short: the kernel's matches hotdrop.
    if !non_first && matches!(proto, 1 | 6 | 17 | 136) && a.p(1, 20) {
        let n = a.rng.below(l4.len().max(1));
        l4.truncate(n);
    }
    // Payload up to a length a rule compares against.
    let base = 20 + opts.len() + l4.len();
    if !h.lengths.is_empty() && a.p(1, 3) {
        let want = usize::from(*a.rng.pick(&h.lengths)) as isize + a.rng.below(3) as isize - 1;
        if want > base as isize && want <= 1400 {
            let pad = want as usize - base;
            l4.extend(a.rng.bytes(pad));
        }
    } else if a.p(1, 4) {
        l4.extend(a.rbytes(64));
    }

    let mut p = vec![0u8; 20];
    p[0] = 0x40 | ((20 + opts.len()) / 4) as u8;
    p[1] = a.rng.next_u64() as u8 & 0xFC;
    let len = 20 + opts.len() + l4.len();
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    // A nonzero id: the kernel fills in a zero one.
    p[4..6].copy_from_slice(&(1 + a.rng.below(0xFFFE) as u16).to_be_bytes());
    p[6..8].copy_from_slice(&frag_off.to_be_bytes());
    p[8] = ttl;
    p[9] = proto;
    p[12..16].copy_from_slice(&src.to_be_bytes());
    p[16..20].copy_from_slice(&dst.to_be_bytes());
    p.extend_from_slice(&opts);
    let l4_at = p.len();
    p.extend_from_slice(&l4);
    if !non_first {
        fill_l4_checksum(&mut p, l4_at, a.p(19, 20));
    }
    set_ip_checksum(&mut p);
    TestPacket {
        hook,
        in_if,
        bytes: p,
    }
}

/// Checksums of a complete-enough TCP/UDP/ICMP header (right ones unless `good` is false):
/// conntrack calls packets with bad ones INVALID.
fn fill_l4_checksum(p: &mut [u8], at: usize, good: bool) {
    let proto = p[9];
    let src = u32::from_be_bytes([p[12], p[13], p[14], p[15]]);
    let dst = u32::from_be_bytes([p[16], p[17], p[18], p[19]]);
    let l4len = p.len() - at;
    let (off, init) = match proto {
        6 if l4len >= 20 => (16, pseudo(src, dst, 6, l4len)),
        17 | 136 if l4len >= 8 => {
            p[at + 4..at + 6].copy_from_slice(&(l4len as u16).to_be_bytes());
            (6, pseudo(src, dst, proto, l4len))
        }
        1 if l4len >= 4 => (2, 0),
        _ => return,
    };
    p[at + off] = 0;
    p[at + off + 1] = 0;
    let mut c = csum(&p[at..], init);
    if proto == 17 && c == 0 {
        c = 0xFFFF;
    }
    if !good {
        c ^= 0x5A5A;
    }
    p[at + off..at + off + 2].copy_from_slice(&c.to_be_bytes());
}

/// An ICMP destination-unreachable from `prev`'s destination back to its source, quoting
/// `prev`'s header and first 8 bytes: conntrack calls it RELATED when `prev` made a connection.
fn icmp_error_for(prev: &TestPacket, in_if: usize) -> TestPacket {
    let q = &prev.bytes;
    let ihl = usize::from(q[0] & 0x0F) * 4;
    let quote = &q[..(ihl + 8).min(q.len())];
    let mut p = vec![0u8; 20];
    p[0] = 0x45;
    let len = 20 + 8 + quote.len();
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    p[4..6].copy_from_slice(&q[4..6]);
    p[8] = 64;
    p[9] = 1;
    p[12..16].copy_from_slice(&q[16..20]);
    p[16..20].copy_from_slice(&q[12..16]);
    p.extend_from_slice(&[3, 3, 0, 0, 0, 0, 0, 0]);
    p.extend_from_slice(quote);
    fill_l4_checksum(&mut p, 20, true);
    set_ip_checksum(&mut p);
    TestPacket {
        hook: prev.hook,
        in_if,
        bytes: p,
    }
}

/// The reply to `prev`: addresses and ports swapped, a SYN+ACK for a SYN, an echo reply for
/// an echo request.
fn reverse(prev: &TestPacket, in_if: usize) -> TestPacket {
    let mut p = prev.bytes.clone();
    let (s, d) = (p[12..16].to_vec(), p[16..20].to_vec());
    p[12..16].copy_from_slice(&d);
    p[16..20].copy_from_slice(&s);
    let at = usize::from(p[0] & 0x0F) * 4;
    let non_first = u16::from_be_bytes([p[6], p[7]]) & 0x1FFF != 0;
    if !non_first && p.len() >= at + 4 && matches!(p[9], 6 | 17 | 136) {
        let (a, b) = (p[at..at + 2].to_vec(), p[at + 2..at + 4].to_vec());
        p[at..at + 2].copy_from_slice(&b);
        p[at + 2..at + 4].copy_from_slice(&a);
        if p[9] == 6 && p.len() >= at + 14 && p[at + 13] & 0x02 != 0 {
            p[at + 13] |= 0x10;
        }
    }
    if !non_first && p[9] == 1 && p.len() > at && p[at] == 8 {
        p[at] = 0;
    }
    if !non_first {
        fill_l4_checksum(&mut p, at, true);
    }
    set_ip_checksum(&mut p);
    TestPacket {
        hook: prev.hook,
        in_if,
        bytes: p,
    }
}
