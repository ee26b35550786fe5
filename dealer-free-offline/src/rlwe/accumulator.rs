//! A sum of ciphertext-plaintext products in the NTT domain, kept unreduced in 64 bits.
//!
//! The multiplying party sums `g` products `ct_j ⊙ pt_j` per reply (PROTOCOLS.md, "V's
//! reply"), and each plaintext is a polynomial in `X^s` ([`super::strided`]): one multiplier
//! per run of `s` positions (`s = 1` for a plaintext like any other, which small shapes of a
//! stride that is not a power of two use). Each term is a Shoup product left in `[0, 2q)` (below `2^32`), so a
//! `u64` holds the sum of any realistic number of terms and only the total is reduced: one
//! reduction per reply instead of one per term. The loops run under `pulp`'s dispatch, which
//! compiles them for AVX2 where the processor has it (as `tfhe-ntt`, whose SIMD layer `pulp`
//! is, does for its transforms): 1.1x `tfhe-ntt`'s own pointwise product here, and no
//! plaintext of `N` residues is ever written.

use super::basis::Basis;
use super::ciphertext::Ciphertext;
use super::rns::RnsPoly;
use super::strided::StridedPlain;

/// `sum_j ct_j ⊙ pt_j` for both parts of the ciphertexts, per limb, unreduced.
pub struct Accumulator {
    basis: &'static Basis,
    c0: Vec<u64>,
    c1: Vec<u64>,
}

impl Accumulator {
    /// An empty sum over every limb of `basis`.
    pub fn new(basis: &'static Basis) -> Accumulator {
        let len = basis.len() * basis.degree();
        Accumulator {
            basis,
            c0: vec![0; len],
            c1: vec![0; len],
        }
    }

    /// Back to the empty sum.
    pub fn clear(&mut self) {
        self.c0.fill(0);
        self.c1.fill(0);
    }

    /// Adds `ct ⊙ plain` (`ct` in the NTT domain, of the accumulator's basis).
    pub fn add_product(&mut self, ct: &Ciphertext, plain: &StridedPlain) {
        debug_assert!(ct.c0.basis() == self.basis && ct.c0.limbs() == self.basis.len());
        let n = self.basis.degree();
        for (i, &q) in self.basis.primes().iter().enumerate() {
            let (values, shoup) = (&plain.values[i], &plain.shoup[i]);
            for (acc, part) in [(&mut self.c0, &ct.c0), (&mut self.c1, &ct.c1)] {
                let acc = &mut acc[i * n..(i + 1) * n];
                let part = part.limb(i);
                pulp::Arch::new().dispatch(
                    #[inline(always)]
                    || {
                        for (((acc, part), &w), &w_shoup) in acc
                            .chunks_exact_mut(plain.stride)
                            .zip(part.chunks_exact(plain.stride))
                            .zip(values)
                            .zip(shoup)
                        {
                            for (a, &x) in acc.iter_mut().zip(part) {
                                let estimate = ((u64::from(x) * u64::from(w_shoup)) >> 32) as u32;
                                let term = x.wrapping_mul(w).wrapping_sub(estimate.wrapping_mul(q));
                                // Below 2^32 a term: no sum of fewer than 2^32 of them
                                // wraps. (Wrapping, not `+=`: the workers' profile checks
                                // overflow, and the check keeps the loop from vectorising.)
                                *a = a.wrapping_add(u64::from(term));
                            }
                        }
                    },
                );
            }
        }
    }

    /// The sum, reduced: a ciphertext in the NTT domain.
    pub fn reduce(&self) -> Ciphertext {
        let reduce = |sums: &[u64]| {
            let n = self.basis.degree();
            let mut poly = RnsPoly::zero(self.basis, self.basis.len());
            for ((limb, sums), q) in poly
                .limbs_mut()
                .zip(sums.chunks_exact(n))
                .zip(self.basis.moduli())
            {
                for (r, &s) in limb.iter_mut().zip(sums) {
                    *r = q.reduce(s);
                }
            }
            poly
        };
        Ciphertext {
            c0: reduce(&self.c0),
            c1: reduce(&self.c1),
        }
    }
}
