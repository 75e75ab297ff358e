//! The `checkentry` of the matches that have no typed value, one function per extension,
//! each named after the kernel function it reproduces. Payload layouts are given as
//! `field @offset` (x86_64).

use super::{edom, CheckCtx, Rd, FWD, IN, OUT, POST, PRE};
use super::{IPPROTO_L2TP, IPPROTO_TCP, IPPROTO_UDP};
use crate::error::Errno;
use crate::uapi::IPT_INV_PROTO;

/// `Err(EINVAL)` when `bad`.
fn einval_if(bad: bool) -> Result<(), Errno> {
    if bad {
        Err(Errno::EINVAL)
    } else {
        Ok(())
    }
}

/// `ah_mt_check` (`ipt_ah`: `u32 spis[2]; u8 invflags @8`): only `IPT_AH_INV_SPI`.
pub(super) fn check_ah(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    einval_if(Rd(p).u8(8) & !0x01 != 0)
}

/// `esp_mt_check` (`xt_esp`: `u32 spis[2]; u8 invflags @8`): only `XT_ESP_INV_SPI`.
pub(super) fn check_esp(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    einval_if(Rd(p).u8(8) & !0x01 != 0)
}

/// `comp_mt_check` (`xt_ipcomp`: `u32 spis[2]; u8 invflags @8; u8 hdrres`): only
/// `XT_IPCOMP_INV_SPI`.
pub(super) fn check_ipcomp(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    einval_if(Rd(p).u8(8) & !0x01 != 0)
}

/// `xt_cluster_mt_checkentry` (`u32 total_nodes @0, node_mask @4, hash_seed, flags`): at most
/// 32 nodes (EINVAL), and a node mask within them (EDOM).
pub(super) fn check_cluster(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    let (total, mask) = (p.u32(0), p.u32(4));
    if total > 32 {
        return Err(Errno::EINVAL);
    }
    if u64::from(mask) >= 1u64.checked_shl(total).unwrap_or(0) {
        return Err(edom());
    }
    Ok(())
}

/// `connbytes_mt_check` (`u64 from, to; u8 what @16; u8 direction @17`): what is
/// packets/bytes/avgpkt, direction original/reply/both. (It then force-enables conntrack
/// accounting: a side effect, not an error.)
pub(super) fn check_connbytes(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    einval_if(p.u8(16) > 2 || p.u8(17) > 2)
}

