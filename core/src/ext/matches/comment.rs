//! `comment` revision 0 (`xt_comment.c`, `libxt_comment`): 256 bytes of text, no check.

use super::{save_string, Rd, Wr};
use alloc::vec::Vec;
use core::fmt;

/// `XT_MAX_COMMENT_LEN`.
const LEN: usize = 256;

/// `struct xt_comment_info { char comment[256]; }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// The whole 256-byte field (the kernel does not require a NUL).
    pub comment: Vec<u8>,
}

impl Comment {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        Comment {
            comment: p.bytes(0, LEN).to_vec(),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.put(0, self.comment.get(..LEN).unwrap_or(&self.comment));
    }

    /// The text up to its first NUL.
    pub fn text(&self) -> &[u8] {
        crate::uapi::cstr(&self.comment)
    }

    /// `comment_save()`: `--comment` and the text through `xtables_save_string()`. iptables
    /// first forces the last byte to NUL, so a 256-byte comment prints as its first 255.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m comment --comment")?;
        let field = self.comment.get(..LEN - 1).unwrap_or(&self.comment);
        save_string(out, crate::uapi::cstr(field))
    }
}
