//! Target extensions: the kernel-exact IPv4 target registry (spec §2.6, §4) and typed values.
//!
//! # Registry
//!
//! [`REGISTRY`] has one [`ExtDesc`] per (name, revision) that the running kernel
//! (6.18, everything built in) offers to IPv4 `ip_tables`, i.e. every line of
//! `/proc/net/ip_tables_targets` plus the standard and ERROR targets. For each: the
//! registered family (since the 2024 "xtables: avoid NFPROTO_UNSPEC where needed" change
//! only `NFQUEUE`, `AUDIT` and `SNAT`/`DNAT` revisions 1 and 2 are UNSPEC; everything else is
//! registered per family, so an unknown revision is ENOENT rather than EPROTOTYPE),
//! `targetsize` and `usersize` on x86_64, the table/hook/protocol restrictions, and the
//! target's `checkentry` reproduced from the kernel source with the same errno.
//!
//! Sources: the registrations and checkentry functions were read from Debian's
//! linux-source-6.12 (6.12.117: `net/netfilter/xt_*.c`, `net/ipv4/netfilter/ipt_*.c`), the
//! revisions from `IPT_SO_GET_REVISION_TARGET`, and every descriptor and check was then
//! confirmed against the running 6.18 kernel case by case (`core/tests/ext_targets_kernel.rs`,
//! ~1000 `SET_REPLACE`s in throw-away namespaces, all matching). The `iptables-save` output
//! was read from iptables' `extensions/libxt_*.c` and confirmed against Debian's
//! iptables-legacy 1.8.9 (`core/tests/ext_targets_iptables.rs` and the same corpus).
//!
//! Where a checkentry consults kernel state (conntrack helpers, timeout policies, ipsets,
//! IDLETIMER timers, RATEEST estimators, LSM contexts), the model is a fresh network
//! namespace on an otherwise idle kernel; each module says what that means for it.
//!
//! ```text
//!   name        revs    family  size(s)      table     hooks   proto  check modelled
//!   AUDIT       0       UNSPEC  1            -         -       -      yes
//!   CHECKSUM    0       IPv4    1            mangle    -       -      yes
//!   CLASSIFY    0       IPv4    4            -         0x1C    -      yes (none)
//!   CONNMARK    1,2     IPv4    16           -         -       -      yes
//!   CONNSECMARK 0       IPv4    1            -         -       -      yes
//!   CT          0,1,2   IPv4    40/72/72     raw       -       -      yes (fresh netns)
//!   DNAT        0 /1,2  IPv4/U  20/40/44     nat       0x09    -      yes
//!   DSCP        0       IPv4    1            mangle    -       -      yes
//!   ECN         0       IPv4    3            mangle    -       -      yes
//!   HMARK       0       IPv4    60           -         -       -      yes
//!   IDLETIMER   0,1     IPv4    40/48        -         -       -      partly (first use)
//!   LOG         0       IPv4    32           -         -       -      yes
//!   MARK        2       IPv4    8            -         -       -      yes (none)
//!   MASQUERADE  0       IPv4    20           nat       0x10    -      yes
//!   NETMAP      0       IPv4    20           nat       0x1B    -      yes
//!   NFLOG       0       IPv4    76           -         -       -      yes
//!   NFQUEUE     0..3    UNSPEC  2/4/6/6      -         -       -      yes
//!   NOTRACK     0       IPv4    0            raw       -       -      yes (none)
//!   RATEEST     0       IPv4    32           -         -       -      partly (first use)
//!   REDIRECT    0       IPv4    20           nat       0x09    -      yes
//!   REJECT      0       IPv4    4            filter    0x0E    -      yes
//!   SECMARK     0,1     IPv4    264          -         -       -      yes (no LSM: ENOENT)
//!   SET         0..3    IPv4    64/8/16/20   -         -       -      yes (no ipsets)
//!   SNAT        0 /1,2  IPv4/U  20/40/44     nat       0x12    -      yes
//!   SYNPROXY    0       IPv4    4            -         0x06    -      yes
//!   TCPMSS      0       IPv4    2            -         -       6      partly (SYN match)
//!   TCPOPTSTRIP 0       IPv4    32           mangle    -       6      yes (none)
//!   TEE         1       IPv4    40           -         -       -      yes
//!   TOS         1       IPv4    2            mangle    -       -      yes (none)
//!   TPROXY      0,1     IPv4    16/28        mangle    0x01    -      yes
//!   TRACE       0       IPv4    0            raw       -       -      yes
//!   TTL         0       IPv4    2            mangle    -       -      yes
//! ```
//!
//! # Typed values
//!
//! [`TargetValue`] parses a payload into a typed value per extension and encodes it back:
//!
//! * [`TargetValue::parse`]`(desc, payload)`: `payload` is the target's data after the
//!   32-byte header (at least `desc.size` bytes; a valid blob has `XT_ALIGN(desc.size)`).
//!   The typed variant is returned only when re-encoding it reproduces the first
//!   `desc.size` payload bytes exactly; otherwise (non-zero struct padding, garbage in
//!   kernel-private fields) those bytes are kept as [`TargetValue::Other`]. So
//!   `encode(parse(p))` always equals `p[..size]` followed by zeros.
//! * [`TargetValue::encode`]`(desc, out)` appends exactly `XT_ALIGN(desc.size)` bytes, the
//!   padding after `desc.size` zeroed, as iptables-legacy writes them. It returns `None` (and
//!   appends nothing) if the value is not of `desc`'s extension.
//! * [`TargetValue::encode_kernel_view`]`(desc, out)` appends what GET_ENTRIES returns for an
//!   accepted rule instead ([`kernel_view`]): the bytes from `desc.usersize` on zeroed, and
//!   `SET` revision 0's in-place `compat_flags` rewrite applied.
//! * [`TargetValue::save`]`(desc, out)` prints the whole target part of an
//!   `iptables-legacy-save` rule, `-j NAME ARGS`, without a leading space, exactly as Debian's
//!   iptables 1.8.9 prints it for what GET_ENTRIES returns: it applies the `usersize`
//!   truncation first (this is visible for `CT --timeout`), prints
//!   `-j NAME [unsupported revision]` for a revision other than the one iptables picks on this
//!   kernel ([`iptables_revision`]), and prints `NOTRACK` for a `CT` with the alias flag. It
//!   fails with `fmt::Error` where iptables has no defined output (an out-of-range REJECT
//!   type, an unknown CONNSECMARK mode, a SET naming an ipset whose name only the kernel
//!   knows).

