//! V's side of a cross term: multiply E's ciphertexts by the blocks of `B`, re-randomise,
//! flood, switch down, mask out V's share and reply (PROTOCOLS.md, "V's reply"; see
//! [`crate::rlwe::reply`]).

use std::ops::Range;
use std::sync::Arc;

use ndarray::{Array2, s};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use super::shape::{BlockShape, Dims};
use super::{Round, SETTING, encoding, noise};
use crate::OfflineError;
use crate::he_session::{PeerKey, blocking, compute_pool};
use crate::rlwe::accumulator::Accumulator;
use crate::rlwe::ciphertext::Ciphertext;
use crate::rlwe::fresh;
use crate::rlwe::keys::PublicKey;
use crate::rlwe::reply::{Reply, finish};
use crate::rlwe::rerandomize::rerandomize;
use crate::rlwe::sample::{self, Seed};

/// E's ciphertexts of one round, parsed: `cts[row][inner]` (indices within the round), NTT
/// domain.
pub(crate) fn parse_message(
    message: &[u8],
    round: &Round,
) -> Result<Vec<Vec<Ciphertext>>, OfflineError> {
    let inner = round.inner.len();
    let mut cts = fresh::read(message, round.rows.len() * inner, &SETTING)?.into_iter();
    Ok(round
        .rows
        .clone()
        .map(|_| cts.by_ref().take(inner).collect())
        .collect())
}

/// V's reply message for one round and one run of column blocks, and V's shares added into
/// `share`: every reply ciphertext accumulates the round's inner blocks. The column blocks run
/// in parallel; each transforms its blocks of `B` once for all the round's row blocks.
#[allow(clippy::too_many_arguments)]
pub(crate) fn reply(
    public: &PublicKey,
    cts: &[Vec<Ciphertext>],
    b: &Array2<u64>,
    shape: &BlockShape,
    dims: Dims,
    round: &Round,
    cols: Range<usize>,
    seed: Seed,
    share: &mut Array2<u64>,
) -> Vec<u8> {
    let flood_bits = noise::flood_bits(shape.group, shape.d1, shape.d2);
    let column_blocks: Vec<usize> = cols.collect();
    let replies: Vec<Vec<Reply>> = compute_pool().install(|| {
        // Each worker thread keeps its accumulators (a megabyte each) from one column block to
        // the next: allocating them afresh cost a tenth of a triple's CPU in page faults.
        let fresh_accumulators = || -> Vec<Accumulator> {
            cts.iter()
                .map(|_| Accumulator::new(SETTING.basis()))
                .collect()
        };
        column_blocks
            .par_iter()
            .map_init(fresh_accumulators, |accs, &cb| {
                let mut rng = ChaCha20Rng::from_seed(seed);
                rng.set_stream(cb as u64);
                accs.iter_mut().for_each(Accumulator::clear);
                for (local, j) in round.inner.clone().enumerate() {
                    let rows = j * shape.d1..((j + 1) * shape.d1).min(dims.inner);
                    let cols = cb * shape.d2..((cb + 1) * shape.d2).min(dims.cols);
                    let plain = SETTING.centered_strided(
                        &encoding::rhs(shape, b.slice(s![rows, cols])),
                        encoding::transform_stride(shape),
                    );
                    for (acc, row_cts) in accs.iter_mut().zip(cts) {
                        acc.add_product(&row_cts[local], &plain);
                    }
                }
                accs.iter()
                    .zip(round.rows.clone())
                    .map(|(acc, rb)| {
                        let at = encoding::block_results(shape, dims, rb, cb);
                        let ct = rerandomize(public, acc.reduce(), &mut rng);
                        finish(&SETTING, ct, &at, flood_bits, &mut rng)
                    })
                    .collect()
            })
            .collect()
    });
    let mut bytes = Vec::new();
    for (local, rb) in round.rows.clone().enumerate() {
        for (block_replies, &cb) in replies.iter().zip(&column_blocks) {
            let block = &block_replies[local];
            block.write(&SETTING, &mut bytes);
            super::add_block(share, shape, dims, rb, cb, block.r.iter().copied());
        }
    }
    bytes
}

/// V's whole side over `channel`: returns V's share of `A·B` (`rows x cols`).
pub(crate) async fn evaluate(
    channel: &mut dyad_link::Channel,
    key: &mut PeerKey,
    b: Arc<Array2<u64>>,
    shape: BlockShape,
    dims: Dims,
    rng: &mut ChaCha20Rng,
) -> Result<Array2<u64>, OfflineError> {
    let mut share = Array2::<u64>::zeros((dims.rows, dims.cols));
    let parts = Round::parts(&shape, dims);
    for round in Round::all(&shape, dims) {
        let public = key.for_round(channel, round.results(&shape, dims)).await?;
        let message = channel.recv().await?;
        let round_c = round.clone();
        let cts = Arc::new(blocking(move || parse_message(&message, &round_c)).await?);
        for cols in &parts {
            let (seed, public, b, cts) =
                (sample::seed(rng), public.clone(), b.clone(), cts.clone());
            let (round, cols) = (round.clone(), cols.clone());
            let (bytes, next) = blocking(move || {
                let bytes = reply(
                    &public, &cts, &b, &shape, dims, &round, cols, seed, &mut share,
                );
                Ok((bytes, share))
            })
            .await?;
            share = next;
            channel.send(&bytes).await?;
        }
    }
    Ok(share)
}
