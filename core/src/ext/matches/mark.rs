//! `mark` revision 1 (`xt_mark.c`, `libxt_mark`). No `checkentry`.
//!
//! ```text
//! struct xt_mark_mtinfo1 { u32 mark, mask; u8 invert; } // 12
//! ```

use super::{bang, Rd, Wr};
use core::fmt;

/// `struct xt_mark_mtinfo1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    /// Value to compare with `skb->mark & mask`.
    pub mark: u32,
    /// Mask.
    pub mask: u32,
    /// Non-zero inverts.
    pub invert: u8,
}

impl Mark {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        Mark {
            mark: p.u32(0),
            mask: p.u32(4),
            invert: p.u8(8),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.u32(0, self.mark);
        w.u32(4, self.mask);
        w.u8(8, self.invert);
    }

    /// `mark_mt_save()`: `0xMARK` or `0xMARK/0xMASK` when the mask is not all ones.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m mark")?;
        bang(out, self.invert != 0)?;
        write!(out, " --mark {:#x}", self.mark)?;
        if self.mask != u32::MAX {
            write!(out, "/{:#x}", self.mask)?;
        }
        Ok(())
    }
}
