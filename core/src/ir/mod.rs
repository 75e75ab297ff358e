//! The owned value layer: a table as the kernel stores it, entry by entry, with typed fields.
//!
//! ```text
//!            Validated --from_validated--> Table --to_entries / to_replace--> bytes
//!                                            |  \--to_get_entries / get_info--> GET_* replies
//!                                            |
//!                            chains() (libiptc's reading)     Ruleset::build() (iptables' layout)
//!                                            v                      ^
//!                                         Ruleset: chains with names, policies, rules
//!                                            |
//!                                          save() --> iptables-save text
//! ```
//!
//! **Entries, not chains.** The kernel has no notion of chains (spec §2.8): a [`Table`] is the
//! list of entries in blob order, with `hook_entry`/`underflow` and jump targets resolved to
//! entry indices. It holds every blob [`crate::validate`] accepts: jumps into the middle of a
//! chain, ERROR entries used as rules, no trailing ERROR entry, unreachable garbage (whose jumps
//! may point at no entry at all: [`Target::DanglingJump`]), nonzero padding and bytes after the
//! NUL of names ([`Slack`], [`Match::name_field`]). [`Table::to_entries`] gives back the exact
//! blob, counters and `comefrom` aside (the kernel overwrites both).
//!
//! **Chains are a view.** [`Table::chains`] reads the entries the way libiptc does (a chain
//! starts at an ERROR entry or at a hook entry and its last entry is the policy or the RETURN
//! tail; the table's last entry is the end marker), so it is total: any table has one. The
//! [`Ruleset`] builder goes the other way and lays chains out exactly as iptables-legacy 1.8.9
//! does (spec §7). [`Table::save`] prints the `iptables-legacy-save` text of the view.
//!
//! **Extension payloads** are parsed by [`MatchValue::parse`] / [`TargetValue::parse`]. When
//! a value does not encode back to the blob's bytes (junk in padding or in kernel-private
//! state, which the kernel stores but never returns), the blob's bytes are kept beside it
//! ([`Match::raw`], [`ExtTarget::raw`]), so the round trip is exact whatever the typed layer
//! keeps.
//!
//! No-panic contract: [`Table::from_validated`] returns an error value for anything it cannot
//! represent (it cannot happen for a real [`Validated`]); every emitter accepts any `Table`,
//! including hand-built ones with out-of-range indices (see [`Table::check`] for what makes a
//! table emittable).

mod chains;
mod emit;
mod parse;
mod save;

pub use chains::{Chain, ChainName, ChainTarget, Ruleset, Verdict};
pub use save::{protocol_name, SaveOptions};

use crate::ext::matches::MatchValue;
use crate::ext::targets::TargetValue;
use crate::ext::{ExtDesc, Kind};
use crate::uapi::{
    cstr, IptIp, HOOK_NAMES, IFNAMSIZ, IPT_F_FRAG, IPT_F_GOTO, IPT_INV_DSTIP, IPT_INV_FRAG,
    IPT_INV_PROTO, IPT_INV_SRCIP, IPT_INV_TOS, IPT_INV_VIA_IN, IPT_INV_VIA_OUT, NF_INET_NUMHOOKS,
    XT_EXTENSION_MAXNAMELEN, XT_FUNCTION_MAXNAMELEN, XT_TABLE_MAXNAMELEN,
};
use alloc::vec::Vec;
use arrayvec::ArrayString;
use core::fmt;
use core::net::Ipv4Addr;

#[cfg(doc)]
use crate::validate::Validated;

/// Packet and byte counters of one entry: `(pcnt, bcnt)`, as in `struct xt_counters`.
pub type Counters = (u64, u64);

/// A table name: at most 31 bytes (the kernel forces `name[31] = 0`).
pub type TableName = ArrayString<{ XT_TABLE_MAXNAMELEN - 1 }>;

/// One IPv4 table as the kernel stores it: entries in blob order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Table name (`filter`, `nat`, ...).
    pub name: TableName,
    /// Bitmask of the table's hooks.
    pub valid_hooks: u32,
    /// Every entry, in blob order.
    pub entries: Vec<Rule>,
    /// Per hook: index of the hook's first entry (`Some` exactly for hooks in `valid_hooks`).
    pub hook_entry: [Option<usize>; NF_INET_NUMHOOKS],
    /// Per hook: index of the hook's policy entry (`Some` exactly for hooks in `valid_hooks`).
    pub underflow: [Option<usize>; NF_INET_NUMHOOKS],
}

