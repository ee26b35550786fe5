//! Shares of matrix products where one party holds each factor, by one-sided RLWE
//! homomorphic encryption (PROTOCOLS.md, "Matrix triples by RLWE"; Cheetah's coefficient
//! encoding with SecretFlow-SPU's `2^64` scaling).
//!
//! For a cross term `A·B` the party holding `A` (E) encrypts its blocks under its own key; the
//! party holding `B` (V) multiplies them by its plaintext blocks, re-randomises, floods,
//! switches down, masks out its share `r` and replies; E decrypts `A·B - r`. A triple needs
//! two cross terms with the roles swapped, so each party is E in one and V in the other, and
//! both run at once, one in each direction of the link.
//!
//! Against the correlated-OT method of [`crate::gilboa`] (about 4,900 bits per
//! multiply-accumulate, because every bit of one factor's entries drives an OT whose
//! correlation is a whole vector), a ciphertext carries thousands of entries at a couple of
//! hundred bits per coefficient.

mod encoding;
mod encryptor;
mod evaluator;
pub mod noise;
pub mod shape;

#[cfg(test)]
mod tests;

use std::ops::Range;
use std::sync::Arc;

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::OfflineError;
use crate::he_session::HeSession;
use crate::rlwe::setting::Setting;

/// Matrix products use `N = 8192`, seven primes, the `2^64` plaintext and replies at `2^80`.
const SETTING: Setting = Setting::MATRIX;

/// The ring degree of matrix products.
const N: usize = SETTING.degree;
use shape::{BlockShape, Dims};

/// One message of E and V's replies to it: the ciphertexts of a run of row blocks and a run
/// of inner blocks (one group), answered in parts of a run of column blocks each.
#[derive(Debug, Clone)]
pub(crate) struct Round {
    /// Row blocks.
    rows: Range<usize>,
    /// Inner blocks.
    inner: Range<usize>,
}

impl Round {
    /// The rounds of a cross term, in order: row chunks, then groups.
    fn all(shape: &BlockShape, dims: Dims) -> Vec<Round> {
        let (row_blocks, inner_blocks, _) = shape.blocks(dims);
        let runs = |n: usize, step: usize| {
            (0..n)
                .step_by(step)
                .map(move |first| first..(first + step).min(n))
        };
        runs(row_blocks, shape.chunk)
            .flat_map(|rows| {
                runs(inner_blocks, shape.group).map(move |inner| Round {
                    rows: rows.clone(),
                    inner,
                })
            })
            .collect()
    }

    /// The result coefficients the round's replies reveal: every row of its row blocks, by
    /// every column (one reply per row block and column block).
    fn results(&self, shape: &BlockShape, dims: Dims) -> u64 {
        let first = self.rows.start * shape.d0;
        let last = (self.rows.end * shape.d0).min(dims.rows);
        ((last - first) * dims.cols) as u64
    }

    /// The column blocks of each reply message.
    fn parts(shape: &BlockShape, dims: Dims) -> Vec<Range<usize>> {
        let (_, _, col_blocks) = shape.blocks(dims);
        (0..col_blocks)
            .step_by(shape.part)
            .map(|first| first..(first + shape.part).min(col_blocks))
            .collect()
    }
}

/// Adds the values of the result block `(row_block, col_block)`, row-major, into `share`.
fn add_block(
    share: &mut Array2<u64>,
    shape: &BlockShape,
    dims: Dims,
    row_block: usize,
    col_block: usize,
    values: impl Iterator<Item = u64>,
) {
    let cols = shape.d2.min(dims.cols - col_block * shape.d2);
    for (at, v) in values.enumerate() {
        let cell = &mut share[[
            row_block * shape.d0 + at / cols,
            col_block * shape.d2 + at % cols,
        ]];
        *cell = cell.wrapping_add(v);
    }
}

/// Which way round a triple's cross terms run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductPlan {
    /// `false`: each party encrypts its `U_i` and multiplies by its `V_i`. `true`: each
    /// encrypts `V_i^T` and multiplies by `U_i^T` (the transposed product), when that is
    /// cheaper.
    pub transposed: bool,
    /// The cross term's dimensions in the chosen orientation.
    pub dims: Dims,
    /// Its block shape.
    pub shape: BlockShape,
}

impl ProductPlan {
    /// The plan for `U: m x n` times `V: n x k`: both orientations' shapes by the cost model
    /// of [`shape`], the cheaper by the same rule.
    pub fn for_triple(m: usize, n: usize, k: usize) -> Result<ProductPlan, OfflineError> {
        if m == 0 || n == 0 || k == 0 {
            return Err(OfflineError::Unsupported(format!(
                "an empty {m}x{n}x{k} product"
            )));
        }
        let dims = Dims {
            rows: m,
            inner: n,
            cols: k,
        };
        let candidates = [(false, dims), (true, dims.transposed())]
            .into_iter()
            .flat_map(|(transposed, dims)| {
                BlockShape::candidates(dims)
                    .into_iter()
                    .map(move |(shape, bits, cpu)| {
                        let plan = ProductPlan {
                            transposed,
                            dims,
                            shape,
                        };
                        (plan, bits, cpu)
                    })
            })
            .collect();
        shape::pick(candidates).ok_or_else(|| {
            OfflineError::Unsupported(format!(
                "no RLWE block shape for a {m}x{n}x{k} product fits the noise budget"
            ))
        })
    }
}

impl HeSession {
    /// Both cross terms of one product at once: this party is E for `a` (`rows x inner`) and V
    /// for `b` (`inner x cols`), the peer the reverse with its own `a` and `b`. Returns this
    /// party's shares of `a·b_peer` and of `a_peer·b`, whose sum with the peer's sum is
    /// `a_0·b_1 + a_1·b_0`.
    pub async fn cross_terms(
        &mut self,
        shape: BlockShape,
        dims: Dims,
        a: Array2<u64>,
        b: Array2<u64>,
    ) -> Result<(Array2<u64>, Array2<u64>), OfflineError> {
        if a.dim() != (dims.rows, dims.inner) || b.dim() != (dims.inner, dims.cols) {
            return Err(OfflineError::Unsupported(format!(
                "factors of {:?} and {:?} for a {dims:?} product",
                a.dim(),
                b.dim()
            )));
        }
        if !shape.is_valid(dims) {
            return Err(OfflineError::Unsupported(format!(
                "the block shape {shape:?} cannot carry a {dims:?} product"
            )));
        }
        let mut rng_e = ChaCha20Rng::from_rng(&mut self.rng);
        let mut rng_v = ChaCha20Rng::from_rng(&mut self.rng);
        let (keys, as_encryptor, as_evaluator) = self.for_product(SETTING);
        tokio::try_join!(
            encryptor::encrypt_and_decrypt(
                as_encryptor,
                &mut keys.own,
                Arc::new(a),
                shape,
                dims,
                &mut rng_e
            ),
            evaluator::evaluate(
                as_evaluator,
                &mut keys.peer,
                Arc::new(b),
                shape,
                dims,
                &mut rng_v
            )
        )
    }
}