pub mod ct;
pub mod log;
pub mod mangle;
pub mod mark;
pub mod misc;
pub mod nat;
pub mod nflog;
pub mod nfqueue;
pub mod reject;
pub mod security;
pub mod set;
pub mod tcpmss;
mod wire;

use super::{ExtDesc, ERROR, STANDARD};
use crate::uapi::xt_align;
use alloc::vec::Vec;
use core::fmt;
use wire::{Rd, Wr};

/// Every registered IPv4/UNSPEC target (all revisions), plus the standard and ERROR
/// targets.
pub static REGISTRY: &[ExtDesc] = &[
    // Sorted by name: lookups binary-search it (a test in core::ext checks the order).
    STANDARD,
    misc::AUDIT,
    mangle::CHECKSUM,
    mangle::CLASSIFY,
    mark::CONNMARK_V1,
    mark::CONNMARK_V2,
    security::CONNSECMARK,
    ct::CT_V0,
    ct::CT_V1,
    ct::CT_V2,
    nat::DNAT_V0,
    nat::DNAT_V1,
    nat::DNAT_V2,
    mangle::DSCP,
    mangle::ECN,
    ERROR,
    misc::HMARK,
    misc::IDLETIMER_V0,
    misc::IDLETIMER_V1,
    log::LOG,
    mark::MARK,
    nat::MASQUERADE,
    nat::NETMAP,
    nflog::NFLOG,
    nfqueue::NFQUEUE_V0,
    nfqueue::NFQUEUE_V1,
    nfqueue::NFQUEUE_V2,
    nfqueue::NFQUEUE_V3,
    ct::NOTRACK,
    misc::RATEEST,
    nat::REDIRECT,
    reject::REJECT,
    security::SECMARK_V0,
    security::SECMARK_V1,
    set::SET_V0,
    set::SET_V1,
    set::SET_V2,
    set::SET_V3,
    nat::SNAT_V0,
    nat::SNAT_V1,
    nat::SNAT_V2,
    misc::SYNPROXY,
    tcpmss::TCPMSS,
    tcpmss::TCPOPTSTRIP,
    misc::TEE,
    mangle::TOS,
    misc::TPROXY_V0,
    misc::TPROXY_V1,
    ct::TRACE,
    mangle::TTL,
];

