//! A tiny deterministic PRNG (splitmix64): identical output on every platform.

/// splitmix64 generator state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Rng(u64);

impl Rng {
    /// An independent stream for item `index` of purpose `salt` under `seed`.
    pub(super) fn stream(seed: u64, salt: u64, index: u64) -> Rng {
        let base = Rng(seed ^ salt.rotate_left(29)).next_u64();
        let mut r = Rng(base ^ index.wrapping_mul(0xd1b5_4a32_d192_ed03));
        Rng(r.next_u64())
    }

    /// Next 64 random bits.
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A positive gap averaging `mean`: uniform in `[mean/2, 3*mean/2]`, at least 1.
    pub(super) fn gap(&mut self, mean: u64) -> u64 {
        (mean / 2)
            .saturating_add(self.below(mean.saturating_add(1)))
            .max(1)
    }
}
