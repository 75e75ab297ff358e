//! `limit` revision 0 (`xt_limit.c`, `libxt_limit`).
//!
//! ```text
//! struct xt_rateinfo {
//!     u32 avg;    /* period between packets, seconds * XT_LIMIT_SCALE */
//!     u32 burst;
//!     /* kernel private from here on (usersize = 8): */
//!     unsigned long prev; u32 credit; u32 credit_cap, cost; struct xt_limit_priv *master;
//! }; // 40
//! ```

use super::{CheckCtx, Rd, Wr, HZ};
use crate::error::Errno;
use core::fmt;

/// `XT_LIMIT_SCALE`.
const SCALE: u32 = 10_000;
/// `MAX_CPJ = 0xFFFFFFFF / (HZ*60*60*24)`.
const MAX_CPJ: u64 = 0xFFFF_FFFF / (HZ * 60 * 60 * 24);
/// `CREDITS_PER_JIFFY = POW2_BELOW32(MAX_CPJ)`: the largest power of two <= `MAX_CPJ`.
const CREDITS_PER_JIFFY: u64 = pow2_below(MAX_CPJ);
/// `HZ * CREDITS_PER_JIFFY` as the kernel's `unsigned int` arithmetic sees it.
const HZ_CPJ: u32 = 32_000;
const _: () = assert!(HZ * CREDITS_PER_JIFFY == 32_000);

/// `POW2_BELOW32/64(x)`: the largest power of two that is <= `x` (x > 0).
pub(super) const fn pow2_below(x: u64) -> u64 {
    match 1u64.checked_shl(63u32.saturating_sub(x.leading_zeros())) {
        Some(v) if x != 0 => v,
        _ => 0,
    }
}

/// `user2credits()` in `unsigned int` arithmetic, wrapping like C.
fn user2credits(user: u32) -> u32 {
    if user > u32::MAX / HZ_CPJ {
        // "If multiplying would overflow... divide first" (and then it may still wrap).
        (user / SCALE).wrapping_mul(HZ_CPJ)
    } else {
        user.wrapping_mul(HZ_CPJ) / SCALE
    }
}

/// `limit_mt_check`: a zero burst, or an `avg * burst` that overflows the credit
/// computation, is ERANGE ("Overflow, try lower").
pub(super) fn check(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    let (avg, burst) = (p.u32(0), p.u32(4));
    if burst == 0 || user2credits(avg.wrapping_mul(burst)) < user2credits(avg) {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

/// The user-visible part of `struct xt_rateinfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Average period between packets in units of 1/10000 s (`XT_LIMIT_SCALE`).
    pub avg: u32,
    /// Burst size.
    pub burst: u32,
}

/// libxt_limit's `rates[]`: unit name and its length in 1/10000 s.
const RATES: [(&str, u32); 4] = [
    DAY,
    ("hour", SCALE * 60 * 60),
    ("min", SCALE * 60),
    ("sec", SCALE),
];

/// The first entry of [`RATES`].
const DAY: (&str, u32) = ("day", SCALE * 24 * 60 * 60);

/// `print_rate()`: the largest unit that still divides into a whole number, `inf` for 0.
fn print_rate(out: &mut dyn fmt::Write, period: u32) -> fmt::Result {
    if period == 0 {
        return out.write_str(" inf");
    }
    let (mut name, mut mult) = DAY;
    for &(n, m) in RATES.iter().skip(1) {
        let (q, r) = (m.checked_div(period), m.checked_rem(period));
        if period > m || q < r {
            break;
        }
        (name, mult) = (n, m);
    }
    write!(out, " {}/{name}", mult.checked_div(period).unwrap_or(0))
}

impl Limit {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        Limit {
            avg: p.u32(0),
            burst: p.u32(4),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.u32(0, self.avg);
        w.u32(4, self.burst);
    }

    /// `limit_save()`: the burst only when it is not the default 5.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m limit --limit")?;
        print_rate(out, self.avg)?;
        if self.burst != 5 {
            write!(out, " --limit-burst {}", self.burst)?;
        }
        Ok(())
    }
}
