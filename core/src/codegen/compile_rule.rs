//! What one entry means to the code generator: its conditions as a list of [`Step`]s over the
//! per-packet fields the prologue parses ([`Field`]), and what its target does ([`Tgt`]).
//!
//! Every condition is reduced to a *mismatch term*: a value that is zero when the condition
//! holds and non-zero when it does not. The emitter ORs the terms of a rule into one register
//! and branches once (see `compile_emit`). The semantics follow the kernel functions named at
//! each case: `ip_packet_match` for the `ipt_ip` part and each extension's `match` function.
//!
//! Three kinds of step need more than a term:
//!
//! * [`Term::Status`] marks a point where the kernel's match may *hotdrop* (a TCP match on a
//!   packet too short for the TCP header, a TCP fragment at offset 1): the per-packet status
//!   field is 0 (the header is there), 1 (no match: a non-first fragment) or 2 (hotdrop). It
//!   acts as a term (non-zero = mismatch), and the emitter also computes whether everything
//!   before it held while the status is 2: then the kernel drops the packet.
//! * [`Step::Limit`] has a side effect (it takes a token), so everything before it must have
//!   matched before it runs: it splits a rule into segments.
//! * Interface names compare 16 bytes ([`Term::Iface`]).

use super::compile::CompileError;
use crate::ext::matches::MatchValue;
use crate::ext::matches::{Conntrack, Icmp, Iprange, Multiport, Tcp, Udp};
use crate::ir::{Iface, IpMatch, Match, Rule, Target};
use crate::uapi::IFNAMSIZ;
use alloc::vec::Vec;

/// A per-packet value the prologue stores in the fields area (see `compile_emit`'s layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Field {
    /// `iph->saddr` as loaded (network byte order in memory).
    Saddr,
    /// `iph->daddr` as loaded.
    Daddr,
    /// `ntohl(iph->saddr)` (iprange compares host-order values).
    SaddrH,
    /// `ntohl(iph->daddr)`.
    DaddrH,
    /// `iph->protocol`.
    Proto,
    /// `ntohs(iph->frag_off) & IP_OFFSET`: the kernel's `par->fragoff`.
    Frag,
    /// `ntohs(iph->tot_len)` (xt_length).
    TotLen,
    /// `iph->ttl`.
    Ttl,
    /// `skb->len`, what `ADD_COUNTER` adds to the byte counter.
    SkbLen,
    /// `skb->mark`.
    Mark,
    /// xt_pkttype's packet type (PACKET_LOOPBACK already resolved).
    PktType,
    /// xt_state's state bit for the packet's conntrack info.
    StateBit,
    /// xt_conntrack's state bit (UNTRACKED is bit 8 there).
    CtBit,
    /// 1 when the skb has no conntrack entry (`nf_ct_get` returns NULL).
    CtNull,
    /// 1 when there is an entry and the packet is in the reply direction.
    CtReply,
    /// 1 when there is an entry and the packet is in the original direction.
    CtOrig,
    /// Status of the 20-byte TCP header (0 ok, 1 no match, 2 hotdrop).
    TcpSt,
    /// Status of an 8-byte UDP or ICMP header.
    L8St,
    /// Status of the 4 port bytes multiport reads.
    PortsSt,
    /// Status of the TCP options (0 ok, 2 hotdrop); valid when `TcpSt` is 0.
    OptSt,
    /// `ntohs(th->source)` / `ntohs(uh->source)`.
    Sport,
    /// `ntohs(th->dest)` / `ntohs(uh->dest)`.
    Dport,
    /// Byte 13 of the TCP header (the flags).
    TcpFlags,
    /// ICMP type.
    IcmpType,
    /// ICMP code.
    IcmpCode,
    /// Current jump-stack depth, kept only when the table can overflow the kernel's stack.
    Depth,
}

