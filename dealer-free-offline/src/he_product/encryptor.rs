//! E's side of a cross term: encrypt the blocks of `A` under its own key, then decrypt V's
//! replies into its share `A·B - r`.

use std::ops::Range;
use std::sync::Arc;

use ndarray::{Array2, s};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use super::shape::{BlockShape, Dims};
use super::{Round, SETTING, encoding};
use crate::OfflineError;
use crate::he_session::{OwnKey, blocking, compute_pool};
use crate::rlwe::keys::SecretKey;
use crate::rlwe::reply::{self, Reply};
use crate::rlwe::sample::{self, Seed};
use crate::rlwe::{encrypt, fresh};

/// E's message for one round: a fresh seed, then `c0` (NTT domain) of every block of `A` in
/// the round (row block, then inner block). Ciphertext `t` of the message has the uniform part
/// `sample::uniform(seed, t)`.
pub(crate) fn message(
    secret: &SecretKey,
    a: &Array2<u64>,
    shape: &BlockShape,
    dims: Dims,
    round: &Round,
    seed: Seed,
    noise_seed: Seed,
) -> Vec<u8> {
    let blocks: Vec<(usize, usize)> = round
        .rows
        .clone()
        .flat_map(|rb| round.inner.clone().map(move |j| (rb, j)))
        .collect();
    let c0s: Vec<_> = compute_pool().install(|| {
        blocks
            .par_iter()
            .enumerate()
            .map(|(stream, &(rb, j))| {
                let rows = rb * shape.d0..((rb + 1) * shape.d0).min(dims.rows);
                let cols = j * shape.d1..((j + 1) * shape.d1).min(dims.inner);
                let plain = SETTING.scaled(&encoding::lhs(shape, a.slice(s![rows, cols])));
                let mut rng = ChaCha20Rng::from_seed(noise_seed);
                rng.set_stream(stream as u64);
                encrypt(secret, plain, &seed, stream as u64, &mut rng)
            })
            .collect()
    });
    fresh::write(&seed, &c0s)
}

/// Decrypts one reply message of V (the round's row blocks by the part's column blocks) and
/// adds E's shares into `share`.
pub(crate) fn decrypt_reply(
    secret: &SecretKey,
    message: &[u8],
    shape: &BlockShape,
    dims: Dims,
    rows: Range<usize>,
    cols: Range<usize>,
    share: &mut Array2<u64>,
) -> Result<(), OfflineError> {
    let blocks: Vec<(usize, usize, Vec<usize>)> = rows
        .flat_map(|rb| cols.clone().map(move |cb| (rb, cb)))
        .map(|(rb, cb)| (rb, cb, encoding::block_results(shape, dims, rb, cb)))
        .collect();
    let sizes: Vec<usize> = blocks
        .iter()
        .map(|(_, _, at)| Reply::bytes(&SETTING, at.len()))
        .collect();
    let pieces = reply::split(message, &sizes)?;
    let decrypted: Vec<Vec<u64>> = compute_pool().install(|| {
        blocks
            .par_iter()
            .zip(&pieces)
            .map(|((_, _, at), piece)| SETTING.open_reply(secret, piece, at))
            .collect::<Result<_, OfflineError>>()
    })?;
    for ((rb, cb, _), values) in blocks.iter().zip(decrypted) {
        super::add_block(share, shape, dims, *rb, *cb, values.into_iter());
    }
    Ok(())
}

/// E's whole side over `channel`: returns E's share of `A·B` (`rows x cols`). Per round it
/// sends its message (after a fresh public key when the round needs one), then decrypts each
/// reply part as it arrives (while V computes the next).
pub(crate) async fn encrypt_and_decrypt(
    channel: &mut dyad_link::Channel,
    key: &mut OwnKey,
    a: Arc<Array2<u64>>,
    shape: BlockShape,
    dims: Dims,
    rng: &mut ChaCha20Rng,
) -> Result<Array2<u64>, OfflineError> {
    let mut share = Array2::<u64>::zeros((dims.rows, dims.cols));
    let parts = Round::parts(&shape, dims);
    for round in Round::all(&shape, dims) {
        let secret = key.for_round(channel, round.results(&shape, dims)).await?;
        let (seed, noise_seed) = (sample::seed(rng), sample::seed(rng));
        let (secret_c, a, round_c) = (secret.clone(), a.clone(), round.clone());
        let bytes = blocking(move || {
            Ok(message(
                &secret_c, &a, &shape, dims, &round_c, seed, noise_seed,
            ))
        })
        .await?;
        channel.send(&bytes).await?;
        for cols in &parts {
            let reply = channel.recv().await?;
            let (secret, rows, cols) = (secret.clone(), round.rows.clone(), cols.clone());
            share = blocking(move || {
                decrypt_reply(&secret, &reply, &shape, dims, rows, cols, &mut share)?;
                Ok(share)
            })
            .await?;
        }
    }
    Ok(share)
}