/// The revision of each target that iptables 1.8.9 uses on this kernel: the highest one both
/// its extension library and the kernel support. `iptables-save` prints any other revision
/// as `-j NAME [unsupported revision]`. `None` for names iptables has no library for.
pub fn iptables_revision(name: &str) -> Option<u8> {
    Some(match name {
        "CONNMARK" | "MARK" | "CT" | "DNAT" => 2,
        "NFQUEUE" | "SET" => 3,
        "IDLETIMER" | "SECMARK" | "TEE" | "TOS" | "TPROXY" => 1,
        "AUDIT" | "CHECKSUM" | "CLASSIFY" | "CONNSECMARK" | "DSCP" | "ECN" | "HMARK" | "LOG"
        | "MASQUERADE" | "NETMAP" | "NFLOG" | "NOTRACK" | "RATEEST" | "REDIRECT" | "REJECT"
        // iptables 1.8.9 only has the IPv4 revision 0 of SNAT (DNAT also has revision 2).
        | "SNAT" | "SYNPROXY" | "TCPMSS" | "TCPOPTSTRIP" | "TRACE" | "TTL" => 0,
        _ => return None,
    })
}

/// One typed target payload: read from a payload of a given revision (leniently: missing
/// bytes read as zero), written back at fixed offsets, and printed like `iptables-save`.
pub(crate) trait Payload: Sized {
    /// Read the fields; `None` if this revision has no typed form.
    fn read(rev: u8, r: Rd<'_>) -> Option<Self>;
    /// Write the fields of revision `rev` (padding is left to the caller).
    fn write(&self, rev: u8, w: &mut Wr<'_>);
    /// Print `-j NAME ARGS` for iptables' selected revision.
    fn save(&self, name: &str, rev: u8, out: &mut dyn fmt::Write) -> fmt::Result;
}

/// Declares [`TargetValue`] and its per-extension dispatch from one table.
macro_rules! target_values {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty) = $name:literal; )*) => {
        /// A target payload parsed into a typed value (one variant per extension), or kept
        /// verbatim. See the module documentation for the parse/encode/save contract.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum TargetValue {
            $( $(#[$doc])* $variant($ty), )*
            /// A payload kept verbatim (its first `desc.size` bytes): an extension without a
            /// typed form for this revision (`SET` revision 0, the standard and ERROR
            /// targets), or bytes the typed form cannot reproduce.
            Other(Vec<u8>),
        }

        impl TargetValue {
            /// The typed reading of `p` for `desc`, whatever the bytes.
            fn read_typed(desc: &ExtDesc, p: &[u8]) -> Option<TargetValue> {
                let r = Rd(p);
                match desc.name {
                    $( $name => <$ty as Payload>::read(desc.revision, r).map(TargetValue::$variant), )*
                    _ => None,
                }
            }

            /// Write the typed fields if `self` is a value of `desc`'s extension.
            fn write_typed(&self, desc: &ExtDesc, w: &mut Wr<'_>) -> bool {
                match self {
                    $( TargetValue::$variant(v) if desc.name == $name => {
                        v.write(desc.revision, w);
                        true
                    } )*
                    _ => false,
                }
            }

            /// Print a typed value.
            fn save_typed(&self, desc: &ExtDesc, out: &mut dyn fmt::Write) -> fmt::Result {
                match self {
                    $( TargetValue::$variant(v) => v.save(desc.name, desc.revision, out), )*
                    TargetValue::Other(_) => Err(fmt::Error),
                }
            }
        }
    };
}

