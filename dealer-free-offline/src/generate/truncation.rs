//! Truncation pairs (PROTOCOLS.md, kind 3): a uniform `r` built from 64 shared random bits,
//! with shares of `r`, of its top bit and of `(r mod 2^63) >> f`.
//!
//! Bit `j` is shared in `Z_{2^w}` with the smallest `w` every use needs: `r` weights it by
//! `2^j` (needs `64 - j` bits), `(r mod 2^63) >> f` by `2^(j-f)` (needs `64 - j + f`), and the
//! top bit is used alone (64 bits). The low bits could not be shared more cheaply without
//! leaking: every bit of `r` must be uniform and unknown to both parties, or the opened
//! `x + r` reveals low bits of `x`.

use dyad_online::Z64;
use dyad_online::randomness::TruncationPairs;
use rand::RngExt;

use super::Generator;
use crate::OfflineError;
use crate::cot::Field;

/// The width bit `j` is shared with, for truncation by `f`.
fn width(j: u32, f: u32) -> u32 {
    match j {
        63 => 64,
        j if j >= f => 64 - j + f,
        j => 64 - j,
    }
}

impl Generator {
    /// This party's half of `n` truncation pairs for `f` fractional bits.
    pub async fn truncation_pairs(
        &mut self,
        n: usize,
        f: u32,
    ) -> Result<TruncationPairs, OfflineError> {
        let mine: Vec<u64> = (0..n).map(|_| self.rng.random()).collect();
        let bits = self
            .random_bits(&mine, 64, |j| vec![Field::Ring(width(j as u32, f))])
            .await?;
        // Bit by bit over all pairs.
        let (mut r, mut r_msb, mut r_low) = (vec![0u64; n], vec![0u64; n], vec![0u64; n]);
        for (j, shares) in bits.iter().enumerate() {
            for (i, &s) in shares.iter().enumerate() {
                r[i] = r[i].wrapping_add(s << j);
                if j >= f as usize && j < 63 {
                    r_low[i] = r_low[i].wrapping_add(s << (j - f as usize));
                }
                if j == 63 {
                    r_msb[i] = s;
                }
            }
        }
        let ring = |v: Vec<u64>| v.into_iter().map(Z64).collect();
        Ok(TruncationPairs {
            f,
            r: ring(r),
            r_msb: ring(r_msb),
            r_low: ring(r_low),
        })
    }
}
