//! The `raw`-table targets of `net/netfilter/xt_CT.c` (`CT` revisions 0..2, `NOTRACK`) and
//! `xt_TRACE.c` (`TRACE`).
//!
//! ```text
//! xt_ct_target_info    (40): flags u16 @0, zone u16 @2, ct_events u32 @4,
//!                            exp_events u32 @8, helper [16] @12, pad, ct ptr @32
//! xt_ct_target_info_v1 (72): ... helper [16] @12, timeout [32] @28, pad, ct ptr @64
//! ```
//!
//! Kernel quirk kept here: every revision registers `usersize = offsetof(xt_ct_target_info,
//! ct)` = 32, even revisions 1 and 2, so GET_ENTRIES returns only the first 4 bytes of
//! `timeout` and `iptables-save` prints `--timeout` truncated to 4 characters (confirmed on
//! the running kernel).

use super::wire::{entry_proto, unterminated, Rd, Wr};
use super::Payload;
use crate::error::Errno;
use crate::ext::{check_none, CheckCtx, ExtDesc, Family, Kind};
use core::fmt;

/// `CT` revision 0.
pub const CT_V0: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "CT",
    revision: 0,
    family: Family::Ipv4,
    size: 40,
    usersize: 32,
    table: Some("raw"),
    hooks: 0,
    proto: 0,
    check: check_ct_v0,
};

/// `CT` revision 1 (adds the timeout policy name).
pub const CT_V1: ExtDesc = ExtDesc {
    revision: 1,
    size: 72,
    check: check_ct_v1,
    ..CT_V0
};

/// `CT` revision 2 (zone direction and zone-from-mark flags).
pub const CT_V2: ExtDesc = ExtDesc {
    revision: 2,
    check: check_ct_v2,
    ..CT_V1
};

/// `NOTRACK` revision 0: no payload, `raw` only.
pub const NOTRACK: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "NOTRACK",
    revision: 0,
    family: Family::Ipv4,
    size: 0,
    usersize: 0,
    table: Some("raw"),
    hooks: 0,
    proto: 0,
    check: check_none,
};

/// `TRACE` revision 0: no payload, `raw` only. Its checkentry needs the LOG logger, which is
/// built in.
pub const TRACE: ExtDesc = ExtDesc {
    name: "TRACE",
    ..NOTRACK
};

/// `XT_CT_NOTRACK`.
pub const XT_CT_NOTRACK: u16 = 1 << 0;
/// `XT_CT_NOTRACK_ALIAS`: written by iptables' `-j NOTRACK`, saved back as `NOTRACK`.
pub const XT_CT_NOTRACK_ALIAS: u16 = 1 << 1;
/// `XT_CT_ZONE_DIR_ORIG`.
pub const XT_CT_ZONE_DIR_ORIG: u16 = 1 << 2;
/// `XT_CT_ZONE_DIR_REPL`.
pub const XT_CT_ZONE_DIR_REPL: u16 = 1 << 3;
/// `XT_CT_ZONE_MARK`.
pub const XT_CT_ZONE_MARK: u16 = 1 << 4;
/// `XT_CT_MASK`: all revision-2 flags.
const XT_CT_MASK: u16 = 0x1f;

/// The conntrack helpers this kernel has for IPv4, as `(name, l4 protocol)`: the built-in
/// helpers registered for `AF_INET` or `AF_UNSPEC` with their default ports (so the names
/// carry no `-PORT` suffix). Helpers added at run time through nfnetlink_cthelper are global
/// kernel state and are not modelled.
pub const IPV4_HELPERS: &[(&str, u8)] = &[
    ("amanda", 17),
    ("ftp", 6),
    ("H.245", 17),
    ("Q.931", 6),
    ("RAS", 17),
    ("irc", 6),
    ("netbios-ns", 17),
    ("pptp", 6),
    ("sane", 6),
    ("sip", 17),
    ("sip", 6),
    ("snmp", 17),
    ("snmp_trap", 17),
    ("tftp", 17),
];

/// Revisions 0 and 1 accept only `XT_CT_NOTRACK`.
fn check_ct_v0(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    if Rd(p).u16(0) & !XT_CT_NOTRACK != 0 {
        return Err(Errno::EINVAL);
    }
    // xt_ct_tg_check_v0 copies the fields into a v1 struct with an empty timeout.
    xt_ct_tg_check(ctx, p, false)
}

/// `xt_ct_tg_check_v1`.
fn check_ct_v1(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    if Rd(p).u16(0) & !XT_CT_NOTRACK != 0 {
        return Err(Errno::EINVAL);
    }
    xt_ct_tg_check(ctx, p, true)
}

/// `xt_ct_tg_check_v2`.
fn check_ct_v2(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    if Rd(p).u16(0) & !XT_CT_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    xt_ct_tg_check(ctx, p, true)
}

/// `xt_ct_find_proto`: the entry's protocol truncated to u8, or 0 when inverted.
fn find_proto(ctx: &CheckCtx<'_>) -> u8 {
    let (proto, inv) = entry_proto(ctx);
    if inv {
        return 0;
    }
    proto.to_le_bytes().first().copied().unwrap_or(0)
}

