//! Plaintexts of `Z_t` (`t = 2^64` or a prime) in `R_Q`.
//!
//! The encrypted party's message enters as `round(Q·m / t)` (SecretFlow-SPU's `ModulusUpAt`):
//! with `Delta = Q/t` not an integer, `round(Delta·m)` differs from `Delta·m` by at most 1/2,
//! so the product with the peer's plaintext `b` carries an error of `|b|/2` per term — whereas
//! `floor(Delta)·m` would make it `m·b·frac(Delta)`, far beyond the noise budget. The
//! product's `Delta·(a·b)` then reduces correctly: `a·b = m + t·w` over the integers and
//! `Delta·t·w = Q·w ≡ 0 (mod Q)`.
//!
//! The multiplying party's plaintext enters unscaled, lifted to its centred representative in
//! `[-t/2, t/2)` so that it multiplies the noise by at most `t/2`.

use super::rns::RnsPoly;
use super::setting::{Plain, Setting};
use super::strided::StridedPlain;

impl Setting {
    /// The encrypting party's plaintext with the coefficients `(power, m)` (`m < t`, powers
    /// below `N`, each at most once; the rest zero): `round(Q·m / t)` at each (coefficient
    /// domain, the setting's limbs).
    pub fn scaled(&self, message: &[(usize, u64)]) -> RnsPoly {
        let constants = self.constants();
        // round((Q mod t)·m / t) for each m.
        let lows: Vec<u64> = match self.plain {
            // The product is below 2^128 - 2^65 + 2, so adding t/2 does not overflow, and the
            // quotient is below t.
            Plain::Ring64 => message
                .iter()
                .map(|&(_, m)| {
                    let product = u128::from(constants.q_mod_t) * u128::from(m);
                    ((product + (1 << 63)) >> 64) as u64
                })
                .collect(),
            // The quotient by a prime t < 2^16 is a multiply by its Barrett constant, exact
            // after one correction (a division is ten times slower).
            Plain::Prime(t) => {
                let t = u64::from(t);
                let (inverse, half) = (u64::MAX / t, t / 2);
                message
                    .iter()
                    .map(|&(_, m)| {
                        let x = constants.q_mod_t * m + half;
                        let quotient = ((u128::from(x) * u128::from(inverse)) >> 64) as u64;
                        quotient + u64::from(x - quotient * t >= t)
                    })
                    .collect()
            }
        };
        let basis = self.basis();
        let mut poly = RnsPoly::zero(basis, basis.len());
        for ((limb, q), &high) in poly
            .limbs_mut()
            .zip(basis.moduli())
            .zip(&constants.q_over_t)
        {
            for (&(power, m), &low) in message.iter().zip(&lows) {
                limb[power] = match self.plain {
                    Plain::Ring64 => {
                        let high = q.mul(high, q.reduce(m));
                        q.reduce(u64::from(high) + u64::from(q.reduce(low)))
                    }
                    // A prime t < 2^16 is below every q: m and low (below t) are residues
                    // already, and floor(Q/t)·m + low fits in 64 bits, so one reduction does.
                    Plain::Prime(_) => q.reduce(u64::from(high) * m + low),
                };
            }
        }
        poly
    }

    /// [`Setting::centered`] of a plaintext whose powers are all multiples of `stride` (a
    /// power of two dividing `N`; 1 for any plaintext), directly in the NTT domain as its
    /// `N / stride` distinct values per limb ([`crate::rlwe::strided`]).
    pub fn centered_strided(&self, plain: &[(usize, u64)], stride: usize) -> StridedPlain {
        let basis = self.basis();
        let m = self.degree / stride;
        let mut values = Vec::with_capacity(basis.len());
        let mut shoup = Vec::with_capacity(basis.len());
        for (i, q) in basis.moduli().iter().enumerate() {
            let mut limb = vec![0u32; m];
            for &(power, b) in plain {
                debug_assert!(power.is_multiple_of(stride));
                limb[power / stride] = self.lift(q, b);
            }
            basis.strided(i).forward(&basis.plans()[i], &mut limb);
            shoup.push(
                limb.iter()
                    .map(|&w| ((u64::from(w) << 32) / q.q()) as u32)
                    .collect(),
            );
            values.push(limb);
        }
        StridedPlain {
            stride,
            values,
            shoup,
        }
    }

    /// `b < t` lifted to `[-t/2, t/2)`, as a residue modulo `q`.
    fn lift(&self, q: &super::modulus::Modulus, b: u64) -> u32 {
        match self.plain {
            Plain::Ring64 => q.reduce_signed(b as i64),
            // b < t < 2^16 < q: the lift b - t of the upper half is q - (t - b) mod q.
            Plain::Prime(t) => {
                let t = u64::from(t);
                (if b >= t / 2 { q.q() - (t - b) } else { b }) as u32
            }
        }
    }

    /// The multiplying party's plaintext with the coefficients `(power, b)` (`b < t`), each
    /// lifted to `[-t/2, t/2)` (coefficient domain, the setting's limbs).
    pub fn centered(&self, plain: &[(usize, u64)]) -> RnsPoly {
        let basis = self.basis();
        let mut poly = RnsPoly::zero(basis, basis.len());
        for (limb, q) in poly.limbs_mut().zip(basis.moduli()) {
            for &(power, b) in plain {
                limb[power] = self.lift(q, b);
            }
        }
        poly
    }
}
