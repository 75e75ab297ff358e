//! The reference evaluator: what the kernel's `ipt_do_table` decides for one packet at one
//! hook, and which entries' counters it increments on the way.
//!
//! This is one corner of the verification triangle (DESIGN.md): the kernel's iptables is the
//! truth, the generated BPF is the product, and this module is a direct transcription of the
//! kernel's walk that both are compared against. It shares nothing with the code generator but
//! the IR, on purpose.
//!
//! ```text
//! e = hook_entry[hook]
//! loop {
//!     ip_packet_match(e)? and every match of e in order?   -- no: e = e + 1; continue
//!     counters[e] += (1, skb->len)                          -- before the target runs
//!     standard target:
//!         ACCEPT / DROP / QUEUE   -> verdict
//!         RETURN                  -> pop (empty stack: e = underflow[hook])
//!         jump t                  -> push e unless t == e + 1 or IPT_F_GOTO
//!                                    (push beyond stacksize: DROP, CVE-2018-1065)
//!     ERROR target                -> DROP (ipt_error)
//!     other target                -> XT_CONTINUE: e = e + 1, else its verdict
//! } while !hotdrop                                         -- hotdrop: DROP
//! ```
//!
//! `stacksize` is the number of ERROR entries in the table, as the kernel counts it in
//! `translate_table`. A match that cannot read the header it needs (a TCP match on a packet
//! too short for the TCP header) sets `hotdrop`; a non-first fragment (`fragoff != 0`) never
//! matches `tcp`, `udp`, `icmp` or `multiport`, and a TCP fragment at offset 1 is dropped.
//!
//! Matches and targets are decoded once, by [`Evaluator::new`], from the payload the kernel
//! stores (the blob's bytes when the IR kept them, else the typed value's encoding). An
//! extension without an implementation here is kept as such and reported by name when a packet
//! reaches it ([`EvalError::UnsupportedMatch`]); [`Evaluator::unsupported`] lists them up front.
//!
//! What the packet alone does not say comes from [`Skb`]: the mark, the conntrack state, the
//! link-layer packet type and source MAC address. `limit` keeps its token buckets in an
//! [`EvalState`] the caller owns, driven by the caller's clock in jiffies.
//!
//! No-panic contract: every function here accepts any [`Table`] (hand-built ones with
//! out-of-range indices included) and any packet bytes, and returns an error value instead of
//! panicking; every walk is bounded ([`MAX_STEPS`]).

mod limit;
mod matches;
mod packet;

pub use limit::Bucket;

use crate::ir::{Table, Target};
use crate::uapi::{IFNAMSIZ, NF_ACCEPT, NF_DROP, NF_INET_NUMHOOKS, NF_QUEUE};
use alloc::vec::Vec;
use core::fmt;
use matches::{Ctx, Prepared};
use packet::IpHeader;

/// The kernel's `HZ` on the machine this project targets (`CONFIG_HZ=250`); `limit` converts
/// rates into jiffy credits with it. [`EvalState::with_hz`] takes another.
pub const DEFAULT_HZ: u32 = 250;

/// Default bound on the entries one packet visits ([`Evaluator::with_max_steps`]). A
/// validated table cannot loop, but a chain called twice from each of `n` nested chains is
/// visited `2^n` times; a hand-built table can loop forever. Reaching the bound is
/// [`EvalError::StepLimit`].
pub const MAX_STEPS: usize = 1 << 22;

/// The conntrack information attached to the packet (`nf_ct_get(skb, &ctinfo)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ct {
    /// No conntrack entry (`ct == NULL`, not untracked): the INVALID state.
    Invalid,
    /// `IP_CT_UNTRACKED` (a `-j CT --notrack` / `NOTRACK` in the raw table).
    Untracked,
    /// `IP_CT_NEW`: the first packets of a connection, original direction.
    New,
    /// `IP_CT_ESTABLISHED` (`reply: false`) or `IP_CT_ESTABLISHED_REPLY`.
    Established {
        /// Reply direction.
        reply: bool,
    },
    /// `IP_CT_RELATED` or `IP_CT_RELATED_REPLY`.
    Related {
        /// Reply direction.
        reply: bool,
    },
}