/// One entry (`ipt_entry` + matches + target). In a [`Table`], `T` is [`Target`] (jumps are
/// entry indices); in a [`Chain`], it is [`ChainTarget`] (jumps name chains).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule<T = Target> {
    /// The fixed IPv4 part (`ipt_ip`).
    pub ip: IpMatch,
    /// `nfcache`: ignored by the kernel, stored and returned verbatim.
    pub nfcache: u32,
    /// Matches, in order.
    pub matches: Vec<Match>,
    /// The target.
    pub target: T,
    /// Packet and byte counters.
    pub counters: Counters,
    /// Bytes without meaning that the kernel stores anyway.
    pub slack: Slack,
}

impl<T> Rule<T> {
    /// A rule with an all-zero `ipt_ip` (matches every packet), no matches, zero counters.
    pub fn new(target: T) -> Self {
        Rule {
            ip: IpMatch::default(),
            nfcache: 0,
            matches: Vec::new(),
            target,
            counters: (0, 0),
            slack: Slack::default(),
        }
    }

    /// The same rule with another target.
    pub fn with_target<U>(self, target: U) -> Rule<U> {
        Rule {
            ip: self.ip,
            nfcache: self.nfcache,
            matches: self.matches,
            target,
            counters: self.counters,
            slack: self.slack,
        }
    }

    /// The kernel's `unconditional()`: no matches and an all-zero `ipt_ip` (flags included, so
    /// an IPT_F_GOTO bit makes an entry conditional). Only such a std entry can be a policy, and
    /// only such an entry with a negative verdict ends `mark_source_chains`' walk.
    pub fn is_unconditional(&self) -> bool
    where
        T: IsGoto,
    {
        self.matches.is_empty() && self.ip.is_zero() && !self.target.is_goto()
    }
}

/// Whether a target carries the `IPT_F_GOTO` flag of its entry (which lives in `ipt_ip`).
pub trait IsGoto {
    /// True for a goto.
    fn is_goto(&self) -> bool;
}

/// Kernel-ignored bytes of an entry that a blob may fill with anything: kept so that a blob
/// goes back out byte for byte. All zero in everything iptables writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Slack {
    /// The target's 29-byte name field, when it differs from the canonical name + zeros
    /// (bytes after the NUL; the std target's name may be `"\0junk"`).
    pub target_name: Option<[u8; XT_EXTENSION_MAXNAMELEN]>,
    /// Padding after a std verdict (4 bytes) or after an ERROR name (the first 2 bytes).
    pub target_pad: [u8; 4],
    /// Bytes between the end of an extension or ERROR target and `next_offset`: pass 1 only
    /// requires `target_offset + target_size <= next_offset` for them (found by fuzzing).
    /// GET_ENTRIES leaves them unwritten, which iptables' zeroed buffer shows as zeros.
    pub target_tail: Vec<u8>,
}

/// `struct ipt_ip`, typed. Every field is kept exactly, so every bit pattern round-trips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpMatch {
    /// Source address.
    pub src: Ipv4Addr,
    /// Source mask.
    pub smsk: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Destination mask.
    pub dmsk: Ipv4Addr,
    /// Input interface.
    pub iniface: Iface,
    /// Output interface.
    pub outiface: Iface,
    /// Layer-4 protocol, 0 = any.
    pub proto: u16,
    /// `IPT_F_FRAG`: match non-first fragments only.
    pub frag: bool,
    /// `IPT_F_GOTO` on an entry whose target is not a jump (the kernel accepts it; it only
    /// makes the entry conditional). For jumps the flag is [`Target::Goto`] instead, and
    /// [`Table::from_validated`] leaves this `false`.
    pub goto_flag: bool,
    /// The `IPT_INV_*` bits.
    pub inv: Inversions,
}

impl Default for IpMatch {
    fn default() -> Self {
        IpMatch {
            src: Ipv4Addr::UNSPECIFIED,
            smsk: Ipv4Addr::UNSPECIFIED,
            dst: Ipv4Addr::UNSPECIFIED,
            dmsk: Ipv4Addr::UNSPECIFIED,
            iniface: Iface::ANY,
            outiface: Iface::ANY,
            proto: 0,
            frag: false,
            goto_flag: false,
            inv: Inversions::default(),
        }
    }
}

