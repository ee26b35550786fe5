//! Shares of elementwise products over `Z_p` where one party holds each factor, by SIMD
//! homomorphic encryption: each ciphertext carries [`slots::SLOTS`] = 4096 values, so one
//! plaintext-ciphertext product makes 4096 cross terms at once (the lever for the mod-p
//! triples of CheckZero: 62 per comparison).
//!
//! The protocol is the one of matrix products (PROTOCOLS.md, "Matrix triples by RLWE"), with
//! the SIMD encoding in place of Cheetah's: E encrypts its values under its own key; V
//! multiplies by its own values, re-randomises, floods, switches down, masks out its share
//! and replies; E decrypts. Both cross terms of a product run at once, one per direction.
//! Parameters: [`Setting::simd`] (`N = 4096`, three primes, `log2 Q = 93`, replies at
//! `2^30`); the prime must be `1 mod 8192` (40961 is the one below `2^16`).

mod encryptor;
mod evaluator;
pub mod noise;
pub mod slots;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use dyad_online::Prime;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::OfflineError;
use crate::he_session::HeSession;
use crate::rlwe::setting::Setting;
use slots::SLOTS;

/// E's ciphertexts per message, at most (about 3 MB; V's reply about half that).
const MESSAGE_CIPHERTEXTS: usize = 32;

/// Whether products over `Z_p` can use SIMD slots.
pub fn supports(p: Prime) -> bool {
    (p.value() - 1).is_multiple_of(2 * SLOTS as u32)
}

/// The scheme's parameters for `p`.
fn setting(p: Prime) -> Setting {
    Setting::simd(p.value())
}

/// The ciphertexts of `n` values, in rounds of at most [`MESSAGE_CIPHERTEXTS`]: each round's
/// range of values.
fn rounds(n: usize) -> Vec<std::ops::Range<usize>> {
    let per_round = MESSAGE_CIPHERTEXTS * SLOTS;
    (0..n)
        .step_by(per_round)
        .map(|start| start..(start + per_round).min(n))
        .collect()
}

impl HeSession {
    /// Both cross terms of `x ⊙ y` at once, over `Z_p`: this party is E for its `x` and V for
    /// its `y`, the peer the reverse with its own. Returns this party's shares of
    /// `x ⊙ y_peer` and of `x_peer ⊙ y`, whose sum with the peer's is
    /// `x_0 ⊙ y_1 + x_1 ⊙ y_0`.
    pub async fn simd_cross_terms(
        &mut self,
        p: Prime,
        x: Vec<u64>,
        y: Vec<u64>,
    ) -> Result<(Vec<u64>, Vec<u64>), OfflineError> {
        if !supports(p) {
            return Err(OfflineError::Unsupported(format!(
                "Z_{p} has no SIMD slots (the prime must be 1 mod {})",
                2 * SLOTS
            )));
        }
        if x.len() != y.len() {
            return Err(OfflineError::Unsupported(format!(
                "{} and {} values to multiply elementwise",
                x.len(),
                y.len()
            )));
        }
        let degree = setting(p).degree;
        let peer = self.peer_key(degree).await?;
        let secret = self.secret(degree);
        let mut rng_e = ChaCha20Rng::from_rng(&mut self.rng);
        let mut rng_v = ChaCha20Rng::from_rng(&mut self.rng);
        tokio::try_join!(
            encryptor::encrypt_and_decrypt(
                &mut self.as_encryptor,
                secret,
                p,
                Arc::new(x),
                &mut rng_e
            ),
            evaluator::evaluate(&mut self.as_evaluator, peer, p, Arc::new(y), &mut rng_v)
        )
    }
}
