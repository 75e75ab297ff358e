//! `length` revision 0 (`xt_length.c`, `libxt_length`). No `checkentry`.
//!
//! ```text
//! struct xt_length_info { u16 min, max; u8 invert; } // 6
//! ```

use super::{bang, Rd, Wr};
use core::fmt;

/// `struct xt_length_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Length {
    /// Smallest IP packet length.
    pub min: u16,
    /// Largest IP packet length.
    pub max: u16,
    /// Non-zero inverts.
    pub invert: u8,
}

impl Length {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        Length {
            min: p.u16(0),
            max: p.u16(2),
            invert: p.u8(4),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.u16(0, self.min);
        w.u16(2, self.max);
        w.u8(4, self.invert);
    }

    /// `length_save()`.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m length")?;
        bang(out, self.invert != 0)?;
        if self.min == self.max {
            write!(out, " --length {}", self.min)
        } else {
            write!(out, " --length {}:{}", self.min, self.max)
        }
    }
}
