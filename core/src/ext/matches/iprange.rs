//! `iprange` revision 1 (`xt_iprange.c`, `libxt_iprange`). No `checkentry`.
//!
//! ```text
//! struct xt_iprange_mtinfo { nf_inet_addr src_min, src_max, dst_min, dst_max; u8 flags; } // 68
//! ```
//! IPv4 uses the first 4 bytes of each 16-byte address; the rest is kept as it came.

use super::{bang, write_ipv4, Rd, Wr};
use core::fmt;

/// `IPRANGE_SRC`.
const SRC: u8 = 0x01;
/// `IPRANGE_DST`.
const DST: u8 = 0x02;
/// `IPRANGE_SRC_INV`.
const SRC_INV: u8 = 0x10;
/// `IPRANGE_DST_INV`.
const DST_INV: u8 = 0x20;

/// `struct xt_iprange_mtinfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Iprange {
    /// Lowest source address (network order, `union nf_inet_addr`).
    pub src_min: [u8; 16],
    /// Highest source address.
    pub src_max: [u8; 16],
    /// Lowest destination address.
    pub dst_min: [u8; 16],
    /// Highest destination address.
    pub dst_max: [u8; 16],
    /// `IPRANGE_*`.
    pub flags: u8,
}

impl Iprange {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        Iprange {
            src_min: super::arr(p.bytes(0, 16)),
            src_max: super::arr(p.bytes(16, 16)),
            dst_min: super::arr(p.bytes(32, 16)),
            dst_max: super::arr(p.bytes(48, 16)),
            flags: p.u8(64),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.put(0, &self.src_min);
        w.put(16, &self.src_max);
        w.put(32, &self.dst_min);
        w.put(48, &self.dst_max);
        w.u8(64, self.flags);
    }

    /// `iprange_mt4_save()`.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m iprange")?;
        if self.flags & SRC != 0 {
            bang(out, self.flags & SRC_INV != 0)?;
            out.write_str(" --src-range ")?;
            write_ipv4(out, &self.src_min)?;
            out.write_str("-")?;
            write_ipv4(out, &self.src_max)?;
        }
        if self.flags & DST != 0 {
            bang(out, self.flags & DST_INV != 0)?;
            out.write_str(" --dst-range ")?;
            write_ipv4(out, &self.dst_min)?;
            out.write_str("-")?;
            write_ipv4(out, &self.dst_max)?;
        }
        Ok(())
    }
}