impl Field {
    /// Every field, in layout order.
    pub(crate) const ALL: [Field; 26] = [
        Field::Saddr,
        Field::Daddr,
        Field::SaddrH,
        Field::DaddrH,
        Field::Proto,
        Field::Frag,
        Field::TotLen,
        Field::Ttl,
        Field::SkbLen,
        Field::Mark,
        Field::PktType,
        Field::StateBit,
        Field::CtBit,
        Field::CtNull,
        Field::CtReply,
        Field::CtOrig,
        Field::TcpSt,
        Field::L8St,
        Field::PortsSt,
        Field::OptSt,
        Field::Sport,
        Field::Dport,
        Field::TcpFlags,
        Field::IcmpType,
        Field::IcmpCode,
        Field::Depth,
    ];

    /// Position in [`Field::ALL`].
    pub(crate) fn index(self) -> usize {
        Field::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }

    /// The bit of this field in a [`Needs`] mask.
    pub(crate) fn bit(self) -> u32 {
        1u32.checked_shl(u32::try_from(self.index()).unwrap_or(0))
            .unwrap_or(0)
    }
}

/// A mismatch term: zero when the condition holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Term {
    /// The condition never holds.
    Never,
    /// `((f & mask) ^ value) != 0` is a mismatch; with `inv`, `== 0` is.
    Masked {
        /// The field.
        f: Field,
        /// Mask applied first.
        mask: u32,
        /// Value compared with.
        value: u32,
        /// Inverted.
        inv: bool,
    },
    /// `f` outside `lo..=hi` is a mismatch; with `inv`, inside is. Always `lo < hi` and not
    /// the field's whole range (the constructors fold the other cases).
    Range {
        /// The field.
        f: Field,
        /// Lowest value in range.
        lo: u32,
        /// Highest value in range.
        hi: u32,
        /// Largest value the field can hold (bounds checks against it are left out).
        fmax: u32,
        /// Inverted.
        inv: bool,
    },
    /// `ifname_compare_aligned(dev, name, mask) != 0` is a mismatch (inverted: `== 0`).
    Iface {
        /// `true` for the output device.
        out: bool,
        /// The rule's name bytes.
        name: [u8; IFNAMSIZ],
        /// The rule's mask bytes (not all zero).
        mask: [u8; IFNAMSIZ],
        /// Inverted.
        inv: bool,
    },
    /// xt icmp: type equal and code in range (inverted: the opposite) is a match.
    Icmp {
        /// ICMP type (not 0xFF).
        ty: u8,
        /// Lowest code.
        lo: u8,
        /// Highest code.
        hi: u8,
        /// Inverted.
        inv: bool,
    },
    /// xt_multiport revision 1: `hit` is whether a port item matches.
    Multiport {
        /// Compare the source port.
        src: bool,
        /// Compare the destination port.
        dst: bool,
        /// `(lo, hi)` per item (`lo == hi` for a single port).
        items: Vec<(u16, u16)>,
        /// `true`: a hit is a mismatch (`--invert` 1); `false`: a miss is.
        mismatch_on_hit: bool,
    },
    /// TCP option `bit` of the option bitmap: absent is a mismatch (inverted: present).
    OptBit {
        /// Bit in the bitmap (the option's index in [`Needs::options`]).
        bit: u8,
        /// Inverted.
        inv: bool,
    },
    /// A hotdrop point: the status field (non-zero is a mismatch, 2 is a hotdrop).
    Status(Field),
}

/// The kernel's `struct xt_limit_priv` parameters, as `limit_mt_check` computes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LimitSpec {
    /// Index of this match's state in the limits map.
    pub(crate) slot: u32,
    /// `r->cost`: credits one packet takes.
    pub(crate) cost: u32,
    /// `r->credit_cap`: the bucket size.
    pub(crate) cap: u32,
    /// The initial credit (`user2credits(avg * burst)`).
    pub(crate) initial: u32,
}

/// One step of a rule's conditions, in the kernel's evaluation order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A pure condition.
    Term(Term),
    /// xt_limit's token bucket: a condition with a side effect.
    Limit(LimitSpec),
}

/// What an entry's target does, as far as control flow goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tgt {
    /// Final verdict (`NF_DROP` 0 or `NF_ACCEPT` 1).
    Verdict(i32),
    /// `XT_RETURN`.
    Return,
    /// Jump with a return address (`t` is not the next entry).
    Jump(usize),
    /// Jump without one (IPT_F_GOTO; `t` is not the next entry).
    Goto(usize),
    /// Go on with the next entry: a jump or goto to it, or a target that returns
    /// `XT_CONTINUE` and needs no code.
    Next,
    /// `LOG`: emit a log event, then go on with the next entry.
    Log,
    /// An ERROR entry reached at run time: `ipt_error` returns `NF_DROP`.
    Error,
}

