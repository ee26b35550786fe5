//! Shares of the cross terms `x_0 ⊙ y_1 + x_1 ⊙ y_0` of an elementwise product over `Z_p`
//! of additively shared vectors, by SIMD homomorphic encryption: each ciphertext carries
//! [`slots::SLOTS`] = 4096 values, so one plaintext-ciphertext product makes 4096 cross terms
//! at once (the lever for the mod-p triples of CheckZero: 62 per comparison).
//!
//! The protocol is the one of matrix products (PROTOCOLS.md, "Matrix triples by RLWE"), with
//! the SIMD encoding in place of Cheetah's: E encrypts its `x` and its `y` under its own key;
//! V multiplies them by its own `y` and `x`, adds the two products, re-randomises, floods,
//! switches down, masks out its share and replies with one ciphertext; E decrypts. Both cross
//! terms thus cost one reply, one re-randomisation and one decryption (running one product
//! per direction cost two of each). The vector is cut in two, P0 being E for the first part
//! and P1 for the rest, so both parties and both link directions work at once.
//! Parameters: [`Setting::simd`] (`N = 4096`, four primes, `log2 Q = 109`, replies at
//! `2^30`); the prime must be `1 mod 8192` (40961 is the one below `2^16`).

mod encryptor;
mod evaluator;
pub mod noise;
pub mod slots;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use dyad_link::PartyId;
use dyad_randomness::Prime;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::OfflineError;
use crate::he_session::HeSession;
use crate::rlwe::setting::Setting;
use slots::SLOTS;

/// E's ciphertexts per message, at most (about 3 MB; V's reply about a quarter of that):
/// two per chunk of [`SLOTS`] values.
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
    let per_round = MESSAGE_CIPHERTEXTS / 2 * SLOTS;
    (0..n)
        .step_by(per_round)
        .map(|start| start..(start + per_round).min(n))
        .collect()
}

/// The result coefficients a round of `values` values reveals: every slot of its
/// ciphertexts.
fn round_results(values: usize) -> u64 {
    (values.div_ceil(SLOTS) * SLOTS) as u64
}

/// The values P0 is E for: the first half, rounded up to whole ciphertexts (all of a short
/// vector, which one ciphertext holds).
fn p0_part(n: usize) -> usize {
    (n / 2).next_multiple_of(SLOTS).min(n)
}

impl HeSession {
    /// This party's shares of `x_0 ⊙ y_1 + x_1 ⊙ y_0` over `Z_p`, where this party holds
    /// `x_i`, `y_i` and the peer the others (the peer calls this at the same point).
    pub async fn simd_cross_sum(
        &mut self,
        p: Prime,
        x: Vec<u64>,
        y: Vec<u64>,
    ) -> Result<Vec<u64>, OfflineError> {
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
        let mut rng_e = ChaCha20Rng::from_rng(&mut self.rng);
        let mut rng_v = ChaCha20Rng::from_rng(&mut self.rng);
        let h = p0_part(x.len());
        let (mut x, mut y) = (x, y);
        let (x_tail, y_tail) = (x.split_off(h), y.split_off(h));
        let (head, tail) = (Arc::new((x, y)), Arc::new((x_tail, y_tail)));
        let (mine, theirs) = match self.party {
            PartyId::P0 => (head, tail),
            PartyId::P1 => (tail, head),
        };
        let party = self.party;
        let (keys, as_encryptor, as_evaluator) = self.for_product(setting(p));
        let (as_e, as_v) = tokio::try_join!(
            encryptor::encrypt_and_decrypt(as_encryptor, &mut keys.own, p, mine, &mut rng_e),
            evaluator::evaluate(as_evaluator, &mut keys.peer, p, theirs, &mut rng_v)
        )?;
        Ok(match party {
            PartyId::P0 => [as_e, as_v].concat(),
            PartyId::P1 => [as_v, as_e].concat(),
        })
    }
}
