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

use crate::{RecordError, Z64};

/// The key's length: 128 bits, the security level of every other parameter in Dyad.
pub const SEED_BYTES: usize = 16;

/// The most words of `U_i` and `V_i` one key expands to: 256 MiB, the most a record could carry
/// when it held them (the store's message size), so that a stream's name cannot make a party
/// expand without bound.
pub const MAX_SHARE_WORDS: usize = 1 << 25;

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
    /// ChaCha20 key stream (little-endian) under the key zero-padded to 256 bits, nonce 0;
    /// refused beyond [`MAX_SHARE_WORDS`].
    pub fn expand(
        &self,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<(Array2<Z64>, Array2<Z64>), RecordError> {
        let words = m
            .checked_mul(n)
            .zip(n.checked_mul(k))
            .and_then(|(u, v)| u.checked_add(v));
        if words.is_none_or(|w| w > MAX_SHARE_WORDS) {
            return Err(RecordError::Expansion {
                m,
                n,
                k,
                max: MAX_SHARE_WORDS,
            });
        }
        let mut key = [0u8; 32];
        key[..SEED_BYTES].copy_from_slice(&self.0);
        let mut stream = ChaCha20Rng::from_seed(key);
        let mut stream_words = |rows: usize, cols: usize| {
            let mut w = vec![Z64(0); rows * cols];
            stream.fill_bytes(bytemuck::cast_slice_mut(&mut w));
            // Little-endian words: nothing to do on the machines Dyad runs on.
            for z in &mut w {
                z.0 = u64::from_le(z.0);
            }
            Array2::from_shape_vec((rows, cols), w).expect("rows x cols words")
        };
        let u = stream_words(m, n);
        let v = stream_words(n, k);
        Ok((u, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(seed: ShareSeed, m: usize, n: usize, k: usize) -> (Array2<Z64>, Array2<Z64>) {
        seed.expand(m, n, k).expect("within the bound")
    }

    /// The expansion is a function of the key alone; different keys give unrelated words, and
    /// `V` continues the stream where `U` ends.
    #[test]
    fn the_expansion_depends_on_the_key_alone() {
        let a = ShareSeed([7; SEED_BYTES]);
        assert_eq!(expand(a, 3, 4, 5), expand(a, 3, 4, 5));
        let (u, v) = expand(a, 3, 4, 5);
        let (u2, v2) = expand(ShareSeed([8; SEED_BYTES]), 3, 4, 5);
        assert!(u.iter().zip(&u2).all(|(x, y)| x != y));
        assert!(v.iter().zip(&v2).all(|(x, y)| x != y));
        let (wide, _) = expand(a, 1, 32, 1);
        let joined: Vec<Z64> = u.iter().chain(&v).copied().collect();
        assert_eq!(wide.as_slice().expect("row-major")[..32], joined[..32]);
        assert_eq!(format!("{a:?}"), "ShareSeed(..)");
    }

    /// The words are ChaCha20's key stream (RFC 8439), pinned so that a change of the
    /// dependency's output cannot go unnoticed: stored keys are expanded again when read. The
    /// all-zero key's first word is the RFC's test vector (`76 b8 e0 ad a0 f1 3d 90`); for the
    /// key 1, 2, ..., 16 a 3x5x1 triple's last row of `U` (words 10-14, across the first block
    /// boundary) and `V` (words 15-19, across the second), from an independent implementation
    /// of the RFC's block function.
    #[test]
    fn the_words_are_chacha20s_key_stream() {
        let (u, _) = expand(ShareSeed([0; SEED_BYTES]), 1, 1, 1);
        let first = [0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90];
        assert_eq!(u[[0, 0]], Z64(u64::from_le_bytes(first)));
        let key: [u8; SEED_BYTES] = std::array::from_fn(|i| i as u8 + 1);
        let (u, v) = expand(ShareSeed(key), 3, 5, 1);
        let words = |a: ndarray::ArrayView1<Z64>| a.iter().map(|z| z.0).collect::<Vec<_>>();
        assert_eq!(
            words(u.row(2)),
            [
                0x11cb2891937dc454,
                0xdd1eee46ef2c408c,
                0xf86576dcfccf59ad,
                0x9535a38a644e7db9,
                0x8e9d29a5f9f805cb
            ]
        );
        assert_eq!(
            words(v.column(0)),
            [
                0x1b1ccddab177d79f,
                0xd4183b38b63603c9,
                0x021566876188cada,
                0x85cdaadad95420ff,
                0xe40651b4a696b53a
            ]
        );
    }

    /// A shape whose `U` and `V` exceed the bound, or whose size overflows, is refused before
    /// anything is allocated.
    #[test]
    fn shapes_beyond_the_bound_are_refused() {
        let seed = ShareSeed([1; SEED_BYTES]);
        assert!(seed.expand(1, MAX_SHARE_WORDS, 1).is_err());
        assert!(seed.expand(1, 1 << 40, 1).is_err());
        assert!(seed.expand(usize::MAX, 2, 1).is_err());
    }
}