impl IpMatch {
    /// From the kernel struct. Flag bits outside `IPT_F_MASK` and inversion bits outside
    /// `IPT_INV_MASK` (which validation rejects) are dropped.
    pub fn from_raw(ip: &IptIp) -> Self {
        IpMatch {
            src: Ipv4Addr::from(ip.src),
            smsk: Ipv4Addr::from(ip.smsk),
            dst: Ipv4Addr::from(ip.dst),
            dmsk: Ipv4Addr::from(ip.dmsk),
            iniface: Iface {
                name: ip.iniface,
                mask: ip.iniface_mask,
            },
            outiface: Iface {
                name: ip.outiface,
                mask: ip.outiface_mask,
            },
            proto: ip.proto.get(),
            frag: ip.flags & IPT_F_FRAG != 0,
            goto_flag: ip.flags & IPT_F_GOTO != 0,
            inv: Inversions::from_bits(ip.invflags),
        }
    }

    /// To the kernel struct; `goto` adds `IPT_F_GOTO` (set for [`Target::Goto`]).
    pub fn to_raw(&self, goto: bool) -> IptIp {
        let mut flags = 0;
        if self.frag {
            flags |= IPT_F_FRAG;
        }
        if self.goto_flag || goto {
            flags |= IPT_F_GOTO;
        }
        IptIp {
            src: self.src.octets(),
            dst: self.dst.octets(),
            smsk: self.smsk.octets(),
            dmsk: self.dmsk.octets(),
            iniface: self.iniface.name,
            outiface: self.outiface.name,
            iniface_mask: self.iniface.mask,
            outiface_mask: self.outiface.mask,
            proto: self.proto.into(),
            flags,
            invflags: self.inv.bits(),
        }
    }

    /// True if all 84 bytes of the kernel struct would be zero (goto aside).
    pub fn is_zero(&self) -> bool {
        *self == IpMatch::default()
    }
}

/// The `IPT_INV_*` bits of `ipt_ip.invflags`, one bool each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inversions {
    /// `IPT_INV_VIA_IN`: `! -i`.
    pub iniface: bool,
    /// `IPT_INV_VIA_OUT`: `! -o`.
    pub outiface: bool,
    /// `IPT_INV_TOS`: accepted by the kernel, no effect for IPv4.
    pub tos: bool,
    /// `IPT_INV_SRCIP`: `! -s`.
    pub src: bool,
    /// `IPT_INV_DSTIP`: `! -d`.
    pub dst: bool,
    /// `IPT_INV_FRAG`: `! -f`.
    pub frag: bool,
    /// `IPT_INV_PROTO`: `! -p`.
    pub proto: bool,
}

impl Inversions {
    /// From `invflags` (bit 7, which validation rejects, is dropped).
    pub fn from_bits(b: u8) -> Self {
        Inversions {
            iniface: b & IPT_INV_VIA_IN != 0,
            outiface: b & IPT_INV_VIA_OUT != 0,
            tos: b & IPT_INV_TOS != 0,
            src: b & IPT_INV_SRCIP != 0,
            dst: b & IPT_INV_DSTIP != 0,
            frag: b & IPT_INV_FRAG != 0,
            proto: b & IPT_INV_PROTO != 0,
        }
    }

    /// To `invflags`.
    pub fn bits(&self) -> u8 {
        let pairs = [
            (self.iniface, IPT_INV_VIA_IN),
            (self.outiface, IPT_INV_VIA_OUT),
            (self.tos, IPT_INV_TOS),
            (self.src, IPT_INV_SRCIP),
            (self.dst, IPT_INV_DSTIP),
            (self.frag, IPT_INV_FRAG),
            (self.proto, IPT_INV_PROTO),
        ];
        pairs
            .iter()
            .filter(|(on, _)| *on)
            .fold(0, |acc, (_, bit)| acc | bit)
    }
}

/// An interface name and mask, kept byte for byte. The kernel compares `name & mask` with the
/// device name: iptables writes `eth0` with a mask over 5 bytes (the NUL included, so it is an
/// exact match) and `eth+` with the name `eth+` and a mask over 3 bytes (a prefix match).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Iface {
    /// `iniface`/`outiface` (may lack a NUL).
    pub name: [u8; IFNAMSIZ],
    /// `iniface_mask`/`outiface_mask`.
    pub mask: [u8; IFNAMSIZ],
}

