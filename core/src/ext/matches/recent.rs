//! `recent` revisions 0 and 1 (`xt_recent.c`): only `checkentry`.
//!
//! ```text
//! struct xt_recent_mtinfo { u32 seconds, hit_count; u8 check_set, invert; char name[200];
//!                           u8 side; };                                              // 212
//! struct xt_recent_mtinfo_v1 { ...same...; union nf_inet_addr mask @212; }           // 228
//! ```

use super::{check_proc_name, CheckCtx, Rd};
use crate::error::Errno;

/// `XT_RECENT_CHECK | SET | UPDATE | REMOVE`: exactly one of them.
const COMMANDS: u8 = 0x0F;
/// `XT_RECENT_SET | XT_RECENT_REMOVE`.
const SET_OR_REMOVE: u8 = 0x0A;
/// `XT_RECENT_TTL | XT_RECENT_REAP`.
const MODIFIERS: u8 = 0x30;
/// `XT_RECENT_REAP`.
const REAP: u8 = 0x20;
/// `XT_RECENT_VALID_FLAGS`.
const VALID: u8 = 0x3F;
/// `XT_RECENT_MAX_NSTAMPS` on this kernel. Older sources have 256; the running kernel
/// accepts hit counts up to 65535 and rejects 65536 (measured).
const MAX_NSTAMPS: u32 = 65_536;

/// `recent_mt_check` (both revisions share it; revision 0 gets an all-ones mask). Finding or
/// creating the named list afterwards only fails on OOM.
fn check(p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    let (seconds, hit_count, check_set) = (p.u32(0), p.u32(4), p.u8(8));
    if check_set & !VALID != 0 {
        return Err(Errno::EINVAL);
    }
    if (check_set & COMMANDS).count_ones() != 1 {
        return Err(Errno::EINVAL);
    }
    if check_set & SET_OR_REMOVE != 0
        && (seconds != 0 || hit_count != 0 || check_set & MODIFIERS != 0)
    {
        return Err(Errno::EINVAL);
    }
    if check_set & REAP != 0 && seconds == 0 {
        return Err(Errno::EINVAL);
    }
    if hit_count >= MAX_NSTAMPS {
        return Err(Errno::EINVAL);
    }
    check_proc_name(p.bytes(10, 200))
}

/// `recent_mt_check_v0`.
pub(super) fn check_v0(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    check(p)
}

/// `recent_mt_check_v1`.
pub(super) fn check_v1(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    check(p)
}