impl Tgt {
    /// Whether execution can go on with the next entry after the target ran.
    pub(crate) fn continues(self) -> bool {
        matches!(self, Tgt::Jump(_) | Tgt::Next | Tgt::Log)
    }
}

/// One analysed entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RuleInfo {
    /// Conditions in order. Empty: the entry always matches.
    pub(crate) steps: Vec<Step>,
    /// The target.
    pub(crate) target: Tgt,
}

impl RuleInfo {
    /// Whether the entry never matches and nothing before its first certain mismatch can
    /// hotdrop or take a token: it then needs no code at all.
    pub(crate) fn is_dead(&self) -> bool {
        for s in &self.steps {
            match s {
                Step::Term(Term::Never) => return true,
                Step::Term(Term::Status(_)) | Step::Limit(_) => return false,
                Step::Term(_) => {}
            }
        }
        false
    }

    /// Whether code for the next entry can run after this one (a mismatch, or a target that
    /// goes on).
    pub(crate) fn falls_through(&self) -> bool {
        !self.steps.is_empty() || self.target.continues()
    }
}

/// What the prologue must compute for a program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Bits of [`Field::bit`].
    pub(crate) fields: u32,
    /// The input device name is compared.
    pub(crate) indev: bool,
    /// The output device name is compared.
    pub(crate) outdev: bool,
    /// TCP option kinds some rule looks for (bit `i` of the bitmap is `options[i]`).
    pub(crate) options: Vec<u8>,
    /// Some rule has a LOG target.
    pub(crate) log: bool,
    /// The first LOG rule with `--log-uid`: the LOG subprogram reads the socket's owner.
    pub(crate) log_uid: Option<usize>,
    /// Some rule has a limit match.
    pub(crate) limit: bool,
}

impl Needs {
    /// Whether field `f` is read.
    pub(crate) fn has(&self, f: Field) -> bool {
        self.fields & f.bit() != 0
    }

    /// Mark field `f` as read.
    pub(crate) fn add(&mut self, f: Field) {
        self.fields |= f.bit();
    }

    /// The option's bit, adding it if new; `None` past 64 distinct kinds.
    fn option_bit(&mut self, kind: u8) -> Option<u8> {
        if let Some(i) = self.options.iter().position(|k| *k == kind) {
            return u8::try_from(i).ok();
        }
        if self.options.len() >= 64 {
            return None;
        }
        self.options.push(kind);
        u8::try_from(self.options.len().checked_sub(1)?).ok()
    }

    /// Record what a step reads.
    pub(crate) fn note(&mut self, s: &Step) {
        match s {
            Step::Limit(_) => self.limit = true,
            Step::Term(t) => match t {
                Term::Never | Term::OptBit { .. } => {}
                Term::Masked { f, .. } | Term::Range { f, .. } | Term::Status(f) => self.add(*f),
                Term::Iface { out, .. } => {
                    if *out {
                        self.outdev = true;
                    } else {
                        self.indev = true;
                    }
                }
                Term::Icmp { .. } => {
                    self.add(Field::IcmpType);
                    self.add(Field::IcmpCode);
                }
                Term::Multiport { src, dst, .. } => {
                    if *src {
                        self.add(Field::Sport);
                    }
                    if *dst {
                        self.add(Field::Dport);
                    }
                }
            },
        }
    }

    /// Whether any L4 header field or status is read.
    pub(crate) fn l4(&self) -> bool {
        [
            Field::TcpSt,
            Field::L8St,
            Field::PortsSt,
            Field::OptSt,
            Field::Sport,
            Field::Dport,
            Field::TcpFlags,
            Field::IcmpType,
            Field::IcmpCode,
        ]
        .iter()
        .any(|f| self.has(*f))
    }

    /// Whether any conntrack-derived field is read.
    pub(crate) fn ct(&self) -> bool {
        [
            Field::StateBit,
            Field::CtBit,
            Field::CtNull,
            Field::CtReply,
            Field::CtOrig,
        ]
        .iter()
        .any(|f| self.has(*f))
    }
}

