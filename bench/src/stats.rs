//! Small statistics over per-round samples, and the shuffle.

/// Smallest value; `None` for no values.
pub fn min(xs: &[f64]) -> Option<f64> {
    xs.iter().copied().reduce(f64::min)
}

/// Median (mean of the middle two for an even count); `None` for no values.
pub fn median(xs: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    match v.len() {
        0 => None,
        n if n % 2 == 1 => v.get(mid).copied(),
        _ => Some((v.get(mid.checked_sub(1)?)? + v.get(mid)?) / 2.0),
    }
}

/// `a[r] - b[r]` for every round both have.
pub fn paired_diff(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

/// A distribution-free 95 % confidence interval of the median: the order statistics at ranks
/// `n/2 - 0.98 sqrt(n)` and `1 + n/2 + 0.98 sqrt(n)` (the binomial(n, 1/2) normal
/// approximation). `None` for fewer than 6 values, where it would span them all.
pub fn median_ci95(xs: &[f64]) -> Option<(f64, f64)> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 6 {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let half = 0.98 * n.sqrt();
    let rank = |r: f64| -> usize {
        // 1-based rank, clamped to 1..=n.
        let r = r.round().clamp(1.0, n);
        (r as usize).saturating_sub(1)
    };
    Some((
        *v.get(rank(n / 2.0 - half))?,
        *v.get(rank(1.0 + n / 2.0 + half))?,
    ))
}

/// xorshift64*: a seedable generator for the round order (no dependency, reproducible with
/// `--seed`).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator; a zero seed is replaced (xorshift never leaves 0).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-enough index below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        let n64 = u64::try_from(n).unwrap_or(u64::MAX).max(1);
        usize::try_from(self.next_u64() % n64).unwrap_or(0)
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i.saturating_add(1));
            v.swap(i, j);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    #[test]
    fn median_and_min() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(min(&[4.0, 1.5, 3.0]), Some(1.5));
    }

    #[test]
    fn pairing_is_per_round() {
        assert_eq!(
            paired_diff(&[10.0, 20.0, 30.0], &[1.0, 2.0]),
            vec![9.0, 18.0]
        );
    }

    #[test]
    fn median_interval_is_made_of_order_statistics() {
        assert_eq!(median_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0]), None);
        // n = 10: ranks round(5 - 3.10) = 2 and round(6 + 3.10) = 9.
        let ten: Vec<f64> = (1..=10).rev().map(f64::from).collect();
        assert_eq!(median_ci95(&ten), Some((2.0, 9.0)));
        // n = 100: ranks 40 and 61.
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(median_ci95(&hundred), Some((40.0, 61.0)));
    }

    #[test]
    fn shuffle_is_a_permutation_and_seeded() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        Rng::new(7).shuffle(&mut a);
        Rng::new(7).shuffle(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, (0..50).collect::<Vec<_>>());
        a.sort_unstable();
        assert_eq!(a, (0..50).collect::<Vec<_>>());
    }
}
