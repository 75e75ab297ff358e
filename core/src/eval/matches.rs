//! The supported match extensions, each a transcription of the kernel's `match` function
//! (`net/netfilter/xt_*.c`, Linux 6.x), reading the payload as the kernel's struct
//! (x86_64 layout, host = little-endian).
//!
//! A recurring C detail: many matches return `cond ^ info->invert` where `invert` is a whole
//! byte or `int`, converted to `bool` on return. An `invert` of 2 therefore makes the match true
//! whatever `cond` is; [`xor_invert`] keeps that.

use super::packet::{be16_at, header_pointer, IpHeader};
use super::{Ct, EvalError, Skb};
use crate::ir::Match;
use alloc::vec::Vec;

/// `(cond ^ invert)` converted to `bool`, for an `invert` field wider than a bit.
fn xor_invert(cond: bool, invert: u32) -> bool {
    (u32::from(cond) ^ invert) != 0
}

/// Little-endian field reads from a payload; bytes past the end read as 0 (a payload shorter
/// than its struct cannot come out of validation, this only keeps hand-built tables safe).
#[derive(Clone, Copy)]
struct Rd<'a>(&'a [u8]);

impl Rd<'_> {
    fn u8(self, off: usize) -> u8 {
        self.0.get(off).copied().unwrap_or(0)
    }
    fn arr<const N: usize>(self, off: usize) -> [u8; N] {
        let mut a = [0u8; N];
        for (i, d) in a.iter_mut().enumerate() {
            *d = self.u8(off.saturating_add(i));
        }
        a
    }
    fn u16(self, off: usize) -> u16 {
        u16::from_le_bytes(self.arr(off))
    }
    fn u32(self, off: usize) -> u32 {
        u32::from_le_bytes(self.arr(off))
    }
    fn i32(self, off: usize) -> i32 {
        i32::from_le_bytes(self.arr(off))
    }
    /// A network-order IPv4 address stored in a `union nf_inet_addr`, as a host-order value.
    fn ip(self, off: usize) -> u32 {
        u32::from_be_bytes(self.arr(off))
    }
}

