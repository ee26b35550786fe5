//! Reduction modulo one of the RNS primes without a division instruction (Barrett), for the
//! per-coefficient work outside the NTTs: encoding plaintexts, adding small errors, and
//! reducing switched coefficients for decryption.

/// A prime `q < 2^31` with its Barrett constant `floor(2^64 / q)`.
#[derive(Debug, Clone, Copy)]
pub struct Modulus {
    q: u64,
    barrett: u64,
    /// `2^64 mod q`.
    two64: u64,
}

impl Modulus {
    /// The modulus `q` (a prime below `2^31`).
    pub const fn new(q: u32) -> Modulus {
        Modulus {
            q: q as u64,
            barrett: ((1u128 << 64) / q as u128) as u64,
            two64: ((1u128 << 64) % q as u128) as u64,
        }
    }

    /// The prime.
    pub fn q(&self) -> u64 {
        self.q
    }

    /// `x mod q` for any `x < 2^64`: the quotient estimate `floor(x·floor(2^64/q) / 2^64)` is
    /// short by at most one (`x·(2^64/q - floor(2^64/q)) / 2^64 < 1`), so one conditional
    /// subtraction follows.
    #[inline]
    pub fn reduce(&self, x: u64) -> u32 {
        let estimate = ((u128::from(x) * u128::from(self.barrett)) >> 64) as u64;
        let r = x - estimate * self.q;
        (if r >= self.q { r - self.q } else { r }) as u32
    }

    /// `x mod q` for `x < 2^128`: `x = hi·2^64 + lo`, and `2^64 mod q` folds `hi` in.
    #[inline]
    pub fn reduce_wide(&self, x: u128) -> u32 {
        let hi = u64::from(self.reduce((x >> 64) as u64));
        let lo = u64::from(self.reduce(x as u64));
        self.reduce(hi * self.two64 + lo)
    }

    /// `x mod q` for a signed `x`, in `[0, q)`.
    #[inline]
    pub fn reduce_signed(&self, x: i64) -> u32 {
        let r = self.reduce(x.unsigned_abs());
        if x < 0 && r != 0 {
            (self.q - u64::from(r)) as u32
        } else {
            r
        }
    }

    /// `a·b mod q` for residues `a, b < q`.
    #[inline]
    pub fn mul(&self, a: u32, b: u32) -> u32 {
        self.reduce(u64::from(a) * u64::from(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn reductions_match_the_remainder() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        for &q in &crate::rlwe::params::PRIMES {
            let m = Modulus::new(q);
            let q64 = u64::from(q);
            for x in [0, 1, q64 - 1, q64, q64 + 1, u64::MAX, u64::MAX - 1, 1 << 63]
                .into_iter()
                .chain((0..10_000).map(|_| rng.random::<u64>()))
            {
                assert_eq!(u64::from(m.reduce(x)), x % q64, "{x} mod {q}");
                let signed = x as i64;
                assert_eq!(
                    i64::from(m.reduce_signed(signed)),
                    signed.rem_euclid(q64 as i64)
                );
                let wide = (u128::from(x) << 64) | u128::from(x.rotate_left(7));
                assert_eq!(u128::from(m.reduce_wide(wide)), wide % u128::from(q));
            }
        }
    }
}