/// `xt_ct_tg_check` in a fresh network namespace: conntrack can be enabled, templates and
/// event extensions allocate, the helper must be one of [`IPV4_HELPERS`], and no conntrack
/// timeout policy exists (so any named timeout with a protocol is ENOENT).
fn xt_ct_tg_check(ctx: &CheckCtx<'_>, p: &[u8], has_timeout: bool) -> Result<(), Errno> {
    let r = Rd(p);
    if r.u16(0) & XT_CT_NOTRACK != 0 {
        return Ok(());
    }
    let helper: [u8; 16] = r.arr(12);
    if helper.first().is_some_and(|&b| b != 0) {
        if unterminated(&helper) {
            return Err(Errno::ENAMETOOLONG);
        }
        let proto = find_proto(ctx);
        if proto == 0 {
            return Err(Errno::ENOENT);
        }
        let name = crate::uapi::cstr(&helper);
        if !IPV4_HELPERS
            .iter()
            .any(|&(n, p)| n.as_bytes() == name && p == proto)
        {
            return Err(Errno::ENOENT);
        }
    }
    if has_timeout {
        let timeout: [u8; 32] = r.arr(28);
        if timeout.first().is_some_and(|&b| b != 0) {
            if unterminated(&timeout) {
                return Err(Errno::ENAMETOOLONG);
            }
            if find_proto(ctx) == 0 {
                return Err(Errno::EINVAL);
            }
            // nf_ct_set_timeout: no cttimeout policy exists in a fresh namespace.
            return Err(Errno::ENOENT);
        }
    }
    Ok(())
}

/// Conntrack event names by bit (`IPCT_*`), as libxt_CT prints them.
const CT_EVENTS: [&str; 10] = [
    "new",
    "related",
    "destroy",
    "reply",
    "assured",
    "protoinfo",
    "helper",
    "mark",
    "natseqinfo",
    "secmark",
];

/// `struct xt_ct_target_info` / `_v1` (revision 0 has no timeout; it reads back empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ct {
    /// `XT_CT_*`.
    pub flags: u16,
    /// Conntrack zone id.
    pub zone: u16,
    /// Conntrack event mask (`1 << IPCT_*`).
    pub ct_events: u32,
    /// Expectation event mask (`1 << IPEXP_*`).
    pub exp_events: u32,
    /// Helper name field, verbatim.
    pub helper: [u8; 16],
    /// Timeout policy name field, verbatim (revisions 1 and 2).
    pub timeout: [u8; 32],
}

impl Payload for Ct {
    fn read(rev: u8, r: Rd<'_>) -> Option<Self> {
        Some(Ct {
            flags: r.u16(0),
            zone: r.u16(2),
            ct_events: r.u32(4),
            exp_events: r.u32(8),
            helper: r.arr(12),
            timeout: if rev >= 1 { r.arr(28) } else { [0; 32] },
        })
    }

    fn write(&self, rev: u8, w: &mut Wr<'_>) {
        w.u16(0, self.flags);
        w.u16(2, self.zone);
        w.u32(4, self.ct_events);
        w.u32(8, self.exp_events);
        w.put(12, &self.helper);
        if rev >= 1 {
            w.put(28, &self.timeout);
        }
    }

    /// `ct_save_v1` plus the `ct_print_name_alias` name (revision 2 is the one
    /// iptables-save uses here).
    fn save(&self, _: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        if self.flags & XT_CT_NOTRACK_ALIAS != 0 {
            return out.write_str("-j NOTRACK");
        }
        out.write_str("-j CT")?;
        if self.flags & XT_CT_NOTRACK != 0 {
            out.write_str(" --notrack")?;
        }
        if self.helper.first().is_some_and(|&b| b != 0) {
            // printf("%s") of the helper field runs on into the timeout field when the
            // helper has no NUL of its own (the kernel allows that with --notrack).
            let mut both = [0u8; 48];
            for (d, s) in both.iter_mut().zip(self.helper.iter().chain(&self.timeout)) {
                *d = *s;
            }
            out.write_str(" --helper ")?;
            super::wire::write_bytes(out, crate::uapi::cstr(&both))?;
        }
        if self.timeout.first().is_some_and(|&b| b != 0) {
            out.write_str(" --timeout ")?;
            super::wire::write_bytes(out, crate::uapi::cstr(&self.timeout))?;
        }
        if self.ct_events != 0 {
            out.write_str(" --ctevents ")?;
            let mut sep = "";
            for (bit, name) in (0u32..).zip(CT_EVENTS) {
                if self.ct_events & 1u32.checked_shl(bit).unwrap_or(0) != 0 {
                    write!(out, "{sep}{name}")?;
                    sep = ",";
                }
            }
        }
        if self.exp_events != 0 {
            out.write_str(" --expevents ")?;
            if self.exp_events & 1 != 0 {
                out.write_str("new")?;
            }
        }
        if self.flags & XT_CT_ZONE_MARK != 0 || self.zone != 0 {
            out.write_str(" --zone")?;
            match self.flags & (XT_CT_ZONE_DIR_ORIG | XT_CT_ZONE_DIR_REPL) {
                XT_CT_ZONE_DIR_ORIG => out.write_str("-orig")?,
                XT_CT_ZONE_DIR_REPL => out.write_str("-reply")?,
                _ => {}
            }
            if self.flags & XT_CT_ZONE_MARK != 0 {
                out.write_str(" mark")?;
            } else {
                write!(out, " {}", self.zone)?;
            }
        }
        Ok(())
    }
}

/// A target without payload (`NOTRACK`, `TRACE`): `iptables-save` prints only the name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoPayload;

impl Payload for NoPayload {
    fn read(_: u8, _: Rd<'_>) -> Option<Self> {
        Some(NoPayload)
    }

    fn write(&self, _: u8, _: &mut Wr<'_>) {}

    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name}")
    }
}
