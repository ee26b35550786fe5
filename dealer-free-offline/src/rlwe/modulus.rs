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
    /// `2^128 mod q`.
    two128: u64,
    /// `2^192 mod q`.
    two192: u64,
}

impl Modulus {
    /// The modulus `q` (a prime below `2^31`).
    pub const fn new(q: u32) -> Modulus {
        let wide = q as u128;
        let two64 = (1u128 << 64) % wide;
        let two128 = two64 * two64 % wide;
        Modulus {
            q: q as u64,
            barrett: ((1u128 << 64) / wide) as u64,
            two64: two64 as u64,
            two128: two128 as u64,
            two192: (two128 * two64 % wide) as u64,
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

    /// `x mod q` for a 192-bit two's-complement `x` (least significant word first), in
    /// `[0, q)`: the words weighted by `2^64` and `2^128 mod q`, less `2^192 mod q` when the
    /// sign bit is set. (Flooding noise reaches `2^151`, beyond `i128`.)
    #[inline]
    pub fn reduce_signed_192(&self, x: [u64; 3]) -> u32 {
        let unsigned = u64::from(self.reduce(x[0]))
            + u64::from(self.reduce(x[1])) * self.two64
            + u64::from(self.reduce(x[2])) * self.two128;
        let r = u64::from(self.reduce(unsigned));
        let negative = x[2] >> 63 == 1;
        (if negative {
            (r + self.q - self.two192) % self.q
        } else {
            r
        }) as u32
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
        for &q in crate::rlwe::params::MATRIX_PRIMES
            .iter()
            .chain(&crate::rlwe::params::SIMD_PRIMES)
        {
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
                // 192-bit two's complement: an i128 sign-extended, and a value beyond i128
                // (x·2^127 + x) with its negation.
                let signed = (wide as i128) >> 1;
                let words = [signed as u64, (signed >> 64) as u64, (signed >> 127) as u64];
                assert_eq!(
                    i128::from(m.reduce_signed_192(words)),
                    signed.rem_euclid(i128::from(q)),
                    "{signed} mod {q}"
                );
                let big = [x, x << 63, x >> 1];
                let two127 = (1u128 << 127) % u128::from(q);
                let expected = ((u128::from(x) % u128::from(q)) * two127
                    + u128::from(x) % u128::from(q))
                    % u128::from(q);
                assert_eq!(
                    u128::from(m.reduce_signed_192(big)),
                    expected,
                    "{x}·2^127 + {x}"
                );
                let negated = {
                    let inverted = big.map(|w| !w);
                    let (w0, carry) = inverted[0].overflowing_add(1);
                    let (w1, carry) = inverted[1].overflowing_add(u64::from(carry));
                    [w0, w1, inverted[2].wrapping_add(u64::from(carry))]
                };
                assert_eq!(
                    u128::from(m.reduce_signed_192(negated)),
                    (u128::from(q) - expected) % u128::from(q),
                    "-({x}·2^127 + {x})"
                );
            }
        }
    }
}
