//! `hashlimit` revisions 1-3 (`xt_hashlimit.c`): only `checkentry` (no typed value).
//!
//! ```text
//! rev 1: char name[16];  struct hashlimit_cfg1 { u32 mode, avg, burst, size, max, gc_interval,
//!        expire; u8 srcmask, dstmask; } cfg @16;  hinfo @48 (usersize 48)       // 56
//! rev 2: char name[255]; struct hashlimit_cfg2 { u64 avg, burst; u32 mode, size, max,
//!        gc_interval, expire; u8 srcmask, dstmask; } cfg @256; hinfo @296       // 304
//! rev 3: char name[255]; struct hashlimit_cfg3 { u64 avg, burst; u32 mode, size, max,
//!        gc_interval, expire, interval; u8 srcmask, dstmask; } cfg @256; hinfo @304 // 312
//! ```

use super::limit::pow2_below;
use super::{check_proc_name, CheckCtx, Rd, HZ};
use crate::error::Errno;

/// `HASHLIMIT_MAX_SIZE`: `size` and `max` above it are clamped (not an error).
pub(super) const HASHLIMIT_MAX_SIZE: u32 = 1_048_576;

/// `XT_HASHLIMIT_ALL`: HASH_DIP | HASH_DPT | HASH_SIP | HASH_SPT | INVERT | BYTES | RATE_MATCH.
const MODE_ALL: u32 = 0x7F;
/// `XT_HASHLIMIT_BYTES`.
const MODE_BYTES: u32 = 0x20;
/// `XT_HASHLIMIT_RATE_MATCH`.
const MODE_RATE_MATCH: u32 = 0x40;

/// `XT_HASHLIMIT_SCALE` (revision 1).
const SCALE_V1: u64 = 10_000;
/// `XT_HASHLIMIT_SCALE_v2`.
const SCALE_V2: u64 = 1_000_000;
/// `CREDITS_PER_JIFFY_v1 = POW2_BELOW32(0xFFFFFFFF / (HZ*60*60*24))`.
const CPJ_V1: u64 = pow2_below(0xFFFF_FFFF / (HZ * 60 * 60 * 24));
/// `CREDITS_PER_JIFFY = POW2_BELOW64(0xFFFFFFFFFFFFFFFF / (HZ*60*60*24))`.
const CPJ_V2: u64 = pow2_below(u64::MAX / (HZ * 60 * 60 * 24));
/// `CREDITS_PER_JIFFY_BYTES = POW2_BELOW32(0xFFFFFFFF / HZ)`.
const CPJ_BYTES: u64 = pow2_below(0xFFFF_FFFF / HZ);

/// The configuration the checks look at, widened to `hashlimit_cfg3` (`cfg_copy`).
struct Cfg {
    avg: u64,
    burst: u64,
    mode: u32,
    gc_interval: u32,
    expire: u32,
    interval: u32,
    srcmask: u8,
    dstmask: u8,
}

/// `user2credits()`: u64 arithmetic that wraps like the kernel's. Both revisions have
/// `HZ * cpj > scale`, so it is `user * (HZ * cpj / scale)`.
fn user2credits(user: u64, revision: u8) -> u64 {
    let (scale, cpj) = if revision == 1 {
        (SCALE_V1, CPJ_V1)
    } else {
        (SCALE_V2, CPJ_V2)
    };
    let hz_cpj = HZ.wrapping_mul(cpj);
    if scale >= hz_cpj {
        user.checked_div(scale.checked_div(hz_cpj).unwrap_or(0))
            .unwrap_or(0)
    } else {
        user.wrapping_mul(hz_cpj.checked_div(scale).unwrap_or(0))
    }
}

/// `user2credits_byte()`: the kernel passes the u64 `avg` into a `u32` parameter.
fn user2credits_byte(avg: u64) -> u32 {
    let user = avg & 0xFFFF_FFFF;
    let us = user.wrapping_mul(HZ.wrapping_mul(CPJ_BYTES));
    u32::try_from(us >> 32).unwrap_or(u32::MAX)
}

/// `hashlimit_mt_check_common()` for an IPv4 rule. Creating or finding the per-namespace
/// hash table afterwards only fails on OOM, with one exception this per-entry check cannot
/// see: on 6.18 a rule whose name already belongs to a table (of the old ruleset or of an
/// earlier rule in the same blob) with the other RATE_MATCH setting fails with EINVAL
/// (measured: RATE_MATCH then plain, in either order, in one blob → EINVAL).
fn check_common(cfg: &Cfg, revision: u8) -> Result<(), Errno> {
    if cfg.gc_interval == 0 || cfg.expire == 0 {
        return Err(Errno::EINVAL);
    }
    if cfg.srcmask > 32 || cfg.dstmask > 32 {
        return Err(Errno::EINVAL);
    }
    if cfg.mode & !MODE_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    // Measured on 6.18 (not in older sources): RATE_MATCH is a revision-3 mode; revisions
    // 1 and 2 reject it with EINVAL before the rate checks below.
    if revision < 3 && cfg.mode & MODE_RATE_MATCH != 0 {
        return Err(Errno::EINVAL);
    }
    if revision >= 3 && cfg.mode & MODE_RATE_MATCH != 0 {
        if cfg.avg == 0 || cfg.avg > u64::from(u32::MAX) {
            return Err(Errno::ERANGE);
        }
        if cfg.interval == 0 {
            return Err(Errno::EINVAL);
        }
    } else if cfg.mode & MODE_BYTES != 0 {
        if user2credits_byte(cfg.avg) == 0 {
            return Err(Errno::EINVAL);
        }
    } else if cfg.burst == 0
        || user2credits(cfg.avg.wrapping_mul(cfg.burst), revision) < user2credits(cfg.avg, revision)
    {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

/// `hashlimit_mt_check_v1`: the 16-byte name must be a valid /proc file name.
pub(super) fn check_v1(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    check_proc_name(p.bytes(0, 16))?;
    let cfg = Cfg {
        mode: p.u32(16),
        avg: u64::from(p.u32(20)),
        burst: u64::from(p.u32(24)),
        gc_interval: p.u32(36),
        expire: p.u32(40),
        interval: 0,
        srcmask: p.u8(44),
        dstmask: p.u8(45),
    };
    check_common(&cfg, 1)
}

/// `hashlimit_mt_check_v2`: 255-byte name, `hashlimit_cfg2`.
pub(super) fn check_v2(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    check_proc_name(p.bytes(0, 255))?;
    let cfg = Cfg {
        avg: p.u64(256),
        burst: p.u64(264),
        mode: p.u32(272),
        gc_interval: p.u32(284),
        expire: p.u32(288),
        interval: 0,
        srcmask: p.u8(292),
        dstmask: p.u8(293),
    };
    check_common(&cfg, 2)
}

/// `hashlimit_mt_check`: 255-byte name, `hashlimit_cfg3`.
pub(super) fn check_v3(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    check_proc_name(p.bytes(0, 255))?;
    let cfg = Cfg {
        avg: p.u64(256),
        burst: p.u64(264),
        mode: p.u32(272),
        gc_interval: p.u32(284),
        expire: p.u32(288),
        interval: p.u32(292),
        srcmask: p.u8(296),
        dstmask: p.u8(297),
    };
    check_common(&cfg, 3)
}
