//! `MARK` (`net/netfilter/xt_mark.c`) and `CONNMARK` (`net/netfilter/xt_connmark.c`).
//!
//! Since the 2024 "xtables: avoid NFPROTO_UNSPEC where needed" change both are registered per
//! family, so an unknown revision is ENOENT, not EPROTOTYPE. Only `MARK` revision 2 exists
//! (`xt_mark_tginfo2 {mark, mask}`), and `CONNMARK` revisions 1 and 2:
//!
//! ```text
//! xt_connmark_tginfo1 (16): ctmark u32 @0, ctmask u32 @4, nfmask u32 @8, mode u8 @12, pad
//! xt_connmark_tginfo2 (16): ctmark, ctmask, nfmask, shift_dir u8 @12, shift_bits u8 @13,
//!                           mode u8 @14, pad
//! ```

use super::wire::{Rd, Wr};
use super::Payload;
use crate::error::Errno;
use crate::ext::{check_none, CheckCtx, ExtDesc, Family, Kind};
use core::fmt;

/// `MARK` revision 2.
pub const MARK: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "MARK",
    revision: 2,
    family: Family::Ipv4,
    size: 8,
    usersize: 0,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_none,
};

/// `CONNMARK` revision 1.
pub const CONNMARK_V1: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "CONNMARK",
    revision: 1,
    family: Family::Ipv4,
    size: 16,
    usersize: 0,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_connmark_v1,
};

/// `CONNMARK` revision 2 (adds the shift).
pub const CONNMARK_V2: ExtDesc = ExtDesc {
    check: check_connmark_v2,
    revision: 2,
    ..CONNMARK_V1
};

/// `connmark_tg_check`: only `nf_ct_netns_get`, which succeeds in a fresh namespace (it
/// enables conntrack there). `mode` is not checked: an unknown mode does nothing at runtime.
fn check_connmark_v1(_: &CheckCtx<'_>, _: &[u8]) -> Result<(), Errno> {
    Ok(())
}

/// `D_SHIFT_RIGHT`, the largest valid `shift_dir`.
const D_SHIFT_RIGHT: u8 = 1;

/// `connmark_tg_check_v2`.
fn check_connmark_v2(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let r = Rd(p);
    if r.u8(12) > D_SHIFT_RIGHT || r.u8(13) >= 32 {
        return Err(Errno::EINVAL);
    }
    check_connmark_v1(ctx, p)
}

/// `struct xt_mark_tginfo2`: `mark = (mark & ~mask) ^ value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// The value XORed in.
    pub mark: u32,
    /// The bits cleared first.
    pub mask: u32,
}

impl Payload for Mark {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Mark {
            mark: r.u32(0),
            mask: r.u32(4),
        })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.u32(0, self.mark);
        w.u32(4, self.mask);
    }

    /// `mark_tg_save` (libxt_MARK.c, revision 2).
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(
            out,
            "-j {name} --set-xmark {:#x}/{:#x}",
            self.mark, self.mask
        )
    }
}

/// `XT_CONNMARK_SET`.
pub const XT_CONNMARK_SET: u8 = 0;
/// `XT_CONNMARK_SAVE`.
pub const XT_CONNMARK_SAVE: u8 = 1;
/// `XT_CONNMARK_RESTORE`.
pub const XT_CONNMARK_RESTORE: u8 = 2;

/// `struct xt_connmark_tginfo1` / `xt_connmark_tginfo2` (revision 1 has no shift; it reads
/// back as `shift_dir = shift_bits = 0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connmark {
    /// Conntrack mark value.
    pub ctmark: u32,
    /// Conntrack mark mask.
    pub ctmask: u32,
    /// Packet mark mask.
    pub nfmask: u32,
    /// `D_SHIFT_LEFT` (0) or `D_SHIFT_RIGHT` (1); revision 2 only.
    pub shift_dir: u8,
    /// Shift count (< 32); revision 2 only.
    pub shift_bits: u8,
    /// `XT_CONNMARK_*`.
    pub mode: u8,
}

impl Payload for Connmark {
    fn read(rev: u8, r: Rd<'_>) -> Option<Self> {
        let (shift_dir, shift_bits, mode) = match rev {
            1 => (0, 0, r.u8(12)),
            _ => (r.u8(12), r.u8(13), r.u8(14)),
        };
        Some(Connmark {
            ctmark: r.u32(0),
            ctmask: r.u32(4),
            nfmask: r.u32(8),
            shift_dir,
            shift_bits,
            mode,
        })
    }

    fn write(&self, rev: u8, w: &mut Wr<'_>) {
        w.u32(0, self.ctmark);
        w.u32(4, self.ctmask);
        w.u32(8, self.nfmask);
        if rev == 1 {
            w.u8(12, self.mode);
        } else {
            w.u8(12, self.shift_dir);
            w.u8(13, self.shift_bits);
            w.u8(14, self.mode);
        }
    }

    /// `connmark_tg_save_v2` (iptables-save only uses revision 2 on this kernel).
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name}")?;
        match self.mode {
            XT_CONNMARK_SET => write!(out, " --set-xmark {:#x}/{:#x}", self.ctmark, self.ctmask)?,
            XT_CONNMARK_SAVE => write!(
                out,
                " --save-mark --nfmask {:#x} --ctmask {:#x}",
                self.nfmask, self.ctmask
            )?,
            XT_CONNMARK_RESTORE => write!(
                out,
                " --restore-mark --nfmask {:#x} --ctmask {:#x}",
                self.nfmask, self.ctmask
            )?,
            _ => out.write_str(" ERROR: UNKNOWN CONNMARK MODE")?,
        }
        if self.mode <= XT_CONNMARK_RESTORE && self.shift_bits != 0 {
            // iptables indexes its two-name table with shift_dir unchecked.
            let op = match self.shift_dir {
                0 => "left-shift-mark",
                1 => "right-shift-mark",
                _ => return Err(fmt::Error),
            };
            write!(out, " --{op} {}", self.shift_bits)?;
        }
        Ok(())
    }
}