/// A match decoded once, when the evaluator is built.
#[derive(Clone, Debug)]
pub(super) enum Prepared {
    /// `tcp` (struct xt_tcp).
    Tcp {
        spts: [u16; 2],
        dpts: [u16; 2],
        option: u8,
        flg_mask: u8,
        flg_cmp: u8,
        invflags: u8,
    },
    /// `udp` and `udplite` (struct xt_udp; both use `udp_mt`).
    Udp {
        spts: [u16; 2],
        dpts: [u16; 2],
        invflags: u8,
    },
    /// `icmp` (struct ipt_icmp).
    Icmp {
        icmp_type: u8,
        code: [u8; 2],
        invflags: u8,
    },
    /// `multiport` revision 1: the raw payload, read as `ports_match_v1` reads it.
    Multiport(Vec<u8>),
    /// `iprange` revision 1 (IPv4 part).
    Iprange {
        src: [u32; 2],
        dst: [u32; 2],
        flags: u8,
    },
    /// `comment`: always true.
    Comment,
    /// `length`.
    Length { min: u16, max: u16, invert: u8 },
    /// `ttl`.
    Ttl { mode: u8, ttl: u8 },
    /// `mark` revision 1.
    Mark { mark: u32, mask: u32, invert: u8 },
    /// `pkttype`.
    Pkttype { pkttype: i32, invert: i32 },
    /// `mac`.
    Mac { srcaddr: [u8; 6], invert: i32 },
    /// `state`.
    State { statemask: u32 },
    /// `conntrack` revisions 1-3 (only the fields this evaluator can know; see [`conntrack`]).
    Conntrack {
        match_flags: u16,
        invert_flags: u16,
        state_mask: u16,
        status_mask: u16,
    },
    /// `limit`: the payload's `xt_rateinfo`; the bucket lives in [`super::EvalState`].
    Limit(super::limit::RateInfo),
    /// Anything else: evaluating it is an error naming the extension.
    Unsupported { name: &'static str, revision: u8 },
}

impl Prepared {
    /// Decode `m`. The payload is the one the kernel stores: the blob's bytes when the IR kept
    /// them ([`Match::raw`]), else the typed value's encoding.
    pub fn new(m: &Match) -> Prepared {
        let mut encoded = Vec::new();
        let payload: &[u8] = match &m.raw {
            Some(raw) => raw,
            None => {
                m.value.encode(m.desc, &mut encoded);
                &encoded
            }
        };
        let p = Rd(payload);
        match (m.desc.name, m.desc.revision) {
            ("tcp", 0) => Prepared::Tcp {
                spts: [p.u16(0), p.u16(2)],
                dpts: [p.u16(4), p.u16(6)],
                option: p.u8(8),
                flg_mask: p.u8(9),
                flg_cmp: p.u8(10),
                invflags: p.u8(11),
            },
            ("udp" | "udplite", 0) => Prepared::Udp {
                spts: [p.u16(0), p.u16(2)],
                dpts: [p.u16(4), p.u16(6)],
                invflags: p.u8(8),
            },
            ("icmp", 0) => Prepared::Icmp {
                icmp_type: p.u8(0),
                code: [p.u8(1), p.u8(2)],
                invflags: p.u8(3),
            },
            ("multiport", 1) => Prepared::Multiport(payload.to_vec()),
            ("iprange", 1) => Prepared::Iprange {
                src: [p.ip(0), p.ip(16)],
                dst: [p.ip(32), p.ip(48)],
                flags: p.u8(64),
            },
            ("comment", 0) => Prepared::Comment,
            ("length", 0) => Prepared::Length {
                min: p.u16(0),
                max: p.u16(2),
                invert: p.u8(4),
            },
            ("ttl", 0) => Prepared::Ttl {
                mode: p.u8(0),
                ttl: p.u8(1),
            },
            ("mark", 1) => Prepared::Mark {
                mark: p.u32(0),
                mask: p.u32(4),
                invert: p.u8(8),
            },
            ("pkttype", 0) => Prepared::Pkttype {
                pkttype: p.i32(0),
                invert: p.i32(4),
            },
            ("mac", 0) => Prepared::Mac {
                srcaddr: p.arr(0),
                invert: p.i32(8),
            },
            ("state", 0) => Prepared::State {
                statemask: p.u32(0),
            },
            // xt_conntrack_mtinfo1: state_mask and status_mask are u8 at 150/151; revisions 2
            // and 3 widen them to u16 at 150/152.
            ("conntrack", rev @ 1..=3) => Prepared::Conntrack {
                match_flags: p.u16(146),
                invert_flags: p.u16(148),
                state_mask: if rev == 1 {
                    u16::from(p.u8(150))
                } else {
                    p.u16(150)
                },
                status_mask: if rev == 1 {
                    u16::from(p.u8(151))
                } else {
                    p.u16(152)
                },
            },
            ("limit", 0) => Prepared::Limit(super::limit::RateInfo {
                avg: p.u32(0),
                burst: p.u32(4),
                credit_cap: p.u32(20),
                cost: p.u32(24),
            }),
            (name, revision) => Prepared::Unsupported { name, revision },
        }
    }
}

/// What a match needs besides its own payload.
pub(super) struct Ctx<'a> {
    /// The packet (`skb->data`, `skb->len` bytes).
    pub data: &'a [u8],
    /// Its IPv4 header.
    pub ip: IpHeader,
    /// The skb facts (`mark` as the walk has changed it so far).
    pub skb: &'a Skb,
    /// The entry being evaluated (for errors).
    pub entry: usize,
}

/// The result of one match: `hotdrop` is the kernel's `par->hotdrop`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct MatchResult {
    pub matched: bool,
    pub hotdrop: bool,
}

fn yes(matched: bool) -> MatchResult {
    MatchResult {
        matched,
        hotdrop: false,
    }
}

const HOTDROP: MatchResult = MatchResult {
    matched: false,
    hotdrop: true,
};

/// `port_match()` of xt_tcpudp.c.
fn port_match(range: [u16; 2], port: u16, invert: bool) -> bool {
    (port >= range[0] && port <= range[1]) ^ invert
}