target_values! {
    /// `LOG`.
    Log(log::Log) = "LOG";
    /// `REJECT`.
    Reject(reject::Reject) = "REJECT";
    /// `MARK` (revision 2).
    Mark(mark::Mark) = "MARK";
    /// `CONNMARK` (revisions 1, 2).
    Connmark(mark::Connmark) = "CONNMARK";
    /// `NFLOG`.
    Nflog(nflog::Nflog) = "NFLOG";
    /// `NFQUEUE` (all revisions).
    Nfqueue(nfqueue::Nfqueue) = "NFQUEUE";
    /// `SNAT` (all revisions).
    Snat(nat::NatRange) = "SNAT";
    /// `DNAT` (all revisions).
    Dnat(nat::NatRange) = "DNAT";
    /// `MASQUERADE`.
    Masquerade(nat::NatRange) = "MASQUERADE";
    /// `REDIRECT`.
    Redirect(nat::NatRange) = "REDIRECT";
    /// `NETMAP`.
    Netmap(nat::NatRange) = "NETMAP";
    /// `CT` (all revisions; iptables' `-j NOTRACK` is a `CT` revision 2 with
    /// `XT_CT_NOTRACK | XT_CT_NOTRACK_ALIAS`).
    Ct(ct::Ct) = "CT";
    /// The kernel's own payload-less `NOTRACK`.
    Notrack(ct::NoPayload) = "NOTRACK";
    /// `TRACE`.
    Trace(ct::NoPayload) = "TRACE";
    /// `TCPMSS`.
    Tcpmss(tcpmss::Tcpmss) = "TCPMSS";
    /// `TCPOPTSTRIP`.
    Tcpoptstrip(tcpmss::Tcpoptstrip) = "TCPOPTSTRIP";
    /// `TOS` (revision 1).
    Tos(mangle::Tos) = "TOS";
    /// `DSCP`.
    Dscp(mangle::Dscp) = "DSCP";
    /// `TTL`.
    Ttl(mangle::Ttl) = "TTL";
    /// `ECN`.
    Ecn(mangle::Ecn) = "ECN";
    /// `CHECKSUM`.
    Checksum(mangle::Checksum) = "CHECKSUM";
    /// `CLASSIFY`.
    Classify(mangle::Classify) = "CLASSIFY";
    /// `AUDIT`.
    Audit(misc::Audit) = "AUDIT";
    /// `SYNPROXY`.
    Synproxy(misc::Synproxy) = "SYNPROXY";
    /// `TEE`.
    Tee(misc::Tee) = "TEE";
    /// `IDLETIMER` (revisions 0, 1).
    Idletimer(misc::Idletimer) = "IDLETIMER";
    /// `HMARK`.
    Hmark(misc::Hmark) = "HMARK";
    /// `TPROXY` (revisions 0, 1).
    Tproxy(misc::Tproxy) = "TPROXY";
    /// `RATEEST`.
    Rateest(misc::Rateest) = "RATEEST";
    /// `SECMARK` (revisions 0, 1).
    Secmark(security::Secmark) = "SECMARK";
    /// `CONNSECMARK`.
    Connsecmark(security::Connsecmark) = "CONNSECMARK";
    /// `SET` (revisions 1..3).
    Set(set::Set) = "SET";
}

impl TargetValue {
    /// Parse a target payload for `desc` (the bytes after the 32-byte header). `None` if the
    /// payload is shorter than `desc.size`. The typed variant is chosen only if it
    /// re-encodes to the same first `desc.size` bytes, else [`TargetValue::Other`] keeps
    /// those `desc.size` bytes (the alignment padding is not kept: the kernel never returns
    /// it and iptables writes zeros).
    pub fn parse(desc: &ExtDesc, payload: &[u8]) -> Option<Self> {
        let head = payload.get(..desc.size)?;
        if let Some(v) = Self::read_typed(desc, payload) {
            let mut buf = Vec::new();
            if v.encode(desc, &mut buf).is_some() && buf.get(..desc.size) == Some(head) {
                return Some(v);
            }
        }
        Some(TargetValue::Other(head.to_vec()))
    }

    /// Append exactly `XT_ALIGN(desc.size)` payload bytes: the value laid out as revision
    /// `desc.revision`, the alignment padding zeroed. `None`, with nothing appended, if the
    /// value is not one of `desc`'s extension.
    pub fn encode(&self, desc: &ExtDesc, out: &mut Vec<u8>) -> Option<()> {
        let aligned = xt_align(desc.size)?;
        let start = out.len();
        let mut w = Wr::new(out);
        match self {
            TargetValue::Other(bytes) => w.put(0, bytes.get(..desc.size).unwrap_or(bytes)),
            typed => {
                if !typed.write_typed(desc, &mut w) {
                    return None;
                }
            }
        }
        w.finish(desc.size);
        out.resize(start.checked_add(aligned)?, 0);
        Some(())
    }

    /// Append the payload as GET_ENTRIES returns it once the kernel has accepted the rule:
    /// [`TargetValue::encode`], then what the kernel changes (see [`kernel_view`]).
    pub fn encode_kernel_view(&self, desc: &ExtDesc, out: &mut Vec<u8>) -> Option<()> {
        let start = out.len();
        self.encode(desc, out)?;
        kernel_view(desc, out.get_mut(start..)?);
        Some(())
    }