impl Iface {
    /// Any interface (all zero).
    pub const ANY: Iface = Iface {
        name: [0; IFNAMSIZ],
        mask: [0; IFNAMSIZ],
    };

    /// What iptables' `xtables_parse_interface` stores for `-i ARG`: `None` if `ARG` is 16 bytes
    /// or longer. A trailing `+` is kept in the name and left out of the mask.
    pub fn parse(arg: &str) -> Option<Iface> {
        let bytes = arg.as_bytes();
        if bytes.len() >= IFNAMSIZ {
            return None;
        }
        let mut out = Iface::ANY;
        for (dst, src) in out.name.iter_mut().zip(bytes) {
            *dst = *src;
        }
        let masked = match bytes.split_last() {
            None => 0,
            Some((b'+', rest)) => rest.len(),
            // Exact names include their NUL in the match.
            Some(_) => bytes.len().saturating_add(1),
        };
        for m in out.mask.iter_mut().take(masked) {
            *m = 0xFF;
        }
        Some(out)
    }

    /// True if the mask is all zero: no interface condition (what iptables-save checks).
    pub fn is_any(&self) -> bool {
        self.mask.first() == Some(&0)
    }
}

impl fmt::Display for Iface {
    /// iptables' `print_iface`: bytes under the mask (NULs skipped), then `+` where the mask
    /// ends after a non-NUL name byte.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut prev = 0u8;
        for (&c, &m) in self.name.iter().zip(&self.mask) {
            if m == 0 {
                if prev != 0 {
                    f.write_str("+")?;
                }
                return Ok(());
            }
            if c != 0 {
                write_byte(f, c)?;
            }
            prev = c;
        }
        Ok(())
    }
}

/// Write one byte of a C string as iptables' `printf("%s")` would (non-ASCII bytes as U+FFFD).
pub(crate) fn write_byte(f: &mut dyn fmt::Write, b: u8) -> fmt::Result {
    if b.is_ascii() {
        f.write_char(char::from(b))
    } else {
        f.write_char(char::REPLACEMENT_CHARACTER)
    }
}

/// One match: its registered extension, its value, and (rarely) junk in its name field.
#[derive(Clone, Debug)]
pub struct Match {
    /// The registry entry (name, revision, sizes).
    pub desc: &'static ExtDesc,
    /// The payload.
    pub value: MatchValue,
    /// The 29-byte name field when it differs from the canonical name + zeros.
    pub name_field: Option<[u8; XT_EXTENSION_MAXNAMELEN]>,
    /// The payload exactly as the blob had it, when `value` encodes to other bytes (bytes the
    /// kernel stores but never returns: alignment padding, kernel-private state). SET_REPLACE
    /// output uses it; GET_ENTRIES output uses `value`, which is what the kernel returns.
    pub raw: Option<Vec<u8>>,
}

impl Match {
    /// A match of the registered extension `name`/`revision` (ENOENT/EPROTOTYPE-style lookup).
    pub fn new(name: &str, revision: u8, value: MatchValue) -> Result<Match, IrError> {
        let desc = crate::ext::lookup(Kind::Match, name.as_bytes(), revision)
            .map_err(|_| IrError::UnknownExtension { entry: None })?;
        Ok(Match {
            desc,
            value,
            name_field: None,
            raw: None,
        })
    }

    /// The extension name.
    pub fn name(&self) -> &'static str {
        self.desc.name
    }

    /// The extension revision.
    pub fn revision(&self) -> u8 {
        self.desc.revision
    }
}

impl PartialEq for Match {
    fn eq(&self, other: &Self) -> bool {
        same_desc(self.desc, other.desc)
            && self.value == other.value
            && self.name_field == other.name_field
            && self.raw == other.raw
    }
}
impl Eq for Match {}

fn same_desc(a: &ExtDesc, b: &ExtDesc) -> bool {
    a.kind == b.kind && a.name == b.name && a.revision == b.revision && a.family == b.family
}

/// A target extension other than the standard and ERROR targets.
#[derive(Clone, Debug)]
pub struct ExtTarget {
    /// The registry entry.
    pub desc: &'static ExtDesc,
    /// The payload.
    pub value: TargetValue,
    /// The payload exactly as the blob had it, when `value` encodes to other bytes (see
    /// [`Match::raw`]).
    pub raw: Option<Vec<u8>>,
}

