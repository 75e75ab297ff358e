//! The security-label targets: `SECMARK` (`net/netfilter/xt_SECMARK.c`, revisions 0 and 1)
//! and `CONNSECMARK` (`xt_CONNSECMARK.c`). Both work only in the `mangle` and `security`
//! tables, checked by the checkentry (EINVAL), not by the descriptor.
//!
//! ```text
//! xt_secmark_target_info    (264): mode u8 @0, pad, secid u32 @4, secctx [256] @8
//! xt_secmark_target_info_v1 (264): mode u8 @0, secctx [256] @1, pad, secid u32 @260
//! xt_connsecmark_target_info (1):  mode u8
//! ```

use super::wire::{Rd, Wr};
use super::Payload;
use crate::error::Errno;
use crate::ext::{CheckCtx, ExtDesc, Family, Kind};
use core::fmt;

/// `SECMARK` revision 0.
pub const SECMARK_V0: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "SECMARK",
    revision: 0,
    family: Family::Ipv4,
    size: 264,
    usersize: 0,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_secmark,
};

/// `SECMARK` revision 1 (`usersize` stops before the kernel-filled `secid`).
pub const SECMARK_V1: ExtDesc = ExtDesc {
    revision: 1,
    usersize: 260,
    ..SECMARK_V0
};

/// `CONNSECMARK` revision 0.
pub const CONNSECMARK: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "CONNSECMARK",
    revision: 0,
    family: Family::Ipv4,
    size: 1,
    usersize: 0,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_connsecmark,
};

/// `SECMARK_MODE_SEL` (SELinux), the only mode.
pub const SECMARK_MODE_SEL: u8 = 0x01;
/// `CONNSECMARK_SAVE`.
pub const CONNSECMARK_SAVE: u8 = 1;
/// `CONNSECMARK_RESTORE`.
pub const CONNSECMARK_RESTORE: u8 = 2;

/// Both targets' table test: `mangle` or `security`.
fn secmark_table(ctx: &CheckCtx<'_>) -> Result<(), Errno> {
    if ctx.table != b"mangle" && ctx.table != b"security" {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `secmark_tg_check` (both revisions). The module-global "mode already set" test never
/// fires here because a mode is only recorded after a successful check. No LSM that maps
/// security contexts is active on this kernel (`CONFIG_LSM` lacks selinux), so
/// `security_secctx_to_secid` leaves the secid 0 and the check ends in ENOENT ("unable to
/// map security context"): no SECMARK rule can be installed.
fn check_secmark(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    secmark_table(ctx)?;
    if Rd(p).u8(0) != SECMARK_MODE_SEL {
        return Err(Errno::EINVAL);
    }
    Err(Errno::ENOENT)
}

/// `connsecmark_tg_check`; `nf_ct_netns_get` succeeds in a fresh namespace.
fn check_connsecmark(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    secmark_table(ctx)?;
    match Rd(p).u8(0) {
        CONNSECMARK_SAVE | CONNSECMARK_RESTORE => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// `struct xt_secmark_target_info` / `_v1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secmark {
    /// `SECMARK_MODE_*`.
    pub mode: u8,
    /// Kernel-filled security id (zero from userspace).
    pub secid: u32,
    /// Security context string field, verbatim.
    pub secctx: [u8; 256],
}

impl Payload for Secmark {
    fn read(rev: u8, r: Rd<'_>) -> Option<Self> {
        let (secid, ctx_off) = if rev == 0 {
            (r.u32(4), 8)
        } else {
            (r.u32(260), 1)
        };
        Some(Secmark {
            mode: r.u8(0),
            secid,
            secctx: r.arr(ctx_off),
        })
    }

    fn write(&self, rev: u8, w: &mut Wr<'_>) {
        w.u8(0, self.mode);
        if rev == 0 {
            w.u32(4, self.secid);
            w.put(8, &self.secctx);
        } else {
            w.put(1, &self.secctx);
            w.u32(260, self.secid);
        }
    }

    /// `SECMARK_save` (revision 1): `--selctx CONTEXT` for the SELinux mode; iptables
    /// aborts on any other mode.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        if self.mode != SECMARK_MODE_SEL {
            return Err(fmt::Error);
        }
        write!(out, "-j {name} --selctx ")?;
        super::wire::write_bytes(out, crate::uapi::cstr(&self.secctx))
    }
}

/// `struct xt_connsecmark_target_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connsecmark {
    /// `CONNSECMARK_SAVE` or `CONNSECMARK_RESTORE`.
    pub mode: u8,
}

impl Payload for Connsecmark {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Connsecmark { mode: r.u8(0) })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.u8(0, self.mode);
    }

    /// `CONNSECMARK_save`; iptables aborts on an unknown mode.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        match self.mode {
            CONNSECMARK_SAVE => write!(out, "-j {name} --save"),
            CONNSECMARK_RESTORE => write!(out, "-j {name} --restore"),
            _ => Err(fmt::Error),
        }
    }
}
