//! Cutting a cross term into polynomial blocks, by a cost model of CPU and traffic.
//!
//! E's `A` (`rows x inner`) is cut into blocks of `d0 x d1` and V's `B` (`inner x cols`) into
//! blocks of `d1 x d2`, with `d0·d1·d2 <= N` so that one negacyclic product holds a whole block
//! product ([`super::encoding`]). E sends one ciphertext per block of `A` (`c0`, a residue per
//! prime and coefficient: the uniform `c1` travels as a seed); V replies with one ciphertext per
//! block of the result and per group of inner blocks it accumulates (`N` coefficients of `c1`
//! and the `d0·d2` result coefficients of `c0`, 80 bits each). Large `d0·d2` means few replies
//! but many ciphertexts from E, large `d1` the reverse.
//!
//! The shape with the least modelled cost wins: both parties' CPU time plus the time its bits
//! take on a link of [`LINK_BITS_PER_MICRO`] (1 Gbit/s; the paper's LAN has 5, its WAN 0.32).
//! CPU is dominated by the pointwise products, the reply's transforms and V's transforms of its
//! plaintext blocks (one per block of `B` and row chunk; a transform of `M` values and a fill
//! when `M` is small, [`crate::rlwe::strided`]).
//!
//! SecretFlow-SPU's `GetSubMatShape` minimises traffic alone, and so did this model before
//! (CPU only broke near-ties, within 5%). For Network-C's tall products that chose plaintexts
//! of stride 1, each transformed whole: a Network-C step's matrix triples took 46.1 s on one
//! worker pair against 23.0 s with the shapes chosen now, for 1.7% more traffic over the whole
//! step (`docs/results/matrix-triples-cpu.md`). The workers are CPU-bound on every machine
//! measured, so traffic costs only what it takes on the link. Network-A's two large shapes
//! are unchanged and its small ones move to power-of-two strides (its matrix triples' CPU
//! 9% less in two runs); Network-B's within noise.
//!
//! Messages are cut so that none exceeds a few megabytes ([`MESSAGE_CIPHERTEXTS`],
//! [`REPLY_BYTES`]).

use super::N;
use super::SETTING;
use super::{encoding, noise};
use crate::rlwe::strided::SMALL_LIMIT;
use crate::rlwe::wire;

/// A cross term's dimensions: E holds `A` (`rows x inner`), V holds `B` (`inner x cols`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dims {
    /// Rows of `A` and of the result.
    pub rows: usize,
    /// Columns of `A`, rows of `B`.
    pub inner: usize,
    /// Columns of `B` and of the result.
    pub cols: usize,
}

impl Dims {
    /// The dimensions of the transposed product `B^T·A^T`.
    pub fn transposed(self) -> Dims {
        Dims {
            rows: self.cols,
            inner: self.inner,
            cols: self.rows,
        }
    }
}

/// How a cross term is cut into blocks and messages.
///
/// E sends one message per run of `chunk` row blocks and `group` inner blocks; V answers each
/// with replies for runs of `part` column blocks, each reply ciphertext accumulating the
/// message's `group` inner blocks. The runs bound every message's size and both sides'
/// memory, whatever the dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockShape {
    /// Rows per block of `A`.
    pub d0: usize,
    /// Inner dimension per block.
    pub d1: usize,
    /// Columns per block of `B`.
    pub d2: usize,
    /// Inner blocks per message and per reply ciphertext (bounded by the noise budget).
    pub group: usize,
    /// Row blocks per message of E.
    pub chunk: usize,
    /// Column blocks per reply message of V.
    pub part: usize,
}

/// The link rate at which traffic is weighed against CPU time: bits per microsecond (1
/// Gbit/s).
pub const LINK_BITS_PER_MICRO: f64 = 1000.0;

/// E's ciphertexts per message, at most (about 6 MB).
pub const MESSAGE_CIPHERTEXTS: usize = 32;

/// The most bytes of one reply message of V (unless one ciphertext's reply is larger).
pub const REPLY_BYTES: usize = 8 << 20;

/// Modelled microseconds, measured with `tfhe-ntt`'s 32-bit plans on AVX2 (N = 8192): one
/// limb's NTT, one limb's pointwise multiply-accumulate, and one coefficient's switch or
/// decryption step per limb.
const NTT_MICROS: f64 = 17.0;
/// One limb's transform of a plaintext in `X^s` with `M` up to [`SMALL_LIMIT`] values: a
/// small transform and a fill of `N` residues.
const STRIDED_MICROS: f64 = 2.5;
const PRODUCT_MICROS: f64 = 3.4;
const COEFFICIENT_MICROS: f64 = 0.004;

impl BlockShape {
    /// Row blocks, inner blocks and column blocks.
    pub fn blocks(&self, dims: Dims) -> (usize, usize, usize) {
        (
            dims.rows.div_ceil(self.d0),
            dims.inner.div_ceil(self.d1),
            dims.cols.div_ceil(self.d2),
        )
    }

    /// Replies per result block: one per group of inner blocks.
    pub fn groups(&self, dims: Dims) -> usize {
        dims.inner.div_ceil(self.d1).div_ceil(self.group)
    }