/// The facts about the `sk_buff` a match may read besides the packet bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skb {
    /// `skb->mark` when the hook starts (`MARK` may change it during the walk).
    pub mark: u32,
    /// The conntrack state.
    pub ct: Ct,
    /// `ct->status` (`IPS_*` bits), read by `conntrack --ctstatus` and for the SNAT/DNAT
    /// states; ignored without a conntrack entry.
    pub ct_status: u32,
    /// `skb->pkt_type` (`PACKET_HOST` = 0, `PACKET_BROADCAST` = 1, `PACKET_MULTICAST` = 2,
    /// `PACKET_OTHERHOST` = 3, `PACKET_OUTGOING` = 4, `PACKET_LOOPBACK` = 5).
    pub pkt_type: u8,
    /// The Ethernet source address in front of the packet; `None` when the device is not
    /// Ethernet or there is no MAC header (locally generated packets), which `mac` never
    /// matches.
    pub src_mac: Option<[u8; 6]>,
}

impl Default for Skb {
    /// Mark 0, no conntrack entry (INVALID), `PACKET_HOST`, no MAC header.
    fn default() -> Self {
        Skb {
            mark: 0,
            ct: Ct::Invalid,
            ct_status: 0,
            pkt_type: 0,
            src_mac: None,
        }
    }
}

/// One packet at one hook.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// `NF_INET_*` hook number.
    pub hook: usize,
    /// The packet from its IPv4 header on: `skb->data`, and its length is `skb->len` (the
    /// byte counters add it). At the filter hooks the IP stack has already trimmed it to
    /// `tot_len`; for `FORWARD` the TTL is already decremented.
    pub data: &'a [u8],
    /// The input device name (no NUL; at most 15 bytes); empty when there is none, as for
    /// `OUTPUT` (the kernel compares against an all-zero name then).
    pub indev: &'a [u8],
    /// The output device name; empty when there is none, as for `INPUT`.
    pub outdev: &'a [u8],
    /// The skb facts.
    pub skb: Skb,
}

/// The netfilter verdict the table returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// `NF_ACCEPT`.
    Accept,
    /// `NF_DROP`.
    Drop,
    /// `NF_QUEUE` (queue 0): dropped when no queue handler is registered.
    Queue,
}

impl Verdict {
    /// The `NF_*` value (`(unsigned)(-v) - 1` of the standard verdict `v`).
    pub fn nf_code(self) -> i32 {
        match self {
            Verdict::Accept => NF_ACCEPT,
            Verdict::Drop => NF_DROP,
            Verdict::Queue => NF_QUEUE,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Accept => "ACCEPT",
            Verdict::Drop => "DROP",
            Verdict::Queue => "QUEUE",
        })
    }
}

/// Why the walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The target of the deciding entry returned the verdict (a standard verdict, ERROR,
    /// REJECT, ...).
    Target,
    /// A match of the deciding entry set `hotdrop` (its counter was not incremented).
    Hotdrop,
    /// The deciding entry's jump would have pushed beyond the jump stack (`stacksize`).
    JumpStackFull,
}

/// A `LOG` target the packet went through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEvent {
    /// The entry.
    pub entry: usize,
    /// Syslog level.
    pub level: u8,
    /// `XT_LOG_*` flags.
    pub logflags: u8,
    /// The prefix field (a C string).
    pub prefix: [u8; 30],
}

/// What the table did with the packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// Index of the entry that decided it.
    pub decided_by: usize,
    /// How it was decided.
    pub cause: Cause,
    /// Entries whose counters were incremented, in order (an entry reached twice appears
    /// twice). Each adds one packet and `skb->len` bytes.
    pub counted: Vec<usize>,
    /// `skb->mark` after the walk.
    pub mark: u32,
    /// The `LOG` targets passed.
    pub logs: Vec<LogEvent>,
}

impl Outcome {
    /// Per-entry packet counts over a table of `n` entries (the kernel's counter deltas).
    pub fn packet_counts(&self, n: usize) -> Vec<u64> {
        let mut c = alloc::vec![0u64; n];
        for &e in &self.counted {
            if let Some(x) = c.get_mut(e) {
                *x = x.saturating_add(1);
            }
        }
        c
    }
}

