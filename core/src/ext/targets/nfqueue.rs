//! `NFQUEUE` (`net/netfilter/xt_NFQUEUE.c`), family-independent (UNSPEC), four revisions:
//!
//! ```text
//! rev 0  xt_NFQ_info     (2): queuenum u16
//! rev 1  xt_NFQ_info_v1  (4): queuenum u16, queues_total u16
//! rev 2  xt_NFQ_info_v2  (6): queuenum, queues_total, bypass u16
//! rev 3  xt_NFQ_info_v3  (6): queuenum, queues_total, flags u16 (NFQ_FLAG_*)
//! ```

use super::wire::{Rd, Wr};
use super::Payload;
use crate::error::Errno;
use crate::ext::{check_none, CheckCtx, ExtDesc, Family, Kind};
use core::fmt;

/// `NFQUEUE` revision 0: no checkentry.
pub const NFQUEUE_V0: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "NFQUEUE",
    revision: 0,
    family: Family::Unspec,
    size: 2,
    usersize: 0,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_none,
};

/// `NFQUEUE` revision 1 (queue balancing).
pub const NFQUEUE_V1: ExtDesc = ExtDesc {
    revision: 1,
    size: 4,
    check: check_nfqueue,
    ..NFQUEUE_V0
};

/// `NFQUEUE` revision 2 (bypass).
pub const NFQUEUE_V2: ExtDesc = ExtDesc {
    revision: 2,
    size: 6,
    check: check_nfqueue_v2,
    ..NFQUEUE_V0
};

/// `NFQUEUE` revision 3 (flags: bypass, cpu fanout).
pub const NFQUEUE_V3: ExtDesc = ExtDesc {
    revision: 3,
    size: 6,
    check: check_nfqueue_v3,
    ..NFQUEUE_V0
};

/// `NFQ_FLAG_BYPASS`.
pub const NFQ_FLAG_BYPASS: u16 = 0x01;
/// `NFQ_FLAG_CPU_FANOUT`.
pub const NFQ_FLAG_CPU_FANOUT: u16 = 0x02;
/// `NFQ_FLAG_MASK`.
const NFQ_FLAG_MASK: u16 = 0x03;

/// The shared part of `nfqueue_tg_check` (revisions 1..3 all use it; it reads the payload
/// as `xt_NFQ_info_v3` and looks at `flags` only for revisions 2 and 3).
fn check_nfqueue(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let r = Rd(p);
    let queuenum = u32::from(r.u16(0));
    let total = u32::from(r.u16(2));
    if total == 0 {
        return Err(Errno::EINVAL);
    }
    // maxid = queues_total - 1 + queuenum, in u32: cannot overflow for u16 inputs.
    let maxid = total.saturating_sub(1).saturating_add(queuenum);
    if maxid > 0xffff {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

/// Revision 2: the `bypass` field must be 0 or 1.
fn check_nfqueue_v2(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    check_nfqueue(ctx, p)?;
    if Rd(p).u16(4) > 1 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Revision 3: only `NFQ_FLAG_MASK` bits.
fn check_nfqueue_v3(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    check_nfqueue(ctx, p)?;
    if Rd(p).u16(4) & !NFQ_FLAG_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Any `NFQUEUE` revision. Fields a revision lacks read back as `queues_total = 1`,
/// `flags = 0` (what the kernel assumes for them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nfqueue {
    /// First queue number.
    pub queuenum: u16,
    /// Number of queues to balance over (revision >= 1).
    pub queues_total: u16,
    /// Revision 2: the `bypass` field; revision 3: `NFQ_FLAG_*`.
    pub flags: u16,
}

impl Payload for Nfqueue {
    fn read(rev: u8, r: Rd<'_>) -> Option<Self> {
        Some(Nfqueue {
            queuenum: r.u16(0),
            queues_total: if rev >= 1 { r.u16(2) } else { 1 },
            flags: if rev >= 2 { r.u16(4) } else { 0 },
        })
    }

    fn write(&self, rev: u8, w: &mut Wr<'_>) {
        w.u16(0, self.queuenum);
        if rev >= 1 {
            w.u16(2, self.queues_total);
        }
        if rev >= 2 {
            w.u16(4, self.flags);
        }
    }

    /// `NFQUEUE_save_v3` (iptables-save only uses revision 3 on this kernel).
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name}")?;
        let first = u32::from(self.queuenum);
        let total = u32::from(self.queues_total);
        if total > 1 {
            let last = total.saturating_add(first).saturating_sub(1);
            write!(out, " --queue-balance {first}:{last}")?;
        } else {
            write!(out, " --queue-num {first}")?;
        }
        if self.flags & NFQ_FLAG_BYPASS != 0 {
            out.write_str(" --queue-bypass")?;
        }
        if self.flags & NFQ_FLAG_CPU_FANOUT != 0 {
            out.write_str(" --queue-cpu-fanout")?;
        }
        Ok(())
    }
}