impl ExtTarget {
    /// A target of the registered extension `name`/`revision`.
    pub fn new(name: &str, revision: u8, value: TargetValue) -> Result<ExtTarget, IrError> {
        let desc = crate::ext::lookup(Kind::Target, name.as_bytes(), revision)
            .map_err(|_| IrError::UnknownExtension { entry: None })?;
        Ok(ExtTarget {
            desc,
            value,
            raw: None,
        })
    }
}

impl PartialEq for ExtTarget {
    fn eq(&self, other: &Self) -> bool {
        same_desc(self.desc, other.desc) && self.value == other.value && self.raw == other.raw
    }
}
impl Eq for ExtTarget {}

/// The 30-byte `errorname` of an ERROR entry, kept whole (bytes after the NUL included).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorName(pub [u8; XT_FUNCTION_MAXNAMELEN]);

impl ErrorName {
    /// `name` NUL-padded; `None` if it has 30 bytes or more (no room for the NUL) or a NUL.
    pub fn new(name: &[u8]) -> Option<ErrorName> {
        if name.len() >= XT_FUNCTION_MAXNAMELEN || name.contains(&0) {
            return None;
        }
        let mut raw = [0; XT_FUNCTION_MAXNAMELEN];
        for (d, s) in raw.iter_mut().zip(name) {
            *d = *s;
        }
        Some(ErrorName(raw))
    }

    /// The name up to its NUL.
    pub fn as_bytes(&self) -> &[u8] {
        cstr(&self.0)
    }
}

impl fmt::Debug for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrorName({:?})", BytesStr(self.as_bytes()))
    }
}

/// Debug-prints bytes as a string.
struct BytesStr<'a>(&'a [u8]);
impl fmt::Debug for BytesStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for &b in self.0 {
            for c in core::ascii::escape_default(b) {
                write_byte(f, c)?;
            }
        }
        f.write_str("\"")
    }
}

/// What an entry does when its conditions hold.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one table holds few extension targets; boxing would burden every match on the enum"
)]
pub enum Target {
    /// Std verdict -2.
    Accept,
    /// Std verdict -1.
    Drop,
    /// Std verdict -4 (queue 0).
    Queue,
    /// Std verdict -5 (`XT_RETURN`).
    Return,
    /// Std jump to the entry with this index (pushes a return address).
    Jump(usize),
    /// Std jump with `IPT_F_GOTO` (no return address).
    Goto(usize),
    /// Std jump whose offset is not an entry start: legal only in entries no hook reaches
    /// (spec §2.5, D10), so it never runs. Kept to emit the blob back.
    DanglingJump {
        /// The verdict (a byte offset > 0).
        offset: u32,
        /// `IPT_F_GOTO` was set.
        goto: bool,
    },
    /// An ERROR entry: a user chain head, the end marker, or (at run time) a drop.
    Error(ErrorName),
    /// Any other target extension.
    Ext(ExtTarget),
}

impl IsGoto for Target {
    fn is_goto(&self) -> bool {
        matches!(
            self,
            Target::Goto(_) | Target::DanglingJump { goto: true, .. }
        )
    }
}

/// Why a table could not be built, converted or emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrError {
    /// `from_validated`: entry `entry` is not laid out as validation guarantees.
    Malformed {
        /// Entry index.
        entry: usize,
    },
    /// An extension (name, revision) is not in the registry.
    UnknownExtension {
        /// Entry index, when converting a blob.
        entry: Option<usize>,
    },
    /// A valid hook's `hook_entry`/`underflow` is not an entry start.
    HookOffset {
        /// Hook number.
        hook: usize,
    },
    /// `check`: a jump, `hook_entry` or `underflow` index is out of range, or a hook's
    /// presence disagrees with `valid_hooks`.
    BadIndex {
        /// Entry index (or hook number for hook fields).
        entry: usize,
    },
    /// `check`: an entry or the blob is too large for the kernel's u16/u32 fields.
    TooLarge {
        /// Entry index.
        entry: usize,
    },
    /// Builder: a valid hook has no built-in chain.
    MissingBuiltin {
        /// Hook number.
        hook: usize,
    },
    /// Builder: chain `chain` is built-in for a hook the table lacks, or twice for one hook.
    BadBuiltin {
        /// Chain index in the ruleset.
        chain: usize,
    },
    /// Builder: two chains share a name.
    DuplicateChain {
        /// Index of the second one.
        chain: usize,
    },
    /// Builder: a user chain name is empty, 29 bytes or longer, or contains a NUL.
    BadChainName {
        /// Chain index.
        chain: usize,
    },
    /// Builder: a built-in chain's policy is not ACCEPT or DROP.
    BadPolicy {
        /// Chain index.
        chain: usize,
    },
    /// Builder: a rule jumps to a chain that does not exist, to a built-in chain, or to no
    /// chain at all.
    BadJump {
        /// Chain index.
        chain: usize,
        /// Rule index in the chain.
        rule: usize,
    },
    /// Builder: the table name is not a known table.
    UnknownTable,
}

