//! `xt_limit`'s token bucket, with the caller's clock in jiffies.
//!
//! ```text
//! checkentry:  prev = jiffies; credit = user2credits(avg * burst)
//!              if cost == 0 { credit_cap = credit; cost = user2credits(avg) }
//! match:       if credit < cost && prev == jiffies: false (fast path, nothing changes)
//!              credit += (jiffies - prev) * CREDITS_PER_JIFFY; prev = jiffies
//!              credit = min(credit, credit_cap)
//!              credit >= cost ? (credit -= cost, true) : false
//! ```
//! All of it in the kernel's integer widths: `u32` credits (the increase is truncated to 32
//! bits, the sum wraps), `unsigned long` jiffies. `cost` and `credit_cap` come from the payload
//! when it carries a nonzero `cost` (iptables sends zeros, so the kernel computes them).

/// `XT_LIMIT_SCALE`.
const SCALE: u32 = 10_000;

/// The user-supplied part of `struct xt_rateinfo` the bucket starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct RateInfo {
    /// Average period, in 1/`XT_LIMIT_SCALE` seconds.
    pub avg: u32,
    /// Burst.
    pub burst: u32,
    /// `credit_cap` as stored in the payload (used only when `cost` is nonzero).
    pub credit_cap: u32,
    /// `cost` as stored in the payload (0: computed by `checkentry`).
    pub cost: u32,
}

/// The kernel's `CREDITS_PER_JIFFY` for `hz`: the power of two at or below
/// `0xFFFFFFFF / (HZ*60*60*24)` (`POW2_BELOW32`, which for an exact power of two gives it).
pub(super) fn credits_per_jiffy(hz: u32) -> u32 {
    let day = u64::from(hz).saturating_mul(86_400).max(1);
    let max_cpj = u64::from(u32::MAX).checked_div(day).unwrap_or(0);
    let max_cpj = u32::try_from(max_cpj).unwrap_or(0);
    if max_cpj == 0 {
        // POW2_BELOW32(0) = (0 >> 1) + 1 = 1.
        return 1;
    }
    1u32.checked_shl(31u32.saturating_sub(max_cpj.leading_zeros()))
        .unwrap_or(1)
}

/// `user2credits()`: divide first when multiplying would overflow (the product then wraps in
/// 32 bits, as in C).
pub(super) fn user2credits(user: u32, hz: u32) -> u32 {
    let hz_cpj = hz.wrapping_mul(credits_per_jiffy(hz));
    let limit = u32::MAX.checked_div(hz_cpj).unwrap_or(u32::MAX);
    if user > limit {
        user.checked_div(SCALE).unwrap_or(0).wrapping_mul(hz_cpj)
    } else {
        user.wrapping_mul(hz_cpj).checked_div(SCALE).unwrap_or(0)
    }
}

/// One rule's `xt_limit_priv` plus the cost and cap `checkentry` settled on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// `priv->prev`: jiffies of the last refill.
    pub prev: u64,
    /// `priv->credit`.
    pub credit: u32,
    /// `r->credit_cap`.
    pub credit_cap: u32,
    /// `r->cost`.
    pub cost: u32,
    /// `CREDITS_PER_JIFFY`.
    cpj: u32,
}

impl Bucket {
    /// `limit_mt_check()` at jiffies `now`.
    pub(super) fn new(r: RateInfo, now: u64, hz: u32) -> Bucket {
        let credit = user2credits(r.avg.wrapping_mul(r.burst), hz);
        let (credit_cap, cost) = if r.cost == 0 {
            (credit, user2credits(r.avg, hz))
        } else {
            (r.credit_cap, r.cost)
        };
        Bucket {
            prev: now,
            credit,
            credit_cap,
            cost,
            cpj: credits_per_jiffy(hz),
        }
    }

    /// `limit_mt()` at jiffies `now`.
    pub(super) fn take(&mut self, now: u64) -> bool {
        if self.credit < self.cost && self.prev == now {
            return false;
        }
        let elapsed = now.wrapping_sub(self.prev);
        self.prev = now;
        // `u32 credit_increase += unsigned long`: the product is truncated to 32 bits.
        let inc = elapsed.wrapping_mul(u64::from(self.cpj)).to_le_bytes();
        let inc = u32::from_le_bytes([inc[0], inc[1], inc[2], inc[3]]);
        let mut credit = self.credit.wrapping_add(inc);
        if credit > self.credit_cap {
            credit = self.credit_cap;
        }
        let ok = credit >= self.cost;
        if ok {
            credit = credit.wrapping_sub(self.cost);
        }
        self.credit = credit;
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_constants_for_hz_250() {
        // MAX_CPJ = 0xFFFFFFFF / 21600000 = 198 -> 128.
        assert_eq!(credits_per_jiffy(250), 128);
        assert_eq!(credits_per_jiffy(1000), 32);
        assert_eq!(credits_per_jiffy(100), 256);
        // 1/sec: avg = 10000 -> 10000 * 32000 / 10000.
        assert_eq!(user2credits(10_000, 250), 32_000);
        // Above 0xFFFFFFFF / 32000 = 134217 the division comes first.
        assert_eq!(user2credits(864_000_000, 250), 86_400 * 32_000);
    }

    #[test]
    fn burst_then_refill() {
        // 1/sec, burst 2.
        let r = RateInfo {
            avg: 10_000,
            burst: 2,
            credit_cap: 0,
            cost: 0,
        };
        let mut b = Bucket::new(r, 1000, 250);
        assert!(b.take(1000));
        assert!(b.take(1000));
        assert!(!b.take(1000));
        // 249 jiffies refill 249*128 < 32000.
        assert!(!b.take(1249));
        assert!(b.take(1250));
    }
}