/// Why a packet could not be evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// The hook number is not below `NF_INET_NUMHOOKS` or not one of the table's hooks.
    BadHook(usize),
    /// The packet is shorter than an IPv4 header.
    ShortPacket,
    /// An interface name has 16 bytes or more (the kernel's names have at most 15).
    BadInterfaceName,
    /// A packet reached a match this evaluator does not implement.
    UnsupportedMatch {
        /// Entry index.
        entry: usize,
        /// Extension name.
        name: &'static str,
        /// Revision.
        revision: u8,
    },
    /// A packet reached a target this evaluator does not implement.
    UnsupportedTarget {
        /// Entry index.
        entry: usize,
        /// Extension name.
        name: &'static str,
        /// Revision.
        revision: u8,
    },
    /// A packet reached an option of a supported extension that needs state this evaluator
    /// does not have (e.g. `conntrack --ctorigsrc`).
    UnsupportedOption {
        /// Entry index.
        entry: usize,
        /// Extension name.
        ext: &'static str,
        /// The option.
        what: &'static str,
    },
    /// The walk reached an entry index outside the table, or a jump whose target is no entry
    /// ([`Target::DanglingJump`]): impossible in a validated table.
    BadEntry {
        /// The index, or the jumping entry.
        entry: usize,
    },
    /// A target's typed value does not encode for its descriptor (a hand-built IR value of
    /// another extension).
    BadPayload {
        /// Entry index.
        entry: usize,
    },
    /// The [`EvalState`] was not made for this table (no bucket for a `limit` match).
    StateMismatch {
        /// Entry index.
        entry: usize,
    },
    /// More entries visited than the evaluator's bound ([`MAX_STEPS`] by default).
    StepLimit,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::BadHook(h) => write!(f, "hook {h} is not a hook of the table"),
            EvalError::ShortPacket => f.write_str("packet shorter than an IPv4 header"),
            EvalError::BadInterfaceName => f.write_str("interface name longer than 15 bytes"),
            EvalError::UnsupportedMatch {
                entry,
                name,
                revision,
            } => write!(
                f,
                "entry {entry}: match {name} rev {revision} not supported"
            ),
            EvalError::UnsupportedTarget {
                entry,
                name,
                revision,
            } => write!(
                f,
                "entry {entry}: target {name} rev {revision} not supported"
            ),
            EvalError::UnsupportedOption { entry, ext, what } => {
                write!(f, "entry {entry}: {ext}: {what} not supported")
            }
            EvalError::BadEntry { entry } => write!(f, "entry {entry}: walk left the table"),
            EvalError::BadPayload { entry } => {
                write!(f, "entry {entry}: target value does not fit its extension")
            }
            EvalError::StateMismatch { entry } => {
                write!(f, "entry {entry}: evaluation state made for another table")
            }
            EvalError::StepLimit => f.write_str("too many entries visited (a loop?)"),
        }
    }
}

