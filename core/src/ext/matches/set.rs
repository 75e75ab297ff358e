//! `set` revisions 0 to 4 (`xt_set.c`, `libxt_set`).
//!
//! ```text
//! struct xt_set_info_v0 { u16 index; union { u32 flags[7]; struct { u32 __flags[6]; u8 dim, flags; } compat; } u; }
//! struct xt_set_info    { u16 index; u8 dim; u8 flags; }                           // rev 1, 2: 4
//! struct xt_set_info_match_v3 { xt_set_info match_set;
//!     struct ip_set_counter_match0 { u8 op; u64 value; } packets, bytes; u32 flags; } // 48
//! struct xt_set_info_match_v4 { xt_set_info match_set;
//!     struct ip_set_counter_match { u64 value; u8 op; } packets, bytes; u32 flags; }  // 48
//! ```
//!
//! The payload names the set only by its index in the namespace's ipset list; iptables-save
//! asks the kernel (`SO_IP_SET`) for the name. Without ipset state, [`Set::save`] prints the
//! index where iptables prints the name.

use super::{CheckCtx, Rd, Wr};
use crate::error::Errno;
use core::fmt;

/// `IPSET_INV_MATCH` (revision 1+ `flags`).
const INV_MATCH: u8 = 0x01;
/// `IPSET_RETURN_NOMATCH` (revision 2 `flags`).
const RETURN_NOMATCH: u8 = 0x80;
/// `IPSET_MATCH_INV` (revision 0 `flags[0]`).
const MATCH_INV_V0: u32 = 0x04;
/// `IPSET_SRC` (revision 0 per-dimension flag).
const SRC_V0: u32 = 0x01;
/// `IPSET_FLAG_SKIP_COUNTER_UPDATE`.
const FLAG_SKIP_COUNTER_UPDATE: u32 = 1 << 3;
/// `IPSET_FLAG_SKIP_SUBCOUNTER_UPDATE`.
const FLAG_SKIP_SUBCOUNTER_UPDATE: u32 = 1 << 4;
/// `IPSET_FLAG_RETURN_NOMATCH`.
const FLAG_RETURN_NOMATCH: u32 = 1 << 7;

/// `set_match_v*_checkentry`: the first thing they do is look the set up by index
/// (`ip_set_nfnl_get_byindex`). A fresh network namespace has no ipsets, and bpfilter keeps
/// none, so every revision answers ENOENT ("Cannot find set identified by id").
pub(super) fn check(_: &CheckCtx<'_>, _: &[u8]) -> Result<(), Errno> {
    Err(Errno::ENOENT)
}

/// A packet or byte counter comparison (revisions 3 and 4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetCounter {
    /// `IPSET_COUNTER_NONE` (0), `_EQ`, `_NE`, `_LT`, `_GT`.
    pub op: u8,
    /// Value compared with.
    pub value: u64,
}

/// `struct xt_set_info_match_v0..v4`, in one shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Set {
    /// Revision (0-4).
    pub revision: u8,
    /// Index of the set in the namespace's ipset list.
    pub index: u16,
    /// Revision 0: `u.flags[7]` (per-dimension `IPSET_SRC`/`IPSET_DST`, `IPSET_MATCH_INV`).
    pub flags_v0: [u32; 7],
    /// Revision 1+: number of dimensions.
    pub dim: u8,
    /// Revision 1+: bit `i` set = dimension `i` is the source; `IPSET_INV_MATCH`,
    /// `IPSET_RETURN_NOMATCH`.
    pub flags: u8,
    /// Revision 3+: packet counter comparison.
    pub packets: SetCounter,
    /// Revision 3+: byte counter comparison.
    pub bytes: SetCounter,
    /// Revision 3+: `IPSET_FLAG_*` command flags.
    pub cmd_flags: u32,
}