    /// Print the target part of the `iptables-legacy-save` line, `-j NAME ARGS`, without a
    /// leading space, as iptables 1.8.9 prints it from the GET_ENTRIES view of this value.
    pub fn save(&self, desc: &ExtDesc, out: &mut dyn fmt::Write) -> fmt::Result {
        let selected = iptables_revision(desc.name).ok_or(fmt::Error)?;
        if selected != desc.revision {
            return write!(out, "-j {} [unsupported revision]", desc.name);
        }
        // iptables-save prints from what GET_ENTRIES hands it.
        let mut view = Vec::new();
        self.encode_kernel_view(desc, &mut view).ok_or(fmt::Error)?;
        Self::read_typed(desc, &view)
            .ok_or(fmt::Error)?
            .save_typed(desc, out)
    }
}

/// Turn an accepted payload (as sent, `XT_ALIGN(desc.size)` bytes) into what GET_ENTRIES
/// returns for it: the bytes from `desc.usersize` on are zeroed when `usersize` is set (the
/// kernel copies only that much; for `CT` revisions 1 and 2 this cuts the timeout name to 4
/// bytes), and the one checkentry that rewrites its payload in place, `SET` revision 0's
/// `compat_flags`, is applied. Other checkentry writes land beyond `usersize` (kernel
/// pointers) and so are invisible.
pub fn kernel_view(desc: &ExtDesc, payload: &mut [u8]) {
    if desc.usersize != 0 {
        for b in payload.iter_mut().skip(desc.usersize) {
            *b = 0;
        }
    }
    if desc.name == "SET" && desc.revision == 0 {
        set::compat_flags_v0(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::{lookup, Family, Kind};
    use alloc::string::String;

    #[test]
    fn registry_names_and_revisions_are_unique() {
        for (i, a) in REGISTRY.iter().enumerate() {
            assert_eq!(a.kind, Kind::Target);
            for b in REGISTRY.iter().skip(i + 1) {
                assert!(
                    !(a.name == b.name && a.revision == b.revision),
                    "{} rev {} twice",
                    a.name,
                    a.revision
                );
            }
        }
    }

    #[test]
    fn unspec_rule_decides_enoent_vs_eprototype() {
        use crate::error::Errno;
        // DNAT rev 1/2 are UNSPEC: another revision is EPROTOTYPE (spec N4).
        assert_eq!(
            lookup(Kind::Target, b"DNAT", 3).err(),
            Some(Errno::EPROTOTYPE)
        );
        // LOG and MARK are per-family since 2024: ENOENT.
        assert_eq!(lookup(Kind::Target, b"LOG", 1).err(), Some(Errno::ENOENT));
        assert_eq!(lookup(Kind::Target, b"MARK", 0).err(), Some(Errno::ENOENT));
        assert_eq!(
            lookup(Kind::Target, b"NFQUEUE", 4).err(),
            Some(Errno::EPROTOTYPE)
        );
        assert_eq!(
            lookup(Kind::Target, b"DNAT", 0).map(|d| d.family).ok(),
            Some(Family::Ipv4)
        );
        assert_eq!(
            lookup(Kind::Target, b"SNAT", 2).map(|d| d.family).ok(),
            Some(Family::Unspec)
        );
    }

    #[test]
    fn encode_refuses_a_foreign_descriptor() {
        let v = TargetValue::Reject(reject::Reject { with: 3 });
        let mut out = alloc::vec![0xAA];
        assert_eq!(v.encode(&log::LOG, &mut out), None);
        assert_eq!(out, [0xAA]);
        assert_eq!(v.encode(&reject::REJECT, &mut out), Some(()));
        assert_eq!(out, [0xAA, 3, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn nonzero_padding_falls_back_to_other_and_still_saves() {
        // CONNMARK rev 2 with a non-zero pad byte at 15: kept verbatim.
        let mut p = [0u8; 16];
        p[14] = 1; // save mode
        p[15] = 0x77;
        let v = TargetValue::parse(&mark::CONNMARK_V2, &p).unwrap();
        assert!(matches!(v, TargetValue::Other(_)));
        let mut out = Vec::new();
        v.encode(&mark::CONNMARK_V2, &mut out).unwrap();
        assert_eq!(out, p);
        let mut s = String::new();
        v.save(&mark::CONNMARK_V2, &mut s).unwrap();
        assert_eq!(s, "-j CONNMARK --save-mark --nfmask 0x0 --ctmask 0x0");
    }

    #[test]
    fn short_payload_is_none() {
        assert_eq!(TargetValue::parse(&log::LOG, &[0u8; 31]), None);
        assert!(TargetValue::parse(&ct::NOTRACK, &[]).is_some());
    }
}
