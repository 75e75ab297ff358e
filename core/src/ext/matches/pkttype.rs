//! `pkttype` revision 0 (`xt_pkttype.c`, `libxt_pkttype`). No `checkentry`.
//!
//! ```text
//! struct xt_pkttype_info { int pkttype; int invert; } // 8
//! ```

use super::{bang, Rd, Wr};
use core::fmt;

/// `struct xt_pkttype_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pkttype {
    /// `PACKET_HOST` (0), `_BROADCAST` (1), `_MULTICAST` (2), `_OTHERHOST` (3), ...
    pub pkttype: i32,
    /// Non-zero inverts.
    pub invert: i32,
}

impl Pkttype {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        Pkttype {
            pkttype: p.i32(0),
            invert: p.i32(4),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.i32(0, self.pkttype);
        w.i32(4, self.invert);
    }

    /// `pkttype_save()`: the first name in iptables' table with that value (`PACKET_HOST`
    /// prints as `unicast`), else the number.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m pkttype")?;
        bang(out, self.invert != 0)?;
        out.write_str(" --pkt-type ")?;
        match self.pkttype {
            0 => out.write_str("unicast"),
            1 => out.write_str("broadcast"),
            2 => out.write_str("multicast"),
            3 => out.write_str("otherhost"),
            n => write!(out, "{n}"),
        }
    }
}