impl Set {
    pub(super) fn parse(revision: u8, p: Rd<'_>) -> Self {
        let mut flags_v0 = [0u32; 7];
        if revision == 0 {
            for (i, f) in (0usize..).zip(flags_v0.iter_mut()) {
                *f = p.u32(i.saturating_mul(4).saturating_add(4));
            }
        }
        let counter = |off: usize| match revision {
            3 => SetCounter {
                op: p.u8(off),
                value: p.u64(off.saturating_add(8)),
            },
            4 => SetCounter {
                value: p.u64(off),
                op: p.u8(off.saturating_add(8)),
            },
            _ => SetCounter::default(),
        };
        let v1 = revision != 0;
        Set {
            revision,
            index: p.u16(0),
            flags_v0,
            dim: if v1 { p.u8(2) } else { 0 },
            flags: if v1 { p.u8(3) } else { 0 },
            packets: counter(8),
            bytes: counter(24),
            cmd_flags: if revision >= 3 { p.u32(40) } else { 0 },
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.u16(0, self.index);
        if self.revision == 0 {
            for (i, f) in (0usize..).zip(self.flags_v0) {
                w.u32(i.saturating_mul(4).saturating_add(4), f);
            }
            return;
        }
        w.u8(2, self.dim);
        w.u8(3, self.flags);
        for (off, c) in [(8usize, self.packets), (24, self.bytes)] {
            if self.revision == 3 {
                w.u8(off, c.op);
                w.u64(off.saturating_add(8), c.value);
            } else if self.revision == 4 {
                w.u64(off, c.value);
                w.u8(off.saturating_add(8), c.op);
            }
        }
        if self.revision >= 3 {
            w.u32(40, self.cmd_flags);
        }
    }

    /// iptables-save: `-m set` and the options of revision 4, the one iptables 1.8.9 loads
    /// on this kernel; `[unsupported revision]` for revisions 0-3.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m set")?;
        if self.revision != 4 {
            return out.write_str(" [unsupported revision]");
        }
        self.save_options(out)
    }

    /// `set_save_v0..v4()`: what iptables prints when this revision is the one it uses
    /// (with the set's index where iptables prints its name).
    pub fn save_options(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        if self.revision == 0 {
            let inv = self.flags_v0[0] & MATCH_INV_V0 != 0;
            super::bang(out, inv)?;
            write!(out, " --match-set {}", self.index)?;
            let mut sep = " ";
            for f in self.flags_v0.iter().take(6).take_while(|f| **f != 0) {
                let dir = if f & SRC_V0 != 0 { "src" } else { "dst" };
                write!(out, "{sep}{dir}")?;
                sep = ",";
            }
            return Ok(());
        }
        super::bang(out, self.flags & INV_MATCH != 0)?;
        write!(out, " --match-set {}", self.index)?;
        let mut sep = " ";
        for i in 1..=u32::from(self.dim) {
            let src = 1u8.checked_shl(i).is_some_and(|b| self.flags & b != 0);
            write!(out, "{sep}{}", if src { "src" } else { "dst" })?;
            sep = ",";
        }
        if self.revision == 2 && self.flags & RETURN_NOMATCH != 0 {
            out.write_str(" --return-nomatch")?;
        }
        if self.revision >= 3 {
            if self.cmd_flags & FLAG_RETURN_NOMATCH != 0 {
                out.write_str(" --return-nomatch")?;
            }
            if self.cmd_flags & FLAG_SKIP_COUNTER_UPDATE != 0 {
                out.write_str(" ! --update-counters")?;
            }
            if self.cmd_flags & FLAG_SKIP_SUBCOUNTER_UPDATE != 0 {
                out.write_str(" ! --update-subcounters")?;
            }
            for (name, c) in [("packets", self.packets), ("bytes", self.bytes)] {
                match c.op {
                    1 => write!(out, " --{name}-eq {}", c.value)?,
                    2 => write!(out, " ! --{name}-eq {}", c.value)?,
                    3 => write!(out, " --{name}-lt {}", c.value)?,
                    4 => write!(out, " --{name}-gt {}", c.value)?,
                    _ => {}
                }
            }
        }
        Ok(())
    }
}
