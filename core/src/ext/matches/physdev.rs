//! `physdev` revision 0 (`xt_physdev.c`, `libxt_physdev`).
//!
//! ```text
//! struct xt_physdev_info {
//!     char physindev[16], in_mask[16], physoutdev[16], out_mask[16]; u8 invert, bitmask;
//! }; // 66
//! ```

use super::{CheckCtx, Rd, Wr, OUT};
use crate::error::Errno;
use core::fmt;

/// `XT_PHYSDEV_OP_IN`.
const OP_IN: u8 = 0x01;
/// `XT_PHYSDEV_OP_OUT`.
const OP_OUT: u8 = 0x02;
/// `XT_PHYSDEV_OP_BRIDGED`.
const OP_BRIDGED: u8 = 0x04;
/// `XT_PHYSDEV_OP_ISIN`.
const OP_ISIN: u8 = 0x08;
/// `XT_PHYSDEV_OP_ISOUT`.
const OP_ISOUT: u8 = 0x10;
/// `XT_PHYSDEV_OP_MASK`.
const OP_MASK: u8 = 0x1F;

/// `physdev_mt_check`: at least one known option and nothing else; `--physdev-out` /
/// `--physdev-is-out` without a (non-inverted) `--physdev-is-bridged` cannot be decided in
/// OUTPUT, so a rule reachable from LOCAL_OUT is rejected.
pub(super) fn check(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    let (invert, bitmask) = (p.u8(64), p.u8(65));
    if bitmask & OP_MASK == 0 || bitmask & !OP_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    if bitmask & (OP_OUT | OP_ISOUT) != 0
        && (bitmask & OP_BRIDGED == 0 || invert & OP_BRIDGED != 0)
        && ctx.hook_mask & OUT != 0
    {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `struct xt_physdev_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Physdev {
    /// Bridge input port name (`+` suffix = prefix match).
    pub physindev: [u8; 16],
    /// Bytes of `physindev` that must match.
    pub in_mask: [u8; 16],
    /// Bridge output port name.
    pub physoutdev: [u8; 16],
    /// Bytes of `physoutdev` that must match.
    pub out_mask: [u8; 16],
    /// `XT_PHYSDEV_OP_*` inverted.
    pub invert: u8,
    /// `XT_PHYSDEV_OP_*` present.
    pub bitmask: u8,
}

impl Physdev {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        Physdev {
            physindev: super::arr(p.bytes(0, 16)),
            in_mask: super::arr(p.bytes(16, 16)),
            physoutdev: super::arr(p.bytes(32, 16)),
            out_mask: super::arr(p.bytes(48, 16)),
            invert: p.u8(64),
            bitmask: p.u8(65),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.put(0, &self.physindev);
        w.put(16, &self.in_mask);
        w.put(32, &self.physoutdev);
        w.put(48, &self.out_mask);
        w.u8(64, self.invert);
        w.u8(65, self.bitmask);
    }

    /// `physdev_save()`: is-in, in, is-out, out, is-bridged. Names print up to their NUL
    /// (iptables always writes one; a name filling all 16 bytes prints all 16 here).
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m physdev")?;
        let has = |op: u8| self.bitmask & op != 0;
        let inv = |op: u8| self.invert & op != 0;
        if has(OP_ISIN) {
            super::bang(out, inv(OP_ISIN))?;
            out.write_str(" --physdev-is-in")?;
        }
        if has(OP_IN) {
            super::bang(out, inv(OP_IN))?;
            out.write_str(" --physdev-in ")?;
            super::write_bytes(out, crate::uapi::cstr(&self.physindev))?;
        }
        if has(OP_ISOUT) {
            super::bang(out, inv(OP_ISOUT))?;
            out.write_str(" --physdev-is-out")?;
        }
        if has(OP_OUT) {
            super::bang(out, inv(OP_OUT))?;
            out.write_str(" --physdev-out ")?;
            super::write_bytes(out, crate::uapi::cstr(&self.physoutdev))?;
        }
        if has(OP_BRIDGED) {
            super::bang(out, inv(OP_BRIDGED))?;
            out.write_str(" --physdev-is-bridged")?;
        }
        Ok(())
    }
}
