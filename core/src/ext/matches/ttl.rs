//! `ttl` revision 0 (`xt_hl.c`, `libipt_ttl`). No `checkentry`: an unknown mode simply never
//! matches.
//!
//! ```text
//! struct ipt_ttl_info { u8 mode; u8 ttl; } // 2
//! ```

use super::{Rd, Wr};
use core::fmt;

/// `struct ipt_ttl_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ttl {
    /// `IPT_TTL_EQ` (0), `_NE` (1), `_LT` (2), `_GT` (3).
    pub mode: u8,
    /// The TTL to compare with.
    pub ttl: u8,
}

impl Ttl {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        Ttl {
            mode: p.u8(0),
            ttl: p.u8(1),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.u8(0, self.mode);
        w.u8(1, self.ttl);
    }

    /// `ttl_save()`: an unknown mode prints only the value.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m ttl")?;
        match self.mode {
            0 => out.write_str(" --ttl-eq")?,
            1 => out.write_str(" ! --ttl-eq")?,
            2 => out.write_str(" --ttl-lt")?,
            3 => out.write_str(" --ttl-gt")?,
            _ => {}
        }
        write!(out, " {}", self.ttl)
    }
}
