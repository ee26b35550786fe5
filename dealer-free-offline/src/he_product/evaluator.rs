//! V's side of a cross term: multiply E's ciphertexts by the blocks of `B`, re-randomise,
//! flood, switch down, mask out V's share and reply (PROTOCOLS.md, "V's reply").
//!
//! One deliberate difference in form from the spec's step (3): V subtracts its share `r` after
//! switching to `2^k`, where the encoding of `r` is `2^(k-64)·r` exactly, rather than
//! `round(Q·r/2^64)` before. E still decrypts `A·B - r` exactly, and no rounding of `r` enters
//! the noise.

use std::ops::Range;
use std::sync::Arc;

use ndarray::{Array2, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use super::shape::{BlockShape, Dims};
use super::{Round, encoding, noise};
use crate::OfflineError;
use crate::bits::{BitReader, BitWriter};
use crate::rlwe::ciphertext::Ciphertext;
use crate::rlwe::keys::PublicKey;
use crate::rlwe::params::{LIMBS, N, SWITCHED_BITS};
use crate::rlwe::sample::{self, Seed};
use crate::rlwe::{rerandomize::rerandomize, scale, switch, wire};

/// E's ciphertexts of one round, parsed: `cts[row][inner]` (indices within the round), NTT
/// domain, the uniform parts expanded from the message's seed.
pub(crate) fn parse_message(
    message: &[u8],
    round: &Round,
) -> Result<Vec<Vec<Ciphertext>>, OfflineError> {
    let (rows, inner) = (round.rows.len(), round.inner.len());
    let expected = 32 + (rows * inner * wire::poly_bits(LIMBS)).div_ceil(8);
    if message.len() != expected {
        return Err(OfflineError::Peer(format!(
            "{} bytes of ciphertexts, expected {expected}",
            message.len()
        )));
    }
    let seed: Seed = message[..32].try_into().expect("32 bytes");
    let mut reader = BitReader::new(&message[32..]);
    (0..rows)
        .map(|row| {
            (0..inner)
                .map(|j| {
                    let c0 = wire::get_poly(&mut reader, LIMBS)?;
                    let c1 = sample::uniform(&seed, (row * inner + j) as u64, LIMBS);
                    Ok(Ciphertext { c0, c1 })
                })
                .collect()
        })
        .collect()
}

/// V's reply for one block of the result (one round's group of inner blocks): `c1'` (all `N`
/// coefficients) and `c0'` at the results, and V's share `r` of each result.
pub(crate) struct BlockReply {
    pub c1: Vec<u128>,
    pub c0: Vec<u128>,
    pub r: Vec<u64>,
}

impl BlockReply {
    /// The wire form: `c1'` then the result coefficients of `c0'`, 80 bits each.
    fn write(&self, out: &mut Vec<u8>) {
        let mut writer = BitWriter::with_capacity((N + self.c0.len()) * SWITCHED_BITS as usize);
        for &v in self.c1.iter().chain(&self.c0) {
            wire::put_switched(&mut writer, v);
        }
        out.extend(writer.into_bytes());
    }
}

/// Finishes a re-randomised product (coefficient domain) into a reply: add flooding noise
/// uniform in `[-2^flood_bits, 2^flood_bits)` at the result coefficients `at`, switch to `2^k`,
/// and subtract `2^(k-64)·r` for a fresh uniform `r` per result, so that E decrypts `A·B - r`
/// exactly.
pub(crate) fn finish(
    mut ct: Ciphertext,
    at: &[usize],
    flood_bits: u32,
    rng: &mut ChaCha20Rng,
) -> BlockReply {
    for &j in at {
        ct.c0.add_at(j, sample::flood(rng, flood_bits));
    }
    let c1 = switch::switch_all(&ct.c1);
    let r: Vec<u64> = at.iter().map(|_| rng.next_u64()).collect();
    let mask = (1u128 << SWITCHED_BITS) - 1;
    let c0 = switch::switch_at(&ct.c0, at)
        .into_iter()
        .zip(&r)
        .map(|(c, &r)| c.wrapping_sub(u128::from(r) << (SWITCHED_BITS - 64)) & mask)
        .collect();
    BlockReply { c1, c0, r }
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
    let replies: Vec<Vec<BlockReply>> = super::compute_pool().install(|| {
        column_blocks
            .par_iter()
            .map(|&cb| {
                let mut rng = ChaCha20Rng::from_seed(seed);
                rng.set_stream(cb as u64);
                let mut accs: Vec<Ciphertext> = cts.iter().map(|_| Ciphertext::zero()).collect();
                for (local, j) in round.inner.clone().enumerate() {
                    let rows = j * shape.d1..((j + 1) * shape.d1).min(dims.inner);
                    let cols = cb * shape.d2..((cb + 1) * shape.d2).min(dims.cols);
                    let mut plain = scale::centered(&encoding::rhs(shape, b.slice(s![rows, cols])));
                    plain.to_ntt();
                    for (acc, row_cts) in accs.iter_mut().zip(cts) {
                        acc.mul_accumulate(&row_cts[local], &plain);
                    }
                }
                accs.into_iter()
                    .zip(round.rows.clone())
                    .map(|(acc, rb)| {
                        let at = encoding::block_results(shape, dims, rb, cb);
                        let ct = rerandomize(public, acc, &mut rng);
                        finish(ct, &at, flood_bits, &mut rng)
                    })
                    .collect()
            })
            .collect()
    });
    let mut bytes = Vec::new();
    for (local, rb) in round.rows.clone().enumerate() {
        for (block_replies, &cb) in replies.iter().zip(&column_blocks) {
            let block = &block_replies[local];
            block.write(&mut bytes);
            super::add_block(share, shape, dims, rb, cb, block.r.iter().copied());
        }
    }
    bytes
}

/// V's whole side over `channel`: returns V's share of `A·B` (`rows x cols`).
pub(crate) async fn evaluate(
    channel: &mut dyad_link::Channel,
    public: Arc<PublicKey>,
    b: Arc<Array2<u64>>,
    shape: BlockShape,
    dims: Dims,
    rng: &mut ChaCha20Rng,
) -> Result<Array2<u64>, OfflineError> {
    let mut share = Array2::<u64>::zeros((dims.rows, dims.cols));
    let parts = Round::parts(&shape, dims);
    for round in Round::all(&shape, dims) {
        let message = channel.recv().await?;
        let round_c = round.clone();
        let cts = Arc::new(super::blocking(move || parse_message(&message, &round_c)).await?);
        for cols in &parts {
            let (seed, public, b, cts) =
                (sample::seed(rng), public.clone(), b.clone(), cts.clone());
            let (round, cols) = (round.clone(), cols.clone());
            let (bytes, next) = super::blocking(move || {
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