/// `tcp_mt()`.
fn tcp(
    c: &Ctx<'_>,
    spts: [u16; 2],
    dpts: [u16; 2],
    option: u8,
    flg_mask: u8,
    flg_cmp: u8,
    invflags: u8,
) -> MatchResult {
    const INV_SRCPT: u8 = 0x01;
    const INV_DSTPT: u8 = 0x02;
    const INV_FLAGS: u8 = 0x04;
    const INV_OPTION: u8 = 0x08;
    const TCPHDR: usize = 20;
    if c.ip.fragoff != 0 {
        // "Don't allow a fragment of TCP 8 bytes in": offset 1 would let a fragment overwrite
        // the flags, so the kernel drops it outright.
        return if c.ip.fragoff == 1 {
            HOTDROP
        } else {
            yes(false)
        };
    }
    let Some(th) = header_pointer(c.data, c.ip.thoff, TCPHDR) else {
        return HOTDROP;
    };
    if !port_match(spts, be16_at(th, 0), invflags & INV_SRCPT != 0) {
        return yes(false);
    }
    if !port_match(dpts, be16_at(th, 2), invflags & INV_DSTPT != 0) {
        return yes(false);
    }
    let flags = th.get(13).copied().unwrap_or(0);
    if !(((flags & flg_mask) == flg_cmp) ^ (invflags & INV_FLAGS != 0)) {
        return yes(false);
    }
    if option != 0 {
        let doff = usize::from(th.get(12).copied().unwrap_or(0) >> 4).saturating_mul(4);
        let Some(optlen) = doff.checked_sub(TCPHDR) else {
            return HOTDROP;
        };
        let invert = invflags & INV_OPTION != 0;
        // tcp_find_option()
        if optlen == 0 {
            return yes(invert);
        }
        let Some(op) =
            c.ip.thoff
                .checked_add(TCPHDR)
                .and_then(|off| header_pointer(c.data, off, optlen))
        else {
            return HOTDROP;
        };
        let mut i = 0usize;
        // Each step advances by at least 1, so this ends within optlen (<= 40) rounds.
        while let Some(&kind) = op.get(i) {
            if kind == option {
                return yes(!invert);
            }
            let step = if kind < 2 {
                1
            } else {
                // `op[i+1] ?: 1`. At i = optlen-1 the kernel reads one byte past the options;
                // whatever it is, i then reaches optlen and the loop ends, so 1 is as good.
                usize::from(op.get(i.saturating_add(1)).copied().unwrap_or(1).max(1))
            };
            i = i.saturating_add(step);
        }
        return yes(invert);
    }
    yes(true)
}

/// `udp_mt()`.
fn udp(c: &Ctx<'_>, spts: [u16; 2], dpts: [u16; 2], invflags: u8) -> MatchResult {
    if c.ip.fragoff != 0 {
        return yes(false);
    }
    let Some(uh) = header_pointer(c.data, c.ip.thoff, 8) else {
        return HOTDROP;
    };
    yes(port_match(spts, be16_at(uh, 0), invflags & 0x01 != 0)
        && port_match(dpts, be16_at(uh, 2), invflags & 0x02 != 0))
}

/// `icmp_match()`: needs the whole 8-byte `struct icmphdr`; type 0xFF matches any type.
fn icmp(c: &Ctx<'_>, icmp_type: u8, code: [u8; 2], invflags: u8) -> MatchResult {
    if c.ip.fragoff != 0 {
        return yes(false);
    }
    let Some(ic) = header_pointer(c.data, c.ip.thoff, 8) else {
        return HOTDROP;
    };
    let (t, cd) = (
        ic.first().copied().unwrap_or(0),
        ic.get(1).copied().unwrap_or(0),
    );
    let in_range = t == icmp_type && cd >= code[0] && cd <= code[1];
    yes((icmp_type == 0xFF || in_range) ^ (invflags & 0x01 != 0))
}

/// `multiport_mt()` + `ports_match_v1()`, over the raw payload so that the kernel's
/// `ports[++i]` reads exactly what it reads.
fn multiport(c: &Ctx<'_>, p: &[u8]) -> MatchResult {
    const SOURCE: u8 = 0;
    const DESTINATION: u8 = 1;
    const EITHER: u8 = 2;
    if c.ip.fragoff != 0 {
        return yes(false);
    }
    let Some(pp) = header_pointer(c.data, c.ip.thoff, 4) else {
        return HOTDROP;
    };
    let (src, dst) = (be16_at(pp, 0), be16_at(pp, 2));
    let p = Rd(p);
    let (flags, count, invert) = (p.u8(0), usize::from(p.u8(1)), u32::from(p.u8(47)));
    let port = |i: usize| p.u16(i.saturating_mul(2).saturating_add(2));
    let mut i = 0usize;
    while i < count {
        let s = port(i);
        let hit = if p.u8(32usize.saturating_add(i)) != 0 {
            i = i.saturating_add(1);
            let e = port(i);
            let inr = |x: u16| x >= s && x <= e;
            match flags {
                SOURCE => inr(src),
                DESTINATION => inr(dst),
                EITHER => inr(dst) || inr(src),
                _ => false,
            }
        } else {
            match flags {
                SOURCE => src == s,
                DESTINATION => dst == s,
                EITHER => src == s || dst == s,
                _ => false,
            }
        };
        if hit {
            return yes(xor_invert(true, invert));
        }
        i = i.saturating_add(1);
    }
    yes(invert != 0)
}