/// Parameters of the analysis that come from the running kernel.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Env {
    /// `CONFIG_HZ`.
    pub(crate) hz: u32,
    /// Whether `skb->_nfct` can be read (conntrack matches need it).
    pub(crate) has_nfct: bool,
    /// Whether `skb->pkt_type` can be read.
    pub(crate) has_pkt_type: bool,
}

// ---- term constructors (they fold what is decided without a packet) ----

/// `Some(Never)` if `never`, else `None`: the statically decided cases.
fn fixed(never: bool) -> Option<Term> {
    never.then_some(Term::Never)
}

/// `((f & mask) ^ value) != 0` is a mismatch (inverted: `== 0`).
fn masked(f: Field, mask: u32, value: u32, inv: bool) -> Option<Term> {
    if mask == 0 {
        // (f & 0) ^ value == value: decided by the constant alone.
        return fixed((value != 0) != inv);
    }
    Some(Term::Masked {
        f,
        mask,
        value,
        inv,
    })
}

/// `f` outside `lo..=hi` is a mismatch (inverted: inside); `fmax` is the field's largest
/// value.
fn range(f: Field, lo: u32, hi: u32, fmax: u32, inv: bool) -> Option<Term> {
    if lo > hi {
        // An empty range never holds.
        return fixed(!inv);
    }
    if lo == 0 && hi >= fmax {
        // Every value is inside.
        return fixed(inv);
    }
    if lo == hi {
        return masked(f, u32::MAX, lo, inv);
    }
    Some(Term::Range {
        f,
        lo,
        hi,
        fmax,
        inv,
    })
}

/// Kernel's `port_match(min, max, port, invert)` as a mismatch term.
fn ports(f: Field, pts: [u16; 2], inv: bool) -> Option<Term> {
    let [lo, hi] = pts;
    range(f, u32::from(lo), u32::from(hi), 0xFFFF, inv)
}

/// Interface comparison: the kernel's `ifname_compare_aligned` against the device name.
fn iface(out: bool, i: &Iface, inv: bool) -> Option<Term> {
    if i.mask.iter().all(|b| *b == 0) {
        // The masked difference is 0: it "matches" unless inverted.
        return fixed(inv);
    }
    Some(Term::Iface {
        out,
        name: i.name,
        mask: i.mask,
        inv,
    })
}

/// `ip_packet_match` as terms, in the kernel's order (addresses, interfaces, protocol,
/// fragment flag).
fn ip_terms(ip: &IpMatch, out: &mut Vec<Step>) {
    let raw = |a: core::net::Ipv4Addr| u32::from_ne_bytes(a.octets());
    // (saddr & smsk) != src, inverted by IPT_INV_SRCIP. The packet's bytes are loaded as they
    // sit in memory, so the constants are the same bytes read in the machine's order.
    let terms = [
        masked(Field::Saddr, raw(ip.smsk), raw(ip.src), ip.inv.src),
        masked(Field::Daddr, raw(ip.dmsk), raw(ip.dst), ip.inv.dst),
        iface(false, &ip.iniface, ip.inv.iniface),
        iface(true, &ip.outiface, ip.inv.outiface),
        // `ipinfo->proto && NF_INVF(IPT_INV_PROTO, ip->protocol != ipinfo->proto)`: proto 0
        // means any protocol, inverted or not.
        if ip.proto == 0 {
            None
        } else {
            masked(Field::Proto, u32::MAX, u32::from(ip.proto), ip.inv.proto)
        },
        // NF_INVF(IPT_INV_FRAG, (flags & IPT_F_FRAG) && !isfrag): without IPT_F_FRAG the
        // inner condition is false, so an inverted one never matches.
        match (ip.frag, ip.inv.frag) {
            (false, false) => None,
            (false, true) => Some(Term::Never),
            // -f: a non-fragment (fragoff 0) is a mismatch.
            (true, false) => masked(Field::Frag, u32::MAX, 0, true),
            // ! -f: a fragment is a mismatch.
            (true, true) => masked(Field::Frag, u32::MAX, 0, false),
        },
    ];
    // IPT_INV_TOS has no effect for IPv4: ipt_ip has no TOS field.
    out.extend(terms.into_iter().flatten().map(Step::Term));
}

