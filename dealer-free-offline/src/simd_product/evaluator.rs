//! V's side of a cross sum: multiply E's two slot ciphertexts of each chunk by its own values
//! (E's `x` by V's `y`, E's `y` by V's `x`), add, re-randomise, flood, switch down, mask out
//! its share and reply.

use std::sync::Arc;

use dyad_randomness::Prime;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use super::slots::{SLOTS, Slots};
use super::{noise, round_results, rounds, setting};
use crate::OfflineError;
use crate::he_session::{PeerKey, blocking, compute_pool};
use crate::rlwe::ciphertext::Ciphertext;
use crate::rlwe::fresh;
use crate::rlwe::keys::PublicKey;
use crate::rlwe::reply::finish;
use crate::rlwe::rerandomize::rerandomize;
use crate::rlwe::sample::{self, Seed};

/// V's reply to one round (its values `x`, `y`), and its shares of the cross sums.
fn reply(
    public: &PublicKey,
    p: Prime,
    message: &[u8],
    x: &[u64],
    y: &[u64],
    seed: Seed,
) -> Result<(Vec<u8>, Vec<u64>), OfflineError> {
    let (setting, slots) = (setting(p), Slots::new(p.value())?);
    let cts = fresh::read(message, 2 * y.len().div_ceil(SLOTS), &setting)?;
    let (at, flood_bits) = (Slots::results(), noise::flood_bits(p.value()));
    let replies: Vec<(Vec<u8>, Vec<u64>)> = compute_pool().install(|| {
        cts.par_chunks_exact(2)
            .zip(x.par_chunks(SLOTS).zip(y.par_chunks(SLOTS)))
            .enumerate()
            .map(|(t, (ct, (x, y)))| {
                let mut rng = ChaCha20Rng::from_seed(seed);
                rng.set_stream(t as u64);
                let mut product = Ciphertext::zero(&setting);
                // E's x by V's y, E's y by V's x.
                for (ct, values) in ct.iter().zip([y, x]) {
                    let mut plain = setting.centered(&slots.encode(values));
                    plain.to_ntt();
                    product.mul_accumulate(ct, &plain);
                }
                let ct = rerandomize(public, product, &mut rng);
                let reply = finish(&setting, ct, &at, flood_bits, &mut rng);
                let mut bytes = Vec::new();
                reply.write(&setting, &mut bytes);
                (bytes, slots.decode(&reply.r))
            })
            .collect()
    });
    let mut message = Vec::new();
    let mut shares = Vec::with_capacity(y.len());
    for (bytes, r) in replies {
        message.extend(bytes);
        shares.extend(r);
    }
    shares.truncate(y.len());
    Ok((message, shares))
}

/// V's whole side over `channel`: its shares of `x_peer ⊙ y + y_peer ⊙ x`.
pub(super) async fn evaluate(
    channel: &mut dyad_link::Channel,
    key: &mut PeerKey,
    p: Prime,
    xy: Arc<(Vec<u64>, Vec<u64>)>,
    rng: &mut ChaCha20Rng,
) -> Result<Vec<u64>, OfflineError> {
    let n = xy.0.len();
    let mut shares = Vec::with_capacity(n);
    for range in rounds(n) {
        let public = key.for_round(channel, round_results(range.len())).await?;
        let message = channel.recv().await?;
        let (seed, xy) = (sample::seed(rng), xy.clone());
        let (bytes, mine) = blocking(move || {
            let (x, y) = (&xy.0[range.clone()], &xy.1[range]);
            reply(&public, p, &message, x, y, seed)
        })
        .await?;
        channel.send(&bytes).await?;
        shares.extend(mine);
    }
    Ok(shares)
}
