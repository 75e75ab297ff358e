//! `addrtype` revisions 0 and 1 (`xt_addrtype.c`, `libxt_addrtype`). Both are registered
//! for IPv4 on this kernel.
//!
//! ```text
//! struct xt_addrtype_info    { u16 source, dest; u32 invert_source, invert_dest; } // 12
//! struct xt_addrtype_info_v1 { u16 source, dest; u32 flags; }                      // 8
//! ```
//! `source`/`dest` are bit masks of `1 << RTN_*`.

use super::{bang, CheckCtx, Rd, Wr, IN, OUT, POST, PRE};
use crate::error::Errno;
use core::fmt;

/// `XT_ADDRTYPE_INVERT_SOURCE`.
const INVERT_SOURCE: u32 = 0x1;
/// `XT_ADDRTYPE_INVERT_DEST`.
const INVERT_DEST: u32 = 0x2;
/// `XT_ADDRTYPE_LIMIT_IFACE_IN`.
const LIMIT_IFACE_IN: u32 = 0x4;
/// `XT_ADDRTYPE_LIMIT_IFACE_OUT`.
const LIMIT_IFACE_OUT: u32 = 0x8;

/// `addrtype_mt_checkentry_v1` (the IPv6-only checks do not apply to IPv4): at most one
/// interface limit, and only one the hooks can provide.
pub(super) fn check_v1(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let flags = Rd(p).u32(4);
    if flags & LIMIT_IFACE_IN != 0 && flags & LIMIT_IFACE_OUT != 0 {
        return Err(Errno::EINVAL);
    }
    if ctx.hook_mask & (PRE | IN) != 0 && flags & LIMIT_IFACE_OUT != 0 {
        return Err(Errno::EINVAL);
    }
    if ctx.hook_mask & (POST | OUT) != 0 && flags & LIMIT_IFACE_IN != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// libxt_addrtype's `rtn_names`, indexed by `RTN_*`.
const RTN_NAMES: [&str; 12] = [
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
];

/// `print_types()`: names of the set bits, comma-separated (bits 12-15 have no name).
fn print_types(out: &mut dyn fmt::Write, mask: u16) -> fmt::Result {
    let mut sep = "";
    for (bit, name) in (0u32..).zip(RTN_NAMES) {
        if 1u16.checked_shl(bit).is_some_and(|b| mask & b != 0) {
            write!(out, "{sep}{name}")?;
            sep = ",";
        }
    }
    Ok(())
}

/// `struct xt_addrtype_info` (revision 0) or `_v1`, in one shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addrtype {
    /// Revision (0 or 1).
    pub revision: u8,
    /// Source address types.
    pub source: u16,
    /// Destination address types.
    pub dest: u16,
    /// Revision 0: `invert_source`. Revision 1: `flags` (`XT_ADDRTYPE_*`).
    pub flags: u32,
    /// Revision 0: `invert_dest`. Unused (0) in revision 1.
    pub invert_dest: u32,
}

impl Addrtype {
    pub(super) fn parse(revision: u8, p: Rd<'_>) -> Self {
        Addrtype {
            revision,
            source: p.u16(0),
            dest: p.u16(2),
            flags: p.u32(4),
            invert_dest: if revision == 0 { p.u32(8) } else { 0 },
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.u16(0, self.source);
        w.u16(2, self.dest);
        w.u32(4, self.flags);
        if self.revision == 0 {
            w.u32(8, self.invert_dest);
        }
    }

    /// iptables-save: `-m addrtype` and the options; for revision 0 iptables 1.8.9 prints
    /// `[unsupported revision]` (it only loads revision 1, the best this kernel has).
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m addrtype")?;
        if self.revision != 1 {
            return out.write_str(" [unsupported revision]");
        }
        self.save_options(out)
    }

    /// `addrtype_save_v0()` / `addrtype_save_v1()`: what iptables prints when this revision
    /// is the one it uses.
    pub fn save_options(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let (inv_src, inv_dst) = if self.revision == 0 {
            (self.flags != 0, self.invert_dest != 0)
        } else {
            (
                self.flags & INVERT_SOURCE != 0,
                self.flags & INVERT_DEST != 0,
            )
        };
        if self.source != 0 {
            bang(out, inv_src)?;
            out.write_str(" --src-type ")?;
            print_types(out, self.source)?;
        }
        if self.dest != 0 {
            bang(out, inv_dst)?;
            out.write_str(" --dst-type ")?;
            print_types(out, self.dest)?;
        }
        if self.revision != 0 {
            if self.flags & LIMIT_IFACE_IN != 0 {
                out.write_str(" --limit-iface-in")?;
            }
            if self.flags & LIMIT_IFACE_OUT != 0 {
                out.write_str(" --limit-iface-out")?;
            }
        }
        Ok(())
    }
}