fn push(out: &mut Vec<Step>, t: Option<Term>) {
    if let Some(t) = t {
        out.push(Step::Term(t));
    }
}

/// `tcp_mt`: fragment and header checks (hotdrop point), ports, flags, then the option with
/// its own hotdrop point.
fn tcp(v: &Tcp, needs: &mut Needs, out: &mut Vec<Step>) -> Result<(), &'static str> {
    const INV_SRCPT: u8 = 0x01;
    const INV_DSTPT: u8 = 0x02;
    const INV_FLAGS: u8 = 0x04;
    const INV_OPTION: u8 = 0x08;
    push(out, Some(Term::Status(Field::TcpSt)));
    push(
        out,
        ports(Field::Sport, v.spts, v.invflags & INV_SRCPT != 0),
    );
    push(
        out,
        ports(Field::Dport, v.dpts, v.invflags & INV_DSTPT != 0),
    );
    push(
        out,
        masked(
            Field::TcpFlags,
            u32::from(v.flg_mask),
            u32::from(v.flg_cmp),
            v.invflags & INV_FLAGS != 0,
        ),
    );
    if v.option != 0 {
        let bit = needs
            .option_bit(v.option)
            .ok_or("more than 64 distinct --tcp-option kinds")?;
        push(out, Some(Term::Status(Field::OptSt)));
        push(
            out,
            Some(Term::OptBit {
                bit,
                inv: v.invflags & INV_OPTION != 0,
            }),
        );
    }
    Ok(())
}

/// `udp_mt`.
fn udp(v: &Udp, out: &mut Vec<Step>) {
    push(out, Some(Term::Status(Field::L8St)));
    push(out, ports(Field::Sport, v.spts, v.invflags & 0x01 != 0));
    push(out, ports(Field::Dport, v.dpts, v.invflags & 0x02 != 0));
}

/// `icmp_match` / `icmp_type_code_match`: type 0xFF matches any type.
fn icmp(v: &Icmp, out: &mut Vec<Step>) {
    let inv = v.invflags & 0x01 != 0;
    push(out, Some(Term::Status(Field::L8St)));
    if v.icmp_type == 0xFF {
        push(out, fixed(inv));
        return;
    }
    let [lo, hi] = v.code;
    let t = if lo > hi {
        // The code range is empty: the inner condition never holds.
        fixed(!inv)
    } else {
        Some(Term::Icmp {
            ty: v.icmp_type,
            lo,
            hi,
            inv,
        })
    };
    push(out, t);
}

/// `multiport_mt` with `ports_match_v1`. `invert` is a u8 used in `true ^ invert` and
/// `return invert`: a hit matches unless it is 1, a miss matches unless it is 0.
fn multiport(v: &Multiport, out: &mut Vec<Step>) -> Result<(), &'static str> {
    push(out, Some(Term::Status(Field::PortsSt)));
    let (src, dst) = match v.flags {
        0 => (true, false),
        1 => (false, true),
        2 => (true, true),
        // checkentry refuses other flags.
        _ => return Err("multiport flags other than source/destination/either"),
    };
    let mut items = Vec::new();
    let count = usize::from(v.count).min(v.ports.len());
    let mut i = 0usize;
    while i < count {
        let s = v.ports.get(i).copied().unwrap_or(0);
        if v.pflags.get(i).copied().unwrap_or(0) != 0 {
            // `e = minfo->ports[++i]`.
            i = i.saturating_add(1);
            let e = v.ports.get(i).copied().unwrap_or(0);
            items.push((s, e));
        } else {
            items.push((s, s));
        }
        i = i.saturating_add(1);
    }
    // Ranges with s > e never hit; checkentry refuses them anyway.
    items.retain(|(s, e)| s <= e);
    match v.invert {
        // A miss is a mismatch; with no items, always.
        0 if items.is_empty() => push(out, Some(Term::Never)),
        0 => push(
            out,
            Some(Term::Multiport {
                src,
                dst,
                items,
                mismatch_on_hit: false,
            }),
        ),
        1 if items.is_empty() => {}
        1 => push(
            out,
            Some(Term::Multiport {
                src,
                dst,
                items,
                mismatch_on_hit: true,
            }),
        ),
        // Both `true ^ invert` and `invert` are non-zero.
        _ => {}
    }
    Ok(())
}

