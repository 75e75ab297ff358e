//! `owner` revision 1 (`xt_owner.c`, `libxt_owner`): LOCAL_OUT and POST_ROUTING only.
//!
//! ```text
//! struct xt_owner_match_info { u32 uid_min, uid_max, gid_min, gid_max; u8 match, invert; } // 20
//! ```

use super::{bang, CheckCtx, Rd, Wr};
use crate::error::Errno;
use core::fmt;

/// `XT_OWNER_UID`.
const UID: u8 = 0x01;
/// `XT_OWNER_GID`.
const GID: u8 = 0x02;
/// `XT_OWNER_SOCKET`.
const SOCKET: u8 = 0x04;
/// `XT_OWNER_SUPPL_GROUPS`.
const SUPPL_GROUPS: u8 = 0x08;
/// `XT_OWNER_MASK`.
const MASK: u8 = UID | GID | SOCKET | SUPPL_GROUPS;

/// `owner_check`. Modelled environment: the writer is in the network namespace's own user
/// namespace (so the "userns must match" rule passes) and that namespace maps ids 1:1 like
/// the initial one, so the only unmappable id is `(u32)-1`.
pub(super) fn check(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    let matched = p.u8(16);
    if matched & !MASK != 0 {
        return Err(Errno::EINVAL);
    }
    let valid_range = |min: u32, max: u32| min != u32::MAX && max != u32::MAX && max >= min;
    if matched & UID != 0 && !valid_range(p.u32(0), p.u32(4)) {
        return Err(Errno::EINVAL);
    }
    if matched & GID != 0 && !valid_range(p.u32(8), p.u32(12)) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `struct xt_owner_match_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    /// Socket owner fsuid range.
    pub uid: [u32; 2],
    /// Socket owner fsgid range.
    pub gid: [u32; 2],
    /// `XT_OWNER_*` present.
    pub match_flags: u8,
    /// `XT_OWNER_*` inverted.
    pub invert: u8,
}

impl Owner {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        Owner {
            uid: [p.u32(0), p.u32(4)],
            gid: [p.u32(8), p.u32(12)],
            match_flags: p.u8(16),
            invert: p.u8(17),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.u32(0, self.uid[0]);
        w.u32(4, self.uid[1]);
        w.u32(8, self.gid[0]);
        w.u32(12, self.gid[1]);
        w.u8(16, self.match_flags);
        w.u8(17, self.invert);
    }

    /// `owner_mt_save()`: socket-exists, uid, gid (numeric), then `--suppl-groups` (all
    /// invertible).
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m owner")?;
        let has = |f: u8| self.match_flags & f != 0;
        let inv = |f: u8| self.invert & f != 0;
        if has(SOCKET) {
            bang(out, inv(SOCKET))?;
            out.write_str(" --socket-exists")?;
        }
        for (flag, opt, [min, max]) in [(UID, "uid", self.uid), (GID, "gid", self.gid)] {
            if has(flag) {
                bang(out, inv(flag))?;
                if min == max {
                    write!(out, " --{opt}-owner {min}")?;
                } else {
                    write!(out, " --{opt}-owner {min}-{max}")?;
                }
            }
        }
        if has(SUPPL_GROUPS) {
            bang(out, inv(SUPPL_GROUPS))?;
            out.write_str(" --suppl-groups")?;
        }
        Ok(())
    }
}