impl fmt::Display for IrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IrError::Malformed { entry } => write!(f, "entry {entry}: malformed"),
            IrError::UnknownExtension { entry: Some(e) } => {
                write!(f, "entry {e}: extension not registered")
            }
            IrError::UnknownExtension { entry: None } => f.write_str("extension not registered"),
            IrError::HookOffset { hook } => {
                write!(f, "hook {}: offset is not an entry", hook_name(*hook))
            }
            IrError::BadIndex { entry } => write!(f, "entry {entry}: index out of range"),
            IrError::TooLarge { entry } => write!(f, "entry {entry}: too large"),
            IrError::MissingBuiltin { hook } => {
                write!(f, "no built-in chain for hook {}", hook_name(*hook))
            }
            IrError::BadBuiltin { chain } => write!(f, "chain {chain}: bad hook"),
            IrError::DuplicateChain { chain } => write!(f, "chain {chain}: duplicate name"),
            IrError::BadChainName { chain } => write!(f, "chain {chain}: bad name"),
            IrError::BadPolicy { chain } => write!(f, "chain {chain}: policy not ACCEPT/DROP"),
            IrError::BadJump { chain, rule } => {
                write!(f, "chain {chain} rule {rule}: bad jump target")
            }
            IrError::UnknownTable => f.write_str("unknown table"),
        }
    }
}

fn hook_name(h: usize) -> &'static str {
    HOOK_NAMES.get(h).copied().unwrap_or("?")
}

/// `1 << hook` for a hook number below 32, else 0.
pub(crate) fn hook_bit(hook: usize) -> u32 {
    u32::try_from(hook)
        .ok()
        .and_then(|h| 1u32.checked_shl(h))
        .unwrap_or(0)
}

impl Table {
    /// Every entry's counters, in entry order.
    pub fn counters(&self) -> Vec<Counters> {
        self.entries.iter().map(|r| r.counters).collect()
    }

    /// Replace the counters, entry by entry (extra values are ignored, missing ones leave the
    /// rule's own). A table read from a SET_REPLACE blob holds the caller's counters, which
    /// the kernel ignores (it starts from zero); this is how a holder of the real counters
    /// (the kernel, the BPF maps) puts them in before `save` or `chains`.
    pub fn set_counters(&mut self, counters: &[Counters]) {
        for (r, c) in self.entries.iter_mut().zip(counters) {
            r.counters = *c;
        }
    }

    /// Structural invariants that make [`Table::to_entries`] meaningful: every jump and hook
    /// index in range, hooks present exactly for `valid_hooks`, every entry and the blob small
    /// enough for the kernel's `u16` offsets and `u32` size. A table from
    /// [`Table::from_validated`] or [`Ruleset::build`] always passes.
    pub fn check(&self) -> Result<(), IrError> {
        let n = self.entries.len();
        for (h, (e, u)) in self.hook_entry.iter().zip(&self.underflow).enumerate() {
            let valid = self.valid_hooks & hook_bit(h) != 0;
            let ok = |x: &Option<usize>| match x {
                Some(i) => valid && *i < n,
                None => !valid,
            };
            if !ok(e) || !ok(u) {
                return Err(IrError::BadIndex { entry: h });
            }
        }
        if self.valid_hooks >> NF_INET_NUMHOOKS != 0 {
            return Err(IrError::BadIndex {
                entry: NF_INET_NUMHOOKS,
            });
        }
        for (i, r) in self.entries.iter().enumerate() {
            if let Target::Jump(t) | Target::Goto(t) = r.target {
                if t >= n {
                    return Err(IrError::BadIndex { entry: i });
                }
            }
        }
        self.layout().map(|_| ())
    }
}