/// `iprange_mt4`: host-order comparisons, each direction inverted on its own.
fn iprange(v: &Iprange, out: &mut Vec<Step>) {
    const SRC: u8 = 0x01;
    const DST: u8 = 0x02;
    const SRC_INV: u8 = 0x10;
    const DST_INV: u8 = 0x20;
    let host = |a: &[u8; 16]| u32::from_be_bytes([a[0], a[1], a[2], a[3]]);
    if v.flags & SRC != 0 {
        push(
            out,
            range(
                Field::SaddrH,
                host(&v.src_min),
                host(&v.src_max),
                u32::MAX,
                v.flags & SRC_INV != 0,
            ),
        );
    }
    if v.flags & DST != 0 {
        push(
            out,
            range(
                Field::DaddrH,
                host(&v.dst_min),
                host(&v.dst_max),
                u32::MAX,
                v.flags & DST_INV != 0,
            ),
        );
    }
}

/// `conntrack_mt` for the flags that need only the skb's ctinfo: STATE (without the SNAT and
/// DNAT bits, which need `ct->status`) and DIRECTION.
fn conntrack(v: &Conntrack, out: &mut Vec<Step>) -> Result<(), &'static str> {
    const F_STATE: u16 = 1 << 0;
    const F_DIRECTION: u16 = 1 << 12;
    const F_STATE_ALIAS: u16 = 1 << 13;
    const SNAT_DNAT: u16 = (1 << 6) | (1 << 7);
    let other = v.match_flags & !(F_STATE | F_DIRECTION | F_STATE_ALIAS);
    if other != 0 {
        return Err(
            "conntrack options other than --ctstate and --ctdir (they read the conntrack entry)",
        );
    }
    let state = v.match_flags & F_STATE != 0;
    if state {
        if v.state_mask & SNAT_DNAT != 0 {
            return Err("conntrack --ctstate SNAT/DNAT (needs ct->status)");
        }
        // `!!(state_mask & statebit) ^ !(invert_flags & STATE)` returns false.
        let inv = v.invert_flags & F_STATE != 0;
        push(out, masked(Field::CtBit, u32::from(v.state_mask), 0, !inv));
    } else {
        // `if (ct == NULL) return info->match_flags & XT_CONNTRACK_STATE;`: no entry, no match.
        push(out, masked(Field::CtNull, u32::MAX, 0, false));
    }
    if v.match_flags & F_DIRECTION != 0 {
        // Only reached with an entry: `(CTINFO2DIR(ctinfo) == IP_CT_DIR_ORIGINAL) ^
        // !(invert_flags & DIRECTION)` returns false. The two flags are 0 without an entry.
        let f = if v.invert_flags & F_DIRECTION != 0 {
            Field::CtOrig
        } else {
            Field::CtReply
        };
        push(out, masked(f, u32::MAX, 0, false));
    }
    Ok(())
}

/// `XT_LIMIT_SCALE`.
const XT_LIMIT_SCALE: u32 = 10_000;

/// xt_limit's `CREDITS_PER_JIFFY` for `hz`: the largest power of two not above
/// `0xFFFFFFFF / (HZ * 60 * 60 * 24)`, so a day of credits fits in 32 bits.
pub(crate) fn credits_per_jiffy(hz: u32) -> u32 {
    let max_cpj = hz
        .checked_mul(60 * 60 * 24)
        .and_then(|d| u32::MAX.checked_div(d))
        .unwrap_or(0);
    match max_cpj.checked_ilog2() {
        Some(l) => 1u32.checked_shl(l).unwrap_or(0),
        None => 0,
    }
}

/// xt_limit's `user2credits`, with the kernel's 32-bit wrapping arithmetic.
pub(crate) fn user2credits(user: u32, hz: u32) -> u32 {
    let k = hz.wrapping_mul(credits_per_jiffy(hz));
    let limit = u32::MAX.checked_div(k).unwrap_or(0);
    if user > limit {
        // "Divide first" to avoid the overflow.
        (user / XT_LIMIT_SCALE).wrapping_mul(k)
    } else {
        user.wrapping_mul(k) / XT_LIMIT_SCALE
    }
}