/// A target decoded once.
#[derive(Clone, Debug)]
enum PreparedTarget {
    /// `ACCEPT` / `DROP` / `QUEUE`.
    Verdict(Verdict),
    /// `RETURN`.
    Return,
    /// A jump or goto to an entry.
    Jump { to: usize, goto: bool },
    /// A jump to no entry.
    Dangling,
    /// `ERROR`: `ipt_error()` returns NF_DROP.
    Error,
    /// `LOG`: logs and continues.
    Log {
        level: u8,
        logflags: u8,
        prefix: [u8; 30],
    },
    /// `MARK` revision 2: `mark = (mark & ~mask) ^ value`, continues.
    Mark { value: u32, mask: u32 },
    /// `REJECT`: sends its reply, then NF_DROP.
    Reject,
    /// Anything else.
    Unsupported { name: &'static str, revision: u8 },
    /// A typed value that does not belong to its descriptor's extension (hand-built IR).
    Undecodable,
}

impl PreparedTarget {
    fn new(t: &Target) -> PreparedTarget {
        match t {
            Target::Accept => PreparedTarget::Verdict(Verdict::Accept),
            Target::Drop => PreparedTarget::Verdict(Verdict::Drop),
            Target::Queue => PreparedTarget::Verdict(Verdict::Queue),
            Target::Return => PreparedTarget::Return,
            Target::Jump(to) => PreparedTarget::Jump {
                to: *to,
                goto: false,
            },
            Target::Goto(to) => PreparedTarget::Jump {
                to: *to,
                goto: true,
            },
            Target::DanglingJump { .. } => PreparedTarget::Dangling,
            Target::Error(_) => PreparedTarget::Error,
            Target::Ext(x) => {
                let mut encoded = Vec::new();
                let payload: &[u8] = match &x.raw {
                    Some(raw) => raw,
                    None => {
                        if x.value.encode(x.desc, &mut encoded).is_none() {
                            // A value of another extension than its descriptor's.
                            return PreparedTarget::Undecodable;
                        }
                        &encoded
                    }
                };
                let b = |i: usize| payload.get(i).copied().unwrap_or(0);
                let le32 = |i: usize| {
                    u32::from_le_bytes([
                        b(i),
                        b(i.saturating_add(1)),
                        b(i.saturating_add(2)),
                        b(i.saturating_add(3)),
                    ])
                };
                match (x.desc.name, x.desc.revision) {
                    // struct xt_log_info / ipt_log_info { u8 level; u8 logflags; char prefix[30]; }
                    ("LOG", 0) => {
                        let mut prefix = [0u8; 30];
                        for (i, d) in prefix.iter_mut().enumerate() {
                            *d = b(i.saturating_add(2));
                        }
                        PreparedTarget::Log {
                            level: b(0),
                            logflags: b(1),
                            prefix,
                        }
                    }
                    // struct xt_mark_tginfo2 { u32 mark, mask; }
                    ("MARK", 2) => PreparedTarget::Mark {
                        value: le32(0),
                        mask: le32(4),
                    },
                    ("REJECT", 0) => PreparedTarget::Reject,
                    (name, revision) => PreparedTarget::Unsupported { name, revision },
                }
            }
        }
    }
}

/// One entry, decoded.
#[derive(Clone, Debug)]
struct PreparedEntry {
    matches: Vec<Prepared>,
    target: PreparedTarget,
}

/// A table ready to evaluate packets: every match and target decoded once.
#[derive(Clone, Debug)]
pub struct Evaluator<'t> {
    table: &'t Table,
    entries: Vec<PreparedEntry>,
    stacksize: usize,
    max_steps: usize,
}

/// Token buckets of the table's `limit` matches, and the `HZ` they count with. Made by
/// [`Evaluator::state`] or [`EvalState::new`] when the table is loaded ("checkentry" time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalState {
    hz: u32,
    /// Per entry, per match: the bucket of a `limit` match.
    buckets: Vec<Vec<Option<Bucket>>>,
}

impl EvalState {
    /// The state of `table` loaded at jiffies `now`, with [`DEFAULT_HZ`].
    pub fn new(table: &Table, now: u64) -> EvalState {
        EvalState::with_hz(table, now, DEFAULT_HZ)
    }

