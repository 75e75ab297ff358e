//! `mac` revision 0 (`xt_mac.c`, `libxt_mac`). No `checkentry`; hooks PREROUTING, INPUT and
//! FORWARD only.
//!
//! ```text
//! struct xt_mac_info { unsigned char srcaddr[6]; /* pad 2 */ int invert; } // 12
//! ```

use super::{bang, Rd, Wr};
use core::fmt;

/// `struct xt_mac_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mac {
    /// Ethernet source address.
    pub srcaddr: [u8; 6],
    /// Non-zero inverts.
    pub invert: i32,
}

impl Mac {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        Mac {
            srcaddr: super::arr(p.bytes(0, 6)),
            invert: p.i32(8),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.put(0, &self.srcaddr);
        w.i32(8, self.invert);
    }

    /// `mac_save()`: `xtables_print_mac()` prints two lower-case hex digits per byte.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m mac")?;
        bang(out, self.invert != 0)?;
        out.write_str(" --mac-source ")?;
        let mut sep = "";
        for b in self.srcaddr {
            write!(out, "{sep}{b:02x}")?;
            sep = ":";
        }
        Ok(())
    }
}
