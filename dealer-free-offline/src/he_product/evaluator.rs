//! V's side of a cross term: multiply E's ciphertexts by the blocks of `B`, re-randomise,
//! flood, switch down, mask out V's share and reply (PROTOCOLS.md, "V's reply").

use std::sync::Arc;

use ndarray::{Array2, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use super::shape::{BlockShape, Dims};
use super::{Chunk, encoding, noise};
use crate::OfflineError;
use crate::bits::BitReader;
use crate::rlwe::ciphertext::Ciphertext;
use crate::rlwe::keys::PublicKey;
use crate::rlwe::params::{LIMBS, N, SWITCHED_BITS};
use crate::rlwe::sample::{self, Seed};
use crate::rlwe::{rerandomize::rerandomize, scale, switch, wire};

/// E's ciphertexts of one chunk, parsed: `cts[row_block][inner_block]`, NTT domain.
pub(crate) fn parse_message(
    message: &[u8],
    chunk: &Chunk,
    inner_blocks: usize,
) -> Result<Vec<Vec<Ciphertext>>, OfflineError> {
    let expected = 32 + (chunk.len() * inner_blocks * wire::poly_bits(LIMBS)).div_ceil(8);
    if message.len() != expected {
        return Err(OfflineError::Peer(format!(
            "{} bytes of ciphertexts, expected {expected}",
            message.len()
        )));
    }
    let seed: Seed = message[..32].try_into().expect("32 bytes");
    let mut reader = BitReader::new(&message[32..]);
    (0..chunk.len())
        .map(|local| {
            (0..inner_blocks)
                .map(|j| {
                    let c0 = wire::get_poly(&mut reader, LIMBS)?;
                    let stream = (local * inner_blocks + j) as u64;
                    let c1 = sample::uniform(&seed, stream, LIMBS);
                    Ok(Ciphertext { c0, c1 })
                })
                .collect()
        })
        .collect()
}

/// V's reply for one block of the result and one group of inner blocks: `c1'` (all `N`
/// coefficients) and `c0'` at the results, and V's share `r` of each result.
pub(crate) struct BlockReply {
    pub c1: Vec<u128>,
    pub c0: Vec<u128>,
    pub r: Vec<u64>,
}

impl BlockReply {
    /// The wire form: `c1'` then the result coefficients of `c0'`, 80 bits each.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let mut writer = crate::bits::BitWriter::with_capacity((N + self.c0.len()) * 80);
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

/// V's share `r` of the results of one block of the result (one group's reply).
pub(crate) struct BlockShare {
    row_block: usize,
    col_block: usize,
    r: Vec<u64>,
}

/// V's work for one chunk: the reply bytes (row block, column block, group order) and V's
/// shares of each reply.
pub(crate) fn reply_chunk(
    public: &PublicKey,
    cts: &[Vec<Ciphertext>],
    b: &Array2<u64>,
    shape: &BlockShape,
    dims: Dims,
    chunk: &Chunk,
    seed: Seed,
) -> (Vec<u8>, Vec<BlockShare>) {
    let (_, inner_blocks, col_blocks) = shape.blocks(dims);
    let groups = shape.groups(dims);
    let flood_bits = noise::flood_bits(shape.group, shape.d1, shape.d2);
    let tasks: Vec<(usize, usize)> = (0..col_blocks)
        .flat_map(|cb| (0..groups).map(move |g| (cb, g)))
        .collect();
    let replies: Vec<Vec<BlockReply>> = super::compute_pool().install(|| {
        tasks
            .par_iter()
            .enumerate()
            .map(|(task, &(cb, g))| {
                let mut rng = ChaCha20Rng::from_seed(seed);
                rng.set_stream(task as u64);
                let mut accs: Vec<Ciphertext> = chunk.rows().map(|_| Ciphertext::zero()).collect();
                let first = g * shape.group;
                for j in first..(first + shape.group).min(inner_blocks) {
                    let rows = j * shape.d1..((j + 1) * shape.d1).min(dims.inner);
                    let cols = cb * shape.d2..((cb + 1) * shape.d2).min(dims.cols);
                    let block = b.slice(s![rows, cols]);
                    let mut plain = scale::centered(&encoding::rhs(shape, block));
                    plain.to_ntt();
                    for (acc, row_cts) in accs.iter_mut().zip(cts) {
                        acc.mul_accumulate(&row_cts[j], &plain);
                    }
                }
                accs.into_iter()
                    .zip(chunk.rows())
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
    let mut shares = Vec::new();
    for (local, rb) in chunk.rows().enumerate() {
        for (task, &(cb, _)) in tasks.iter().enumerate() {
            let reply = &replies[task][local];
            reply.write(&mut bytes);
            shares.push(BlockShare {
                row_block: rb,
                col_block: cb,
                r: reply.r.clone(),
            });
        }
    }
    (bytes, shares)
}

/// Adds V's shares of one chunk into `share` (`rows x cols`).
pub(crate) fn add_shares(
    share: &mut Array2<u64>,
    shape: &BlockShape,
    dims: Dims,
    shares: &[BlockShare],
) {
    for block in shares {
        let values = block.r.iter().copied();
        super::add_block(share, shape, dims, block.row_block, block.col_block, values);
    }
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
    let (_, inner_blocks, _) = shape.blocks(dims);
    for chunk in Chunk::all(&shape, dims) {
        let message = channel.recv().await?;
        let seed = sample::seed(rng);
        let (public, b) = (public.clone(), b.clone());
        let (bytes, shares) = tokio::task::spawn_blocking(move || {
            let cts = parse_message(&message, &chunk, inner_blocks)?;
            Ok::<_, OfflineError>(reply_chunk(&public, &cts, &b, &shape, dims, &chunk, seed))
        })
        .await
        .map_err(|e| OfflineError::Peer(format!("the reply computation failed: {e}")))??;
        channel.send(&bytes).await?;
        add_shares(&mut share, &shape, dims, &shares);
    }
    Ok(share)
}
