//! E's side of a cross term: encrypt the blocks of `A` under its own key, then decrypt V's
//! replies into its share `A·B - r`.

use std::ops::Range;
use std::sync::Arc;

use ndarray::{Array2, s};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use super::shape::{BlockShape, Dims};
use super::{Round, SETTING, compute_pool, encoding};
use crate::OfflineError;
use crate::bits::{BitReader, BitWriter};
use crate::rlwe::keys::SecretKey;
use crate::rlwe::params::N;
use crate::rlwe::sample::{self, Seed};
use crate::rlwe::{encrypt, wire};

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
    let mut writer = BitWriter::with_capacity(c0s.len() * wire::poly_bits(SETTING.limbs));
    for c0 in &c0s {
        wire::put_poly(&mut writer, c0);
    }
    let mut bytes = seed.to_vec();
    bytes.extend(writer.into_bytes());
    bytes
}

/// Decrypts one reply message of V (the round's row blocks by the part's column blocks) and
/// adds E's shares into `share`.
pub(crate) fn decrypt_reply(
    secret: &SecretKey,
    reply: &[u8],
    shape: &BlockShape,
    dims: Dims,
    rows: Range<usize>,
    cols: Range<usize>,
    share: &mut Array2<u64>,
) -> Result<(), OfflineError> {
    let mut blocks = Vec::new();
    let mut offset = 0;
    for rb in rows {
        for cb in cols.clone() {
            let at = encoding::block_results(shape, dims, rb, cb);
            let bytes = ((N + at.len()) * SETTING.switched_bits as usize).div_ceil(8);
            let piece = reply.get(offset..offset + bytes).ok_or_else(|| {
                OfflineError::Peer(format!("a reply of {} bytes ends early", reply.len()))
            })?;
            offset += bytes;
            blocks.push((rb, cb, at, piece));
        }
    }
    if offset != reply.len() {
        return Err(OfflineError::Peer(format!(
            "a reply of {} bytes, expected {offset}",
            reply.len()
        )));
    }
    let decrypted: Vec<Vec<u64>> = compute_pool().install(|| {
        blocks
            .par_iter()
            .map(|(_, _, at, piece)| {
                let mut reader = BitReader::new(piece);
                let bits = SETTING.switched_bits;
                let c1 = (0..N)
                    .map(|_| wire::get_switched(&mut reader, bits))
                    .collect::<Result<Vec<_>, _>>()?;
                let c0 = at
                    .iter()
                    .map(|&j| Ok((j, wire::get_switched(&mut reader, bits)?)))
                    .collect::<Result<Vec<_>, OfflineError>>()?;
                Ok(SETTING
                    .decrypt(secret, &c1, &c0)
                    .into_iter()
                    .map(|x| SETTING.decode(x))
                    .collect())
            })
            .collect::<Result<_, OfflineError>>()
    })?;
    for ((rb, cb, _, _), values) in blocks.iter().zip(decrypted) {
        super::add_block(share, shape, dims, *rb, *cb, values.into_iter());
    }
    Ok(())
}

/// E's whole side over `channel`: returns E's share of `A·B` (`rows x cols`). Per round it
/// sends its message, then decrypts each reply part as it arrives (while V computes the next).
pub(crate) async fn encrypt_and_decrypt(
    channel: &mut dyad_link::Channel,
    secret: Arc<SecretKey>,
    a: Arc<Array2<u64>>,
    shape: BlockShape,
    dims: Dims,
    rng: &mut ChaCha20Rng,
) -> Result<Array2<u64>, OfflineError> {
    let mut share = Array2::<u64>::zeros((dims.rows, dims.cols));
    let parts = Round::parts(&shape, dims);
    for round in Round::all(&shape, dims) {
        let (seed, noise_seed) = (sample::seed(rng), sample::seed(rng));
        let (secret_c, a, round_c) = (secret.clone(), a.clone(), round.clone());
        let bytes = super::blocking(move || {
            Ok(message(
                &secret_c, &a, &shape, dims, &round_c, seed, noise_seed,
            ))
        })
        .await?;
        channel.send(&bytes).await?;
        for cols in &parts {
            let reply = channel.recv().await?;
            let (secret, rows, cols) = (secret.clone(), round.rows.clone(), cols.clone());
            share = super::blocking(move || {
                decrypt_reply(&secret, &reply, &shape, dims, rows, cols, &mut share)?;
                Ok(share)
            })
            .await?;
        }
    }
    Ok(share)
}