    /// The state of `table` loaded at jiffies `now` on a kernel with `hz`.
    pub fn with_hz(table: &Table, now: u64, hz: u32) -> EvalState {
        let buckets = table
            .entries
            .iter()
            .map(|r| {
                r.matches
                    .iter()
                    .map(|m| match Prepared::new(m) {
                        Prepared::Limit(info) => Some(Bucket::new(info, now, hz)),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        EvalState { hz, buckets }
    }

    /// The `HZ` this state counts with.
    pub fn hz(&self) -> u32 {
        self.hz
    }

    /// The bucket of match `m` of entry `e`, if it is a `limit` match.
    pub fn bucket(&self, e: usize, m: usize) -> Option<&Bucket> {
        self.buckets.get(e)?.get(m)?.as_ref()
    }
}

impl<'t> Evaluator<'t> {
    /// Decode every match and target of `table`.
    pub fn new(table: &'t Table) -> Evaluator<'t> {
        let entries = table
            .entries
            .iter()
            .map(|r| PreparedEntry {
                matches: r.matches.iter().map(Prepared::new).collect(),
                target: PreparedTarget::new(&r.target),
            })
            .collect();
        // translate_table: ++newinfo->stacksize for every entry whose target is ERROR.
        let stacksize = table
            .entries
            .iter()
            .filter(|r| matches!(r.target, Target::Error(_)))
            .count();
        Evaluator {
            table,
            entries,
            stacksize,
            max_steps: MAX_STEPS,
        }
    }

    /// The same evaluator with another bound on the entries one packet visits (default
    /// [`MAX_STEPS`]); reaching it is [`EvalError::StepLimit`].
    pub fn with_max_steps(mut self, max_steps: usize) -> Evaluator<'t> {
        self.max_steps = max_steps;
        self
    }

    /// The table.
    pub fn table(&self) -> &'t Table {
        self.table
    }

    /// The runtime jump-stack size (the number of ERROR entries).
    pub fn stacksize(&self) -> usize {
        self.stacksize
    }

    /// A fresh [`EvalState`] for this table, loaded at jiffies `now` ([`DEFAULT_HZ`]).
    pub fn state(&self, now: u64) -> EvalState {
        EvalState::new(self.table, now)
    }

    /// Entries with an extension this evaluator does not implement: `(entry, kind, name,
    /// revision)` with kind `"match"` or `"target"`. Packets that never reach them evaluate
    /// fine.
    pub fn unsupported(&self) -> Vec<(usize, &'static str, &'static str, u8)> {
        let mut out = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            for m in &e.matches {
                if let Prepared::Unsupported { name, revision } = m {
                    out.push((i, "match", *name, *revision));
                }
            }
            if let PreparedTarget::Unsupported { name, revision } = e.target {
                out.push((i, "target", name, revision));
            }
        }
        out
    }

    /// Evaluate one packet at jiffies `now`, as `ipt_do_table` does.
    pub fn run(
        &self,
        state: &mut EvalState,
        input: &Input<'_>,
        now: u64,
    ) -> Result<Outcome, EvalError> {
        let hook = input.hook;
        let bad_hook = EvalError::BadHook(hook);
        if hook >= NF_INET_NUMHOOKS {
            return Err(bad_hook);
        }
        let start = self
            .table
            .hook_entry
            .get(hook)
            .copied()
            .flatten()
            .ok_or(bad_hook)?;
        let underflow = self
            .table
            .underflow
            .get(hook)
            .copied()
            .flatten()
            .ok_or(bad_hook)?;
        let ip = IpHeader::parse(input.data).ok_or(EvalError::ShortPacket)?;
        let indev = ifname(input.indev)?;
        let outdev = ifname(input.outdev)?;
        let mut skb = input.skb;
        let mut out = Outcome {
            verdict: Verdict::Drop,
            decided_by: start,
            cause: Cause::Target,
            counted: Vec::new(),
            mark: skb.mark,
            logs: Vec::new(),
        };
        let mut stack: Vec<usize> = Vec::new();
        let mut e = start;
        let mut hotdrop = false;
        let mut steps = 0usize;

        // do { ... } while (!acpar.hotdrop);
        loop {
            steps = steps.saturating_add(1);
            if steps > self.max_steps {
                return Err(EvalError::StepLimit);
            }
            let rule = self
                .table
                .entries
                .get(e)
                .ok_or(EvalError::BadEntry { entry: e })?;
            let prep = self
                .entries
                .get(e)
                .ok_or(EvalError::BadEntry { entry: e })?;

            let mut matched = ip_packet_match(&ip, &indev, &outdev, &rule.ip);
            if matched {
                let ctx = Ctx {
                    data: input.data,
                    ip,
                    skb: &skb,
                    entry: e,
                };
                for (mi, m) in prep.matches.iter().enumerate() {
                    let bucket = state
                        .buckets
                        .get_mut(e)
                        .and_then(|b| b.get_mut(mi))
                        .and_then(Option::as_mut);
                    let r = matches::run(m, &ctx, bucket, now)?;
                    hotdrop |= r.hotdrop;
                    if !r.matched {
                        matched = false;
                        break;
                    }
                }
            }
            if !matched {
                // no_match: e = ipt_next_entry(e); continue (to the loop condition).
                if hotdrop {
                    out.verdict = Verdict::Drop;
                    out.decided_by = e;
                    out.cause = Cause::Hotdrop;
                    break;
                }
                e = next(e)?;
                continue;
            }

            // ADD_COUNTER(*counter, skb->len, 1) -- before the target runs.
            out.counted.push(e);
            out.decided_by = e;

            let verdict = match prep.target {
                PreparedTarget::Verdict(v) => Some(v),
                PreparedTarget::Return => {
                    e = match stack.pop() {
                        None => underflow,
                        Some(from) => next(from)?,
                    };
                    None
                }
                PreparedTarget::Jump { to, goto } => {
                    if to != e.saturating_add(1) && !goto {
                        if stack.len() >= self.stacksize {
                            out.cause = Cause::JumpStackFull;
                            Some(Verdict::Drop)
                        } else {
                            stack.push(e);
                            e = to;
                            None
                        }
                    } else {
                        e = to;
                        None
                    }
                }
                PreparedTarget::Dangling => return Err(EvalError::BadEntry { entry: e }),
                PreparedTarget::Error | PreparedTarget::Reject => Some(Verdict::Drop),
                PreparedTarget::Log {
                    level,
                    logflags,
                    prefix,
                } => {
                    out.logs.push(LogEvent {
                        entry: e,
                        level,
                        logflags,
                        prefix,
                    });
                    e = next(e)?;
                    None
                }
                PreparedTarget::Mark { value, mask } => {
                    skb.mark = (skb.mark & !mask) ^ value;
                    e = next(e)?;
                    None
                }
                PreparedTarget::Unsupported { name, revision } => {
                    return Err(EvalError::UnsupportedTarget {
                        entry: e,
                        name,
                        revision,
                    })
                }
                PreparedTarget::Undecodable => return Err(EvalError::BadPayload { entry: e }),
            };
            if let Some(v) = verdict {
                out.verdict = v;
                break;
            }
            if hotdrop {
                // A match that set hotdrop yet matched: the target ran, then the loop ends.
                out.verdict = Verdict::Drop;
                out.cause = Cause::Hotdrop;
                break;
            }
        }
        if hotdrop {
            out.verdict = Verdict::Drop;
        }
        out.mark = skb.mark;
        Ok(out)
    }
}

/// `e + 1`, the kernel's `ipt_next_entry()`.
fn next(e: usize) -> Result<usize, EvalError> {
    e.checked_add(1).ok_or(EvalError::BadEntry { entry: e })
}

/// A device name as the kernel holds it: 16 bytes, zero after the name.
fn ifname(name: &[u8]) -> Result<[u8; IFNAMSIZ], EvalError> {
    if name.len() >= IFNAMSIZ {
        return Err(EvalError::BadInterfaceName);
    }
    let mut out = [0u8; IFNAMSIZ];
    for (d, s) in out.iter_mut().zip(name) {
        *d = *s;
    }
    Ok(out)
}

/// `ifname_compare_aligned()`: nonzero where `(dev ^ name) & mask` has a bit.
fn ifname_differs(dev: &[u8; IFNAMSIZ], iface: &crate::ir::Iface) -> bool {
    dev.iter()
        .zip(&iface.name)
        .zip(&iface.mask)
        .any(|((d, n), m)| (d ^ n) & m != 0)
}

/// `ip_packet_match()`: addresses, interfaces, protocol, fragment flag; each with its
/// inversion bit (`NF_INVF`).
fn ip_packet_match(
    ip: &IpHeader,
    indev: &[u8; IFNAMSIZ],
    outdev: &[u8; IFNAMSIZ],
    rule: &crate::ir::IpMatch,
) -> bool {
    let inv = &rule.inv;
    let net = |a: core::net::Ipv4Addr| u32::from(a);
    if ((ip.saddr & net(rule.smsk)) != net(rule.src)) ^ inv.src
        || ((ip.daddr & net(rule.dmsk)) != net(rule.dst)) ^ inv.dst
    {
        return false;
    }
    if ifname_differs(indev, &rule.iniface) ^ inv.iniface {
        return false;
    }
    if ifname_differs(outdev, &rule.outiface) ^ inv.outiface {
        return false;
    }
    // `ip->protocol` is a u8, `ipinfo->proto` a u16: a proto above 255 never equals it.
    if rule.proto != 0 && (u16::from(ip.protocol) != rule.proto) ^ inv.proto {
        return false;
    }
    // "-f": non-first fragments only. Note the inversion bit alone (without IPT_F_FRAG) makes
    // the rule match nothing: NF_INVF(false) is true.
    if (rule.frag && ip.fragoff == 0) ^ inv.frag {
        return false;
    }
    true
}