/// `iprange_mt4()`.
fn iprange(c: &Ctx<'_>, src: [u32; 2], dst: [u32; 2], flags: u8) -> bool {
    const SRC: u8 = 0x01;
    const DST: u8 = 0x02;
    const SRC_INV: u8 = 0x10;
    const DST_INV: u8 = 0x20;
    let outside = |a: u32, r: [u32; 2]| a < r[0] || a > r[1];
    if flags & SRC != 0 && outside(c.ip.saddr, src) ^ (flags & SRC_INV != 0) {
        return false;
    }
    if flags & DST != 0 && outside(c.ip.daddr, dst) ^ (flags & DST_INV != 0) {
        return false;
    }
    true
}

/// `ttl_mt()`: modes EQ, NE, LT, GT; anything else is false.
fn ttl(c: &Ctx<'_>, mode: u8, value: u8) -> bool {
    match mode {
        0 => c.ip.ttl == value,
        1 => c.ip.ttl != value,
        2 => c.ip.ttl < value,
        3 => c.ip.ttl > value,
        _ => false,
    }
}

/// `pkttype_mt()`: `PACKET_LOOPBACK` (5) is reported as multicast or broadcast by the
/// destination address.
fn pkttype(c: &Ctx<'_>, want: i32, invert: i32) -> bool {
    const PACKET_BROADCAST: u8 = 1;
    const PACKET_MULTICAST: u8 = 2;
    const PACKET_LOOPBACK: u8 = 5;
    let t = if c.skb.pkt_type != PACKET_LOOPBACK {
        c.skb.pkt_type
    } else if c.ip.daddr >> 28 == 0xE {
        PACKET_MULTICAST
    } else {
        PACKET_BROADCAST
    };
    (i32::from(i32::from(t) == want) ^ invert) != 0
}

/// `XT_STATE_BIT` / `XT_CONNTRACK_STATE_BIT`: `1 << (ctinfo % IP_CT_IS_REPLY + 1)`; `None` when
/// the packet has no conntrack entry.
fn ct_state_bit(ct: Ct) -> Option<u32> {
    match ct {
        Ct::Invalid | Ct::Untracked => None,
        Ct::Established { .. } => Some(1 << 1),
        Ct::Related { .. } => Some(1 << 2),
        Ct::New => Some(1 << 3),
    }
}

/// `state_mt()`: INVALID is bit 0, UNTRACKED bit 6 (`1 << (IP_CT_NUMBER + 1)`).
fn state(c: &Ctx<'_>, statemask: u32) -> bool {
    let bit = match c.skb.ct {
        Ct::Invalid => 1,
        Ct::Untracked => 1 << 6,
        ct => ct_state_bit(ct).unwrap_or(1),
    };
    statemask & bit != 0
}

