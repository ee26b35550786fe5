//! E's side of a cross sum: encrypt both of its vectors in SIMD slots, decrypt V's replies into
//! its shares.

use std::sync::Arc;

use dyad_randomness::Prime;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use super::slots::{SLOTS, Slots};
use super::{round_results, rounds, setting};
use crate::OfflineError;
use crate::he_session::{OwnKey, blocking, compute_pool};
use crate::rlwe::keys::SecretKey;
use crate::rlwe::reply::{self, Reply};
use crate::rlwe::sample::{self, Seed};
use crate::rlwe::{encrypt, fresh};

/// E's message: for each chunk of [`SLOTS`] values, the ciphertext of its `x` and then the one
/// of its `y`.
fn message(
    secret: &SecretKey,
    p: Prime,
    x: &[u64],
    y: &[u64],
    seed: Seed,
    noise_seed: Seed,
) -> Result<Vec<u8>, OfflineError> {
    let (setting, slots) = (setting(p), Slots::new(p.value())?);
    let chunks: Vec<&[u64]> = x
        .chunks(SLOTS)
        .zip(y.chunks(SLOTS))
        .flat_map(<[_; 2]>::from)
        .collect();
    let c0s: Vec<_> = compute_pool().install(|| {
        chunks
            .par_iter()
            .enumerate()
            .map(|(t, values)| {
                let plain = setting.scaled(&slots.encode(values));
                let mut rng = ChaCha20Rng::from_seed(noise_seed);
                rng.set_stream(t as u64);
                encrypt(secret, plain, &seed, t as u64, &mut rng)
            })
            .collect()
    });
    Ok(fresh::write(&seed, &c0s))
}

/// E's shares of the values of one round, from V's reply message.
fn open(secret: &SecretKey, p: Prime, message: &[u8], n: usize) -> Result<Vec<u64>, OfflineError> {
    let (setting, slots) = (setting(p), Slots::new(p.value())?);
    let at = Slots::results();
    let count = n.div_ceil(SLOTS);
    let pieces = reply::split(message, &vec![Reply::bytes(&setting, SLOTS); count])?;
    let opened: Vec<Vec<u64>> = compute_pool().install(|| {
        pieces
            .par_iter()
            .map(|piece| Ok(slots.decode(&setting.open_reply(secret, piece, &at)?)))
            .collect::<Result<_, OfflineError>>()
    })?;
    Ok(opened.into_iter().flatten().take(n).collect())
}

/// E's whole side over `channel`: its shares of `x ⊙ y_peer + y ⊙ x_peer`.
pub(super) async fn encrypt_and_decrypt(
    channel: &mut dyad_link::Channel,
    key: &mut OwnKey,
    p: Prime,
    xy: Arc<(Vec<u64>, Vec<u64>)>,
    rng: &mut ChaCha20Rng,
) -> Result<Vec<u64>, OfflineError> {
    let n = xy.0.len();
    let mut shares = Vec::with_capacity(n);
    for range in rounds(n) {
        let secret = key.for_round(channel, round_results(range.len())).await?;
        let (seed, noise_seed) = (sample::seed(rng), sample::seed(rng));
        let (secret_m, xy) = (secret.clone(), xy.clone());
        let values = range.clone();
        let bytes = blocking(move || {
            let (x, y) = (&xy.0[values.clone()], &xy.1[values]);
            message(&secret_m, p, x, y, seed, noise_seed)
        })
        .await?;
        channel.send(&bytes).await?;
        let reply = channel.recv().await?;
        let secret = secret.clone();
        shares.extend(blocking(move || open(&secret, p, &reply, range.len())).await?);
    }
    Ok(shares)
}