/// `limit_mt_check`: the bucket starts full; a zero `cost` in the payload (what iptables
/// sends) makes the kernel compute `credit_cap` and `cost`, a non-zero one is kept as given.
fn limit(m: &Match, avg: u32, burst: u32, slot: u32, hz: u32) -> LimitSpec {
    let word = |off: usize| {
        m.raw
            .as_deref()
            .and_then(|r| r.get(off..off.checked_add(4)?))
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, u32::from_ne_bytes)
    };
    let initial = user2credits(avg.wrapping_mul(burst), hz);
    let (cap, cost) = match word(24) {
        0 => (initial, user2credits(avg, hz)),
        cost => (word(20), cost),
    };
    LimitSpec {
        slot,
        cost,
        cap,
        initial,
    }
}

/// The steps of one match, or why it is not supported.
fn match_steps(
    m: &Match,
    env: &Env,
    needs: &mut Needs,
    limit_slot: &mut u32,
    out: &mut Vec<Step>,
) -> Result<(), &'static str> {
    match &m.value {
        MatchValue::Tcp(v) => tcp(v, needs, out)?,
        MatchValue::Udp(v) => udp(v, out),
        MatchValue::Icmp(v) => icmp(v, out),
        MatchValue::Multiport(v) => multiport(v, out)?,
        MatchValue::Iprange(v) => iprange(v, out),
        // xt_comment matches every packet.
        MatchValue::Comment(_) => {}
        // `(pktlen >= min && pktlen <= max) ^ invert` with the u8 invert: 0 and 1 invert
        // normally, anything else always matches.
        MatchValue::Length(v) => match v.invert {
            0 | 1 => push(
                out,
                range(
                    Field::TotLen,
                    u32::from(v.min),
                    u32::from(v.max),
                    0xFFFF,
                    v.invert == 1,
                ),
            ),
            _ => {}
        },
        MatchValue::Ttl(v) => {
            let t = u32::from(v.ttl);
            let term = match v.mode {
                0 => masked(Field::Ttl, u32::MAX, t, false),
                1 => masked(Field::Ttl, u32::MAX, t, true),
                // ttl < t
                2 => match t.checked_sub(1) {
                    Some(hi) => range(Field::Ttl, 0, hi, 0xFF, false),
                    None => Some(Term::Never),
                },
                // ttl > t
                3 => range(Field::Ttl, t.saturating_add(1), 0xFF, 0xFF, false),
                // ttl_mt returns false for an unknown mode.
                _ => Some(Term::Never),
            };
            push(out, term);
        }
        // `((skb->mark & mask) == mark) ^ invert`.
        MatchValue::Mark(v) => match v.invert {
            0 | 1 => push(out, masked(Field::Mark, v.mask, v.mark, v.invert == 1)),
            _ => {}
        },
        MatchValue::Pkttype(v) => {
            if !env.has_pkt_type {
                return Err("pkttype (this kernel's sk_buff has no pkt_type in BTF)");
            }
            let value = u32::from_ne_bytes(v.pkttype.to_ne_bytes());
            match v.invert {
                0 | 1 => push(out, masked(Field::PktType, u32::MAX, value, v.invert == 1)),
                _ => {}
            }
        }
        MatchValue::State(v) => {
            if !env.has_nfct {
                return Err("state (this kernel's sk_buff has no _nfct in BTF)");
            }
            // `return (sinfo->statemask & statebit);`
            push(out, masked(Field::StateBit, v.statemask, 0, true));
        }
        MatchValue::Conntrack(v) => {
            if !env.has_nfct {
                return Err("conntrack (this kernel's sk_buff has no _nfct in BTF)");
            }
            conntrack(v, out)?;
        }
        MatchValue::Limit(v) => {
            let slot = *limit_slot;
            *limit_slot = slot.checked_add(1).ok_or("too many limit matches")?;
            out.push(Step::Limit(limit(m, v.avg, v.burst, slot, env.hz)));
        }
        MatchValue::Other(_) => {
            return Err(
                if crate::ext::matches::REGISTRY
                    .iter()
                    .any(|d| d.name == m.name())
                {
                    "a payload the typed reader could not read back exactly"
                } else {
                    "extension not implemented in BPF"
                },
            )
        }
        _ => return Err("extension not implemented in BPF"),
    }
    Ok(())
}