/// `conntrack_mt()` for everything that does not need the connection's tuples: `--ctstate`,
/// `--ctstatus`, `--ctdir`. The other options are an error when the kernel would reach them.
fn conntrack(
    c: &Ctx<'_>,
    match_flags: u16,
    invert_flags: u16,
    state_mask: u16,
    status_mask: u16,
) -> Result<bool, EvalError> {
    const STATE: u16 = 1 << 0;
    // Checked after the direction and before the status, in this order, by the kernel:
    // ORIGSRC .. REPLDST, then PROTO and the four ports.
    const TUPLE_FLAGS: u16 = (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) // addresses
        | (1 << 1) // PROTO
        | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11); // ports
    const STATUS: u16 = 1 << 6;
    const EXPIRES: u16 = 1 << 7;
    const DIRECTION: u16 = 1 << 12;
    // XT_CONNTRACK_STATE_SNAT/DNAT/UNTRACKED: 1 << (IP_CT_NUMBER + 1/2/3).
    const SNAT: u32 = 1 << 6;
    const DNAT: u32 = 1 << 7;
    const UNTRACKED: u32 = 1 << 8;
    // IPS_SRC_NAT_BIT = 4, IPS_DST_NAT_BIT = 5.
    const IPS_SRC_NAT: u32 = 1 << 4;
    const IPS_DST_NAT: u32 = 1 << 5;
    let inv = |f: u16| invert_flags & f != 0;
    let tracked = ct_state_bit(c.skb.ct);
    let mut statebit = match (c.skb.ct, tracked) {
        (_, Some(b)) => b,
        (Ct::Untracked, None) => UNTRACKED,
        _ => 1,
    };
    if match_flags & STATE != 0 {
        if tracked.is_some() {
            if c.skb.ct_status & IPS_SRC_NAT != 0 {
                statebit |= SNAT;
            }
            if c.skb.ct_status & IPS_DST_NAT != 0 {
                statebit |= DNAT;
            }
        }
        if (u32::from(state_mask) & statebit != 0) ^ !inv(STATE) {
            return Ok(false);
        }
    }
    if tracked.is_none() {
        return Ok(match_flags & STATE != 0);
    }
    if match_flags & DIRECTION != 0 {
        let original = !matches!(
            c.skb.ct,
            Ct::Established { reply: true } | Ct::Related { reply: true }
        );
        if original ^ !inv(DIRECTION) {
            return Ok(false);
        }
    }
    if match_flags & TUPLE_FLAGS != 0 {
        return Err(EvalError::UnsupportedOption {
            entry: c.entry,
            ext: "conntrack",
            what: "address, protocol or port options (they need the connection's tuples)",
        });
    }
    if match_flags & STATUS != 0 && (u32::from(status_mask) & c.skb.ct_status != 0) ^ !inv(STATUS) {
        return Ok(false);
    }
    if match_flags & EXPIRES != 0 {
        return Err(EvalError::UnsupportedOption {
            entry: c.entry,
            ext: "conntrack",
            what: "--ctexpire (it needs the connection's timeout)",
        });
    }
    Ok(true)
}

/// Run one prepared match. `limit` is the bucket of this (entry, match) when it is a limit
/// match; `now` the caller's jiffies.
pub(super) fn run(
    m: &Prepared,
    c: &Ctx<'_>,
    limit: Option<&mut super::limit::Bucket>,
    now: u64,
) -> Result<MatchResult, EvalError> {
    Ok(match *m {
        Prepared::Tcp {
            spts,
            dpts,
            option,
            flg_mask,
            flg_cmp,
            invflags,
        } => tcp(c, spts, dpts, option, flg_mask, flg_cmp, invflags),
        Prepared::Udp {
            spts,
            dpts,
            invflags,
        } => udp(c, spts, dpts, invflags),
        Prepared::Icmp {
            icmp_type,
            code,
            invflags,
        } => icmp(c, icmp_type, code, invflags),
        Prepared::Multiport(ref p) => multiport(c, p),
        Prepared::Iprange { src, dst, flags } => yes(iprange(c, src, dst, flags)),
        Prepared::Comment => yes(true),
        Prepared::Length { min, max, invert } => {
            // length_mt(): skb_ip_totlen(), the header's tot_len (not skb->len).
            let l = c.ip.tot_len;
            yes(xor_invert(l >= min && l <= max, u32::from(invert)))
        }
        Prepared::Ttl { mode, ttl: v } => yes(ttl(c, mode, v)),
        Prepared::Mark { mark, mask, invert } => {
            yes(xor_invert((c.skb.mark & mask) == mark, u32::from(invert)))
        }
        Prepared::Pkttype { pkttype: t, invert } => yes(pkttype(c, t, invert)),
        Prepared::Mac { srcaddr, invert } => yes(match c.skb.src_mac {
            // No Ethernet device or no MAC header in front of the packet: false, whatever
            // the inversion.
            None => false,
            Some(mac) => (i32::from(mac == srcaddr) ^ invert) != 0,
        }),
        Prepared::State { statemask } => yes(state(c, statemask)),
        Prepared::Conntrack {
            match_flags,
            invert_flags,
            state_mask,
            status_mask,
        } => yes(conntrack(
            c,
            match_flags,
            invert_flags,
            state_mask,
            status_mask,
        )?),
        Prepared::Limit(_) => match limit {
            Some(b) => yes(b.take(now)),
            None => return Err(EvalError::StateMismatch { entry: c.entry }),
        },
        Prepared::Unsupported { name, revision } => {
            return Err(EvalError::UnsupportedMatch {
                entry: c.entry,
                name,
                revision,
            })
        }
    })
}