    /// Whether the shape can carry a `dims` product: blocks fit the ring, the runs are not
    /// empty, and a reply's noise stays inside the budget.
    pub fn is_valid(&self, dims: Dims) -> bool {
        let positive = [self.d0, self.d1, self.d2, self.group, self.chunk, self.part];
        positive.iter().all(|&d| d > 0)
            && [dims.rows, dims.inner, dims.cols].iter().all(|&d| d > 0)
            && self.d0.saturating_mul(self.d1).saturating_mul(self.d2) <= N
            && self.group <= noise::max_blocks_per_reply(self.d1, self.d2)
    }

    /// E's ciphertexts and V's replies.
    pub fn ciphertexts(&self, dims: Dims) -> (usize, usize) {
        let (rb, ib, cb) = self.blocks(dims);
        (rb * ib, rb * cb * self.groups(dims))
    }

    /// Bits on the wire, both messages (seeds included).
    pub fn traffic_bits(&self, dims: Dims) -> u64 {
        let (sent, replies) = self.ciphertexts(dims);
        let messages = dims.rows.div_ceil(self.d0).div_ceil(self.chunk) * self.groups(dims);
        let k = SETTING.switched_bits as usize;
        let basis = SETTING.basis();
        let bits = sent * wire::poly_bits(basis, basis.len())
            + replies * N * k
            + dims.rows * dims.cols * self.groups(dims) * k
            + messages * 256;
        bits as u64
    }

    /// Modelled CPU microseconds of both parties.
    pub fn cpu_micros(&self, dims: Dims) -> f64 {
        let (rb, ib, cb) = self.blocks(dims);
        let (sent, replies) = self.ciphertexts(dims);
        let chunks = rb.div_ceil(self.chunk);
        let limbs = SETTING.limbs() as f64;
        // V transforms each block of B once per row chunk.
        let plaintext = match N / encoding::transform_stride(self) {
            m if m <= SMALL_LIMIT => STRIDED_MICROS,
            _ => NTT_MICROS,
        };
        let evaluator = (chunks * ib * cb) as f64 * limbs * plaintext
            + (rb * ib * cb * 2) as f64 * limbs * PRODUCT_MICROS
            + replies as f64 * limbs * (3.0 * NTT_MICROS + N as f64 * COEFFICIENT_MICROS);
        let encryptor = sent as f64 * limbs * (NTT_MICROS + PRODUCT_MICROS)
            + replies as f64 * SETTING.decrypt_limbs() as f64 * (2.0 * NTT_MICROS + PRODUCT_MICROS);
        evaluator + encryptor
    }

    /// Every shape for `dims` that fits the noise budget, with its traffic and CPU.
    pub fn candidates(dims: Dims) -> Vec<(BlockShape, u64, f64)> {
        balanced_sizes(dims.inner)
            .into_iter()
            .filter(|&d1| d1 <= N)
            .flat_map(|d1| {
                balanced_sizes(dims.cols)
                    .into_iter()
                    .filter(move |&d2| d1 * d2 <= N)
                    .map(move |d2| (d1, d2))
            })
            .filter_map(|(d1, d2)| {
                let group = noise::max_blocks_per_reply(d1, d2);
                (group > 0).then_some((d1, d2, group))
            })
            .flat_map(|(d1, d2, group)| {
                // The most rows a block can hold, and the most that leave a power-of-two
                // stride (a plaintext transform of `M` values instead of `N`,
                // [`super::encoding`]): the first sends fewer ciphertexts, the second costs
                // V less CPU.
                let most = [N / (d1 * d2), N / (d1 * d2).next_power_of_two()];
                let mut rows: Vec<usize> = most
                    .iter()
                    .map(|&d0| {
                        let d0 = d0.min(dims.rows);
                        // As many row blocks as that needs, evened out.
                        dims.rows.div_ceil(dims.rows.div_ceil(d0))
                    })
                    .collect();
                rows.dedup();
                rows.into_iter()
                    .map(move |d0| Self::with_messages(dims, d0, d1, d2, group))
            })
            .map(|shape| (shape, shape.traffic_bits(dims), shape.cpu_micros(dims)))
            .collect()
    }

    /// The shape of blocks `d0 x d1 x d2` whose replies sum up to `group` products, with
    /// messages cut to their limits.
    fn with_messages(dims: Dims, d0: usize, d1: usize, d2: usize, group: usize) -> BlockShape {
        let group = group.min(dims.inner.div_ceil(d1)).min(MESSAGE_CIPHERTEXTS);
        let chunk = (MESSAGE_CIPHERTEXTS / group).max(1);
        let reply = chunk * (N + d0 * d2) * SETTING.switched_bits as usize / 8;
        BlockShape {
            d0,
            d1,
            d2,
            group,
            chunk,
            part: (REPLY_BYTES / reply).max(1),
        }
    }
}

/// The cost model's rule: the item with the least CPU time plus link time (items carry their
/// traffic in bits and their CPU in microseconds).
pub fn pick<T>(items: Vec<(T, u64, f64)>) -> Option<T> {
    let cost = |bits: u64, cpu: f64| cpu + bits as f64 / LINK_BITS_PER_MICRO;
    items
        .into_iter()
        .min_by(|a, b| cost(a.1, a.2).total_cmp(&cost(b.1, b.2)))
        .map(|c| c.0)
}

/// Every block size that cuts `n` into equal-as-possible blocks: `ceil(n/t)` for each count
/// `t` of blocks (`O(sqrt n)` distinct values, found in `O(n)`).
fn balanced_sizes(n: usize) -> Vec<usize> {
    let mut sizes: Vec<usize> = (1..=n).map(|t| n.div_ceil(t)).collect();
    sizes.dedup();
    sizes
}
