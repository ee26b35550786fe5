//! The NTT of a polynomial in `X^s`: for `p(X) = q(X^s)` with `q` of degree below
//! `M = N/s`, the negacyclic NTT of size `N` is the size-`M` NTT of `q`, each value repeated
//! `s` times in a row.
//!
//! Why: `tfhe-ntt`'s forward transform (Longa–Naehrig's, bit-reversed output) leaves at
//! position `j` the value `p(ψ^(2·br_N(j) + 1))`, and `p(ψ^e) = q(ζ^e)` with `ζ = ψ^s` of order
//! `2M`, so only `e mod 2M` matters: `2·(br_N(j) mod M) + 1`, where `br_N(j) mod M` is
//! `br_M(j / s)`. The size-`M` transform with root `ζ` uses the twiddles `ζ^br_M(k) =
//! ψ^br_N(k)`, the first `M` of the size-`N` table. So the matrix products' plaintexts, which
//! [`crate::he_product::encoding`] places at multiples of `s`, cost one transform of `M`
//! values (64 for Network-A's shapes) instead of a transform of `N = 8192` (that transform
//! was two fifths of a matrix triple's CPU, issue 28), and a product with one needs one
//! multiplier per run of `s` residues ([`StridedPlain`], [`super::accumulator`]). Tested
//! against `tfhe-ntt`.

use tfhe_ntt::prime32::Plan;

use super::params::pow_mod;

/// Above this `M`, the size-`N` transform of `tfhe-ntt` (vectorised) beats the scalar one here.
pub const SMALL_LIMIT: usize = 512;

/// The twiddles of one prime: `ψ^br_N(k)` for `k < N`, `ψ` the `2N`-th root `tfhe-ntt`'s plan
/// uses, with Shoup's companions.
pub struct StridedNtt {
    q: u32,
    twiddles: Vec<u32>,
    shoup: Vec<u32>,
}

impl StridedNtt {
    /// The tables for `plan`'s prime `q` and degree.
    pub fn new(plan: &Plan, q: u32) -> StridedNtt {
        let n = plan.ntt_size();
        // The transform of X holds ψ^(2·br(0) + 1) = ψ at position 0.
        let mut x = vec![0u32; n];
        x[1] = 1;
        plan.fwd(&mut x);
        let psi = u64::from(x[0]);
        let bits = n.trailing_zeros();
        let twiddles: Vec<u32> = (0..n)
            .map(|k| {
                let reversed = if bits == 0 {
                    0
                } else {
                    k.reverse_bits() >> (usize::BITS - bits)
                };
                pow_mod(psi, reversed as u64, u64::from(q)) as u32
            })
            .collect();
        let shoup = twiddles
            .iter()
            .map(|&w| ((u64::from(w) << 32) / u64::from(q)) as u32)
            .collect();
        StridedNtt { q, twiddles, shoup }
    }

    /// The NTT of `q(X^s)`, `s = N / values.len()`, as its `M = values.len()` distinct values
    /// (in place of `q`'s coefficients): position `j` of the size-`N` transform holds
    /// `values[j / s]`. `M` must be a power of two dividing `N`; `plan` is the prime's size-`N`
    /// plan (for large `M`).
    pub fn forward(&self, plan: &Plan, values: &mut [u32]) {
        let (n, m) = (plan.ntt_size(), values.len());
        debug_assert!(m.is_power_of_two() && n.is_multiple_of(m));
        if m <= SMALL_LIMIT {
            self.small_forward(values);
            return;
        }
        let s = n / m;
        let mut spread = vec![0u32; n];
        for (at, &v) in spread.iter_mut().step_by(s).zip(values.iter()) {
            *at = v;
        }
        plan.fwd(&mut spread);
        for (v, &x) in values.iter_mut().zip(spread.iter().step_by(s)) {
            *v = x;
        }
    }

    /// Longa–Naehrig's forward transform of size `values.len()` in place, with the first
    /// twiddles of the table (Shoup products, every value kept in `[0, q)`).
    fn small_forward(&self, values: &mut [u32]) {
        let (m, q) = (values.len(), self.q);
        let (mut groups, mut half) = (1, m / 2);
        while groups < m {
            let twiddles = self.twiddles[groups..2 * groups].iter();
            let shoup = self.shoup[groups..2 * groups].iter();
            for ((group, &w), &w_shoup) in
                values.chunks_exact_mut(2 * half).zip(twiddles).zip(shoup)
            {
                let (low, high) = group.split_at_mut(half);
                for (a, b) in low.iter_mut().zip(high.iter_mut()) {
                    let estimate = ((u64::from(*b) * u64::from(w_shoup)) >> 32) as u32;
                    let t = b.wrapping_mul(w).wrapping_sub(estimate.wrapping_mul(q));
                    let t = t.min(t.wrapping_sub(q));
                    let (sum, difference) = (*a + t, a.wrapping_sub(t));
                    *a = sum.min(sum.wrapping_sub(q));
                    *b = difference.min(difference.wrapping_add(q));
                }
            }
            groups *= 2;
            half /= 2;
        }
    }
}

/// A plaintext `q(X^s)` in the NTT domain, as its `M` distinct values per limb with Shoup's
/// companions: what a product with a ciphertext needs ([`super::accumulator`]).
pub struct StridedPlain {
    /// `s`: each value covers a run of `s` consecutive NTT positions.
    pub stride: usize,
    /// Per limb, the `M` values.
    pub values: Vec<Vec<u32>>,
    /// Per limb, `floor(value·2^32 / q)`.
    pub shoup: Vec<Vec<u32>>,
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    use crate::rlwe::basis;

    /// Against `tfhe-ntt`'s transform of the spread-out polynomial, for every prime of both
    /// bases, every `M` from 1 to `N`, random and extreme coefficients.
    #[test]
    fn strided_transforms_equal_the_full_transform_of_the_spread_polynomial() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for basis in [basis::matrix(), basis::simd()] {
            let n = basis.degree();
            for (i, &q) in basis.primes().iter().enumerate() {
                let plan = &basis.plans()[i];
                for m in (0..=n.trailing_zeros()).map(|b| 1usize << b) {
                    for fill in ["random", "q - 1", "one"] {
                        let values: Vec<u32> = (0..m)
                            .map(|_| match fill {
                                "random" => rng.random_range(0..q),
                                "q - 1" => q - 1,
                                _ => 1,
                            })
                            .collect();
                        let mut spread = vec![0u32; n];
                        for (k, &v) in values.iter().enumerate() {
                            spread[k * (n / m)] = v;
                        }
                        plan.fwd(&mut spread);
                        let mut transformed = values.clone();
                        basis.strided(i).forward(plan, &mut transformed);
                        let out: Vec<u32> = (0..n).map(|j| transformed[j / (n / m)]).collect();
                        assert_eq!(out, spread, "q = {q}, M = {m}, {fill}");
                    }
                }
            }
        }
    }
}