/// `connlabel_mt_check` (`u16 bit @0; u16 options @2`): known options (EINVAL); then
/// `nf_connlabels_get()` takes labels up to bit 127 (`BIT_WORD(bit) >= 2` → ERANGE).
pub(super) fn check_connlabel(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    if p.u16(2) & !0x03 != 0 {
        return Err(Errno::EINVAL);
    }
    if p.u16(0) >= 128 {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

/// `cpu_mt_check` (`u32 cpu; u32 invert @4`): invert is 0 or 1.
pub(super) fn check_cpu(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    einval_if(Rd(p).u32(4) & !1 != 0)
}

/// `dccp_mt_check` (`u16 dpts[2], spts[2]; u16 flags @8, invflags @10, typemask; u8 option`):
/// known flags, and only present options inverted.
pub(super) fn check_dccp(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    let (flags, inv) = (p.u16(8), p.u16(10));
    einval_if(flags & !0x0F != 0 || inv & !0x0F != 0 || inv & !flags != 0)
}

/// `devgroup_mt_checkentry` (`u32 flags @0, src_group, src_mask, dst_group, dst_mask`):
/// known flags; a source group only where there is an input device (PRE, IN, FWD), a
/// destination group only where there is an output device (FWD, OUT, POST).
pub(super) fn check_devgroup(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    const MATCH_SRC: u32 = 0x1;
    const MATCH_DST: u32 = 0x4;
    let flags = Rd(p).u32(0);
    einval_if(
        flags & !0x0F != 0
            || (flags & MATCH_SRC != 0 && ctx.hook_mask & !(PRE | IN | FWD) != 0)
            || (flags & MATCH_DST != 0 && ctx.hook_mask & !(FWD | OUT | POST) != 0),
    )
}

/// `dscp_mt_check` (`u8 dscp; u8 invert`): DSCP is 6 bits; larger is EDOM.
pub(super) fn check_dscp(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    if Rd(p).u8(0) > 0x3F {
        return Err(edom());
    }
    Ok(())
}

/// `ecn_mt_check4` (`u8 operation, invert, ip_ect`): known operations and inversions
/// (`XT_ECN_OP_MATCH_MASK` 0xce is the set of unknown bits); ECE/CWR need `-p tcp`.
pub(super) fn check_ecn(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    const UNKNOWN: u8 = 0xCE;
    const TCP_BITS: u8 = 0x30;
    let p = Rd(p);
    let (op, inv) = (p.u8(0), p.u8(1));
    einval_if(
        op & UNKNOWN != 0
            || inv & UNKNOWN != 0
            || (op & TCP_BITS != 0
                && (ctx.ip.proto.get() != IPPROTO_TCP || ctx.ip.invflags & IPT_INV_PROTO != 0)),
    )
}

/// `l2tp_mt_check4` (`u32 tid, sid; u8 version @8, type @9, flags @10`).
pub(super) fn check_l2tp(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    const TID: u8 = 0x1;
    const SID: u8 = 0x2;
    const VERSION: u8 = 0x4;
    const TYPE: u8 = 0x8;
    const TYPE_CONTROL: u8 = 0;
    let p = Rd(p);
    let (tid, sid, version, ty, flags) = (p.u32(0), p.u32(4), p.u8(8), p.u8(9), p.u8(10));
    // l2tp_mt_check: known flags; at least one of tid, sid or type=control.
    if flags & !(TID | SID | VERSION | TYPE) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & (TID | SID) == 0 && (flags & TYPE == 0 || ty != TYPE_CONTROL) {
        return Err(Errno::EINVAL);
    }
    if flags & VERSION != 0 {
        if !(2..=3).contains(&version) {
            return Err(Errno::EINVAL);
        }
        if version == 2
            && ((flags & TID != 0 && tid > 0xFFFF) || (flags & SID != 0 && sid > 0xFFFF))
        {
            return Err(Errno::EINVAL);
        }
    }
    // The IPv4 half: UDP or L2TP/IP (inversion is not looked at), and no v2 over IP. The
    // version test reads the field even when `--pversion` was not given.
    let proto = ctx.ip.proto.get();
    einval_if(
        (proto != IPPROTO_UDP && proto != IPPROTO_L2TP) || (proto == IPPROTO_L2TP && version == 2),
    )
}

/// `nfacct_mt_checkentry`: looks the named accounting object up (`nfnl_acct_find_get`). A
/// fresh namespace has none and bpfilter creates none: always ENOENT.
pub(super) fn check_nfacct(_: &CheckCtx<'_>, _: &[u8]) -> Result<(), Errno> {
    Err(Errno::ENOENT)
}

/// `policy_mt_check` (`struct xt_policy_elem pol[4]; u16 flags @304; u16 len @306`): a
/// direction is given, fits the hooks, at most 4 elements.
pub(super) fn check_policy(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    const MATCH_IN: u16 = 0x1;
    const MATCH_OUT: u16 = 0x2;
    let p = Rd(p);
    let (flags, len) = (p.u16(304), p.u16(306));
    einval_if(
        flags & (MATCH_IN | MATCH_OUT) == 0
            || (ctx.hook_mask & (PRE | IN) != 0 && flags & MATCH_OUT != 0)
            || (ctx.hook_mask & (POST | OUT) != 0 && flags & MATCH_IN != 0)
            || len > 4,
    )
}

/// `quota_mt_check` (`u32 flags @0; u32 pad; u64 quota; master @16`): only `XT_QUOTA_INVERT`.
pub(super) fn check_quota(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    einval_if(Rd(p).u32(0) & !0x1 != 0)
}

/// `xt_rateest_mt_checkentry` (`char name1[16], name2[16]; u16 flags @32, mode @34; ...`):
/// exactly one of ABS/REL, at least one of BPS/PPS, a known mode (EINVAL); then the named
/// estimators must exist (ENOENT). Modelled: no estimator exists. (A `RATEEST` target
/// earlier in the same blob would create one; that cross-entry state is not modelled.)
pub(super) fn check_rateest(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    const ABS: u16 = 1 << 1;
    const REL: u16 = 1 << 2;
    const BPS: u16 = 1 << 4;
    const PPS: u16 = 1 << 5;
    let p = Rd(p);
    let (flags, mode) = (p.u16(32), p.u16(34));
    if (flags & (ABS | REL)).count_ones() != 1 || flags & (BPS | PPS) == 0 {
        return Err(Errno::EINVAL);
    }
    if !(1..=3).contains(&mode) {
        return Err(Errno::EINVAL);
    }
    Err(Errno::ENOENT)
}

/// `rpfilter_check` (`u8 flags`): known options, and only in the `raw` or `mangle` table.
pub(super) fn check_rpfilter(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    const OPTION_MASK: u8 = 0x0F;
    einval_if(Rd(p).u8(0) & !OPTION_MASK != 0 || !matches!(ctx.table, b"mangle" | b"raw"))
}

/// `sctp_mt_check` (`u32 chunk_match_type @264; ...; int flag_count @280; u32 flags @284,
/// invflags @288`).
pub(super) fn check_sctp(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    const VALID: u32 = 0x07;
    const CHUNK_TYPES: u32 = 0x04;
    let p = Rd(p);
    let (match_type, flag_count) = (p.u32(264), p.u32(280));
    let (flags, inv) = (p.u32(284), p.u32(288));
    // flag_count is an int compared with ARRAY_SIZE(): a negative count is huge.
    if flag_count > 4 || flags & !VALID != 0 || inv & !VALID != 0 || inv & !flags != 0 {
        return Err(Errno::EINVAL);
    }
    einval_if(flags & CHUNK_TYPES != 0 && match_type & 0x07 == 0)
}

/// `socket_mt_v1_check`: `XT_SOCKET_TRANSPARENT` only. (Enabling IPv4 defrag first cannot
/// fail.)
pub(super) fn check_socket_v1(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    einval_if(Rd(p).u8(0) & !0x1 != 0)
}

/// `socket_mt_v2_check`: TRANSPARENT | NOWILDCARD.
pub(super) fn check_socket_v2(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    einval_if(Rd(p).u8(0) & !0x3 != 0)
}

/// `socket_mt_v3_check`: TRANSPARENT | NOWILDCARD | RESTORESKMARK.
pub(super) fn check_socket_v3(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    einval_if(Rd(p).u8(0) & !0x7 != 0)
}

/// `statistic_mt_check` (`u16 mode @0, flags @2`): mode random (0) or nth (1), flags only
/// `XT_STATISTIC_INVERT`.
pub(super) fn check_statistic(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    einval_if(p.u16(0) > 1 || p.u16(2) & !0x1 != 0)
}

/// `time_mt_check` (`u32 date_start, date_stop, daytime_start @8, daytime_stop @12,
/// monthdays_match; u8 weekdays_match, flags @21`): day times within a day (EDOM), known
/// flags, and `--contiguous` only for a range that wraps midnight.
pub(super) fn check_time(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    const MAX_DAYTIME: u32 = 24 * 60 * 60 - 1;
    const CONTIGUOUS: u8 = 0x2;
    let p = Rd(p);
    let (start, stop, flags) = (p.u32(8), p.u32(12), p.u8(21));
    if start > MAX_DAYTIME || stop > MAX_DAYTIME {
        return Err(edom());
    }
    einval_if(flags & !0x3 != 0 || (flags & CONTIGUOUS != 0 && start < stop))
}

/// `u32_mt_checkentry` (`struct xt_u32_test tests[11]` of 180 bytes with `u8 nnums @176,
/// nvalues @177`; `u8 ntests @1980`): counts within their arrays.
pub(super) fn check_u32(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    let ntests = usize::from(p.u8(1980));
    if ntests > 11 {
        return Err(Errno::EINVAL);
    }
    for i in 0..ntests {
        let base = i.saturating_mul(180);
        if p.u8(base.saturating_add(176)) > 11 || p.u8(base.saturating_add(177)) > 11 {
            return Err(Errno::EINVAL);
        }
    }
    Ok(())
}
