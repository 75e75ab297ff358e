//! `string` revision 1 (`xt_string.c` and `lib/textsearch.c`): only `checkentry`.
//!
//! ```text
//! struct xt_string_info { u16 from_offset, to_offset; char algo[16]; char pattern[128];
//!     u8 patlen; union { struct { u8 invert; } v0; struct { u8 flags; } v1; } u;
//!     struct ts_config *config @152; };                                       // 160
//! ```

use super::{CheckCtx, Rd};
use crate::error::Errno;

/// `XT_STRING_FLAG_IGNORECASE | XT_STRING_FLAG_INVERT`.
const FLAGS: u8 = 0x03;
/// `XT_STRING_FLAG_IGNORECASE`.
const IGNORECASE: u8 = 0x02;
/// `XT_STRING_MAX_PATTERN_SIZE`.
const MAX_PATTERN: u8 = 128;
/// `TS_FSM_TYPE_MAX` (`TS_FSM_SPACE`).
const FSM_TYPE_MAX: u16 = 13;
/// `TS_FSM_RECUR_MAX` (= `TS_FSM_HEAD_IGNORE`; the recursion enum starts at
/// `TS_FSM_SINGLE` = 0, measured: 4 is the head-ignore value and 5 is rejected).
const FSM_RECUR_MAX: u8 = 4;
/// `TS_FSM_HEAD_IGNORE`.
const FSM_HEAD_IGNORE: u8 = 4;

/// `fsm_init()`: the pattern is an array of 4-byte `struct ts_fsm_token { u16 type; u8 recur;
/// u8 value; }`, no case folding, known types and recursions, HEAD_IGNORE only first and
/// not alone.
fn fsm_init(pattern: &[u8], ignorecase: bool) -> Result<(), Errno> {
    if !pattern.len().is_multiple_of(4) || pattern.len() < 4 || ignorecase {
        return Err(Errno::EINVAL);
    }
    let n = pattern.len() / 4;
    for (i, tok) in pattern.chunks_exact(4).enumerate() {
        let t = Rd(tok);
        let (ty, recur) = (t.u16(0), t.u8(2));
        if ty > FSM_TYPE_MAX || recur > FSM_RECUR_MAX {
            return Err(Errno::EINVAL);
        }
        if recur == FSM_HEAD_IGNORE && (i != 0 || i.saturating_add(1) == n) {
            return Err(Errno::EINVAL);
        }
    }
    Ok(())
}

/// `string_mt_check`, then `textsearch_prepare()`. All three algorithms are built in
/// (`CONFIG_TEXTSEARCH_{KMP,BM,FSM}=y`); `kmp` and `bm` accept any non-empty pattern.
pub(super) fn check(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    let (from, to) = (p.u16(0), p.u16(2));
    let patlen = p.u8(148);
    let flags = p.u8(149);
    if from > to {
        return Err(Errno::EINVAL);
    }
    if p.u8(4 + 15) != 0 {
        return Err(Errno::EINVAL);
    }
    if patlen > MAX_PATTERN {
        return Err(Errno::EINVAL);
    }
    if flags & !FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    if patlen == 0 {
        return Err(Errno::EINVAL);
    }
    let pattern = p.bytes(20, usize::from(patlen));
    match p.cstr(4, 16) {
        b"kmp" | b"bm" => Ok(()),
        b"fsm" => fsm_init(pattern, flags & IGNORECASE != 0),
        _ => Err(Errno::ENOENT),
    }
}
