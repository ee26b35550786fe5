//! The key a party keeps in place of its shares `U_i` and `V_i` of a matrix triple.
//!
//! Each party samples its own `U_i, V_i` (PROTOCOLS.md, kind 1); nothing requires the samples
//! to be stored rather than re-derived. The offline generator draws a fresh 128-bit key from its
//! cryptographic generator for every triple and expands `U_i, V_i` from it with ChaCha20, the
//! same cipher that drew them word by word before; the record then holds the key and `Z_i` only
//! (16 + 8mk bytes instead of 8(mn + nk + mk)). The online party expands the key again when it
//! reads the record. The key never leaves the party's own stockpile, exactly as `U_i, V_i` did
//! not, and a key's expansion is indistinguishable from uniform words to anyone without the key
//! (ChaCha20 as a PRG), which is all the masks `E = X - U`, `F = Y - V` need.
//!
//! For Network-C's im2col products `U` is the bulk of a triple (an 8192x500x50 product: 4.1 M
//! words of `U` against 0.41 M of `Z`), so this is most of a training step's stored bytes.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::Z64;

/// The key's length: 128 bits, the security level of every other parameter in Dyad.
pub const SEED_BYTES: usize = 16;

/// A party's key for its `U_i, V_i` of one matrix triple. Its `Debug` does not print it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShareSeed(pub [u8; SEED_BYTES]);

impl std::fmt::Debug for ShareSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShareSeed(..)")
    }
}

impl ShareSeed {
    /// A fresh key from a cryptographic generator.
    pub fn random(rng: &mut impl rand::CryptoRng) -> ShareSeed {
        let mut key = [0u8; SEED_BYTES];
        rng.fill_bytes(&mut key);
        ShareSeed(key)
    }

    /// `U_i` (`m x n`) then `V_i` (`n x k`), row-major, each word the next eight bytes of the
    /// ChaCha20 key stream (little-endian) under the key zero-padded to 256 bits, nonce 0.
    pub fn expand(&self, m: usize, n: usize, k: usize) -> (Array2<Z64>, Array2<Z64>) {
        let mut key = [0u8; 32];
        key[..SEED_BYTES].copy_from_slice(&self.0);
        let mut stream = ChaCha20Rng::from_seed(key);
        let mut words = |rows: usize, cols: usize| {
            let mut w = vec![0u64; rows * cols];
            stream.fill_bytes(bytemuck::cast_slice_mut(&mut w));
            let w: Vec<Z64> = w.into_iter().map(|x| Z64(u64::from_le(x))).collect();
            Array2::from_shape_vec((rows, cols), w).expect("rows x cols words")
        };
        let u = words(m, n);
        let v = words(n, k);
        (u, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expansion is a function of the key alone; different keys give unrelated words, and
    /// `V` continues the stream where `U` ends.
    #[test]
    fn the_expansion_depends_on_the_key_alone() {
        let a = ShareSeed([7; SEED_BYTES]);
        assert_eq!(a.expand(3, 4, 5), a.expand(3, 4, 5));
        let (u, v) = a.expand(3, 4, 5);
        let (u2, v2) = ShareSeed([8; SEED_BYTES]).expand(3, 4, 5);
        assert!(u.iter().zip(&u2).all(|(x, y)| x != y));
        assert!(v.iter().zip(&v2).all(|(x, y)| x != y));
        let (wide, _) = a.expand(1, 32, 1);
        let joined: Vec<Z64> = u.iter().chain(&v).copied().collect();
        assert_eq!(wide.as_slice().expect("row-major")[..32], joined[..32]);
        assert_eq!(format!("{a:?}"), "ShareSeed(..)");
    }

    /// The words are ChaCha20's key stream: the first word of the all-zero key is the RFC 8439
    /// test vector's first eight bytes (`76 b8 e0 ad a0 f1 3d 90`).
    #[test]
    fn the_words_are_chacha20s_key_stream() {
        let (u, _) = ShareSeed([0; SEED_BYTES]).expand(1, 1, 1);
        assert_eq!(
            u[[0, 0]],
            Z64(u64::from_le_bytes([
                0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90
            ]))
        );
    }
}