/// Analyse entry `index` of the table (with `next` the index of the following entry).
/// `limit_slot` is the first limits-map slot of this entry's limit matches.
pub(crate) fn analyze(
    rule: &Rule,
    index: usize,
    env: &Env,
    needs: &mut Needs,
    mut limit_slot: u32,
) -> Result<RuleInfo, CompileError> {
    let mut steps = Vec::new();
    ip_terms(&rule.ip, &mut steps);
    for m in &rule.matches {
        match_steps(m, env, needs, &mut limit_slot, &mut steps).map_err(|why| {
            CompileError::UnsupportedMatch {
                entry: index,
                name: m.name(),
                revision: m.revision(),
                why,
            }
        })?;
    }
    let next = index.checked_add(1);
    let target = match &rule.target {
        Target::Accept => Tgt::Verdict(crate::uapi::NF_ACCEPT),
        Target::Drop => Tgt::Verdict(crate::uapi::NF_DROP),
        Target::Queue => {
            return Err(CompileError::UnsupportedTarget {
                entry: index,
                name: "QUEUE",
                why: "a BPF netfilter program can only return NF_ACCEPT or NF_DROP",
            })
        }
        Target::Return => Tgt::Return,
        // `table_base + v != ipt_next_entry(e)`: a jump to the next entry pushes nothing.
        Target::Jump(t) | Target::Goto(t) if Some(*t) == next => Tgt::Next,
        Target::Jump(t) => Tgt::Jump(*t),
        Target::Goto(t) => Tgt::Goto(*t),
        Target::DanglingJump { .. } => return Err(CompileError::DanglingJump { entry: index }),
        Target::Error(_) => Tgt::Error,
        Target::Ext(x) => match x.desc.name {
            "LOG" => Tgt::Log,
            "MARK" => {
                return Err(CompileError::UnsupportedTarget {
                    entry: index,
                    name: "MARK",
                    why: "netfilter BPF programs may only read skb->mark (the verifier \
                          refuses the write: \"only read is supported\")",
                })
            }
            name => {
                return Err(CompileError::UnsupportedTarget {
                    entry: index,
                    name,
                    why: "extension not implemented in BPF",
                })
            }
        },
    };
    if target == Tgt::Log {
        needs.log = true;
        if let Target::Ext(x) = &rule.target {
            if let crate::ext::targets::TargetValue::Log(l) = &x.value {
                if l.logflags & super::compile_log::LOG_UID != 0 && needs.log_uid.is_none() {
                    needs.log_uid = Some(index);
                }
            }
        }
    }
    let info = RuleInfo { steps, target };
    if !info.is_dead() {
        for s in &info.steps {
            needs.note(s);
        }
    }
    Ok(info)
}

/// Number of limit matches in `rule` (each gets a slot in the limits map).
pub(crate) fn limit_count(rule: &Rule) -> u32 {
    let n = rule
        .matches
        .iter()
        .filter(|m| matches!(m.value, MatchValue::Limit(_)))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Figures of xt_limit.c: CREDITS_PER_JIFFY is 128 at HZ=250 (HZ * CPJ = 32000), 32 at
    /// HZ=1000, 256 at HZ=100.
    #[test]
    fn limit_credits_as_the_kernel_computes_them() {
        assert_eq!(credits_per_jiffy(250), 128);
        assert_eq!(credits_per_jiffy(1000), 32);
        assert_eq!(credits_per_jiffy(100), 256);
        // 1/s: avg = XT_LIMIT_SCALE.
        assert_eq!(user2credits(10_000, 250), 32_000);
        // 3/min: avg = 200000 is past 0xFFFFFFFF / 32000, so the kernel divides first.
        assert_eq!(user2credits(200_000, 250), 640_000);
        assert_eq!(user2credits(1, 250), 3);
    }
}
