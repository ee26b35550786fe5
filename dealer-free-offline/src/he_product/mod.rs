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
//! Against the correlated-OT method of [`crate::cross`] (about 4,900 bits per
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

use std::sync::{Arc, OnceLock};

use dyad_link::{Channel, PartyId, PartyLink};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::OfflineError;
use crate::rlwe::keys::{PublicKey, SecretKey};
use shape::{BlockShape, Dims};

/// A run of row blocks that E sends in one message and V answers in one reply.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    first: usize,
    end: usize,
}

impl Chunk {
    /// The chunks of a cross term, in order.
    fn all(shape: &BlockShape, dims: Dims) -> Vec<Chunk> {
        let (row_blocks, _, _) = shape.blocks(dims);
        (0..row_blocks)
            .step_by(shape.chunk)
            .map(|first| Chunk {
                first,
                end: (first + shape.chunk).min(row_blocks),
            })
            .collect()
    }

    /// Its row blocks.
    fn rows(&self) -> std::ops::Range<usize> {
        self.first..self.end
    }

    fn len(&self) -> usize {
        self.end - self.first
    }
}

/// The threads that run the homomorphic arithmetic: one per core. (The global rayon pool is
/// oversized on purpose for CryProt's blocking OT jobs; arithmetic wants no more threads than
/// cores.)
fn compute_pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(std::thread::available_parallelism().map_or(1, usize::from))
            .thread_name(|i| format!("he-compute-{i}"))
            .build()
            .expect("a thread pool")
    })
}

/// Runs CPU-bound work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, OfflineError> + Send + 'static,
) -> Result<T, OfflineError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| OfflineError::Compute(e.to_string()))?
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

/// One party's half of the homomorphic-encryption machinery: its key pair, the peer's public
/// key once exchanged, and a channel for each role.
pub struct HeSession {
    secret: Arc<SecretKey>,
    public: PublicKey,
    peer: Option<Arc<PublicKey>>,
    /// This party as E: sends ciphertexts, receives replies.
    as_encryptor: Channel,
    /// This party as V: receives ciphertexts, sends replies.
    as_evaluator: Channel,
    rng: ChaCha20Rng,
}

impl HeSession {
    /// Opens the session's channels over `link` (the peer does the same at the same point) and
    /// makes this party's keys; the public keys travel with the first product.
    pub async fn new(link: &mut PartyLink) -> Result<HeSession, OfflineError> {
        let (first, second) = (link.channel().await?, link.channel().await?);
        let (as_encryptor, as_evaluator) = match link.party() {
            PartyId::P0 => (first, second),
            PartyId::P1 => (second, first),
        };
        let mut rng = ChaCha20Rng::from_rng(&mut rand::rng());
        let secret = SecretKey::generate(&mut rng);
        let public = PublicKey::generate(&secret, &mut rng);
        Ok(HeSession {
            secret: Arc::new(secret),
            public,
            peer: None,
            as_encryptor,
            as_evaluator,
            rng,
        })
    }

    /// Sends this party's public key and receives the peer's, once.
    async fn peer_key(&mut self) -> Result<Arc<PublicKey>, OfflineError> {
        if let Some(peer) = &self.peer {
            return Ok(peer.clone());
        }
        let mine = self.public.to_bytes();
        let (sent, received) =
            tokio::join!(self.as_encryptor.send(&mine), self.as_evaluator.recv());
        sent?;
        let peer = Arc::new(PublicKey::from_bytes(&received?)?);
        self.peer = Some(peer.clone());
        Ok(peer)
    }

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
        let peer = self.peer_key().await?;
        let mut rng_e = ChaCha20Rng::from_rng(&mut self.rng);
        let mut rng_v = ChaCha20Rng::from_rng(&mut self.rng);
        let (mine, theirs) = tokio::join!(
            encryptor::encrypt_and_decrypt(
                &mut self.as_encryptor,
                self.secret.clone(),
                Arc::new(a),
                shape,
                dims,
                &mut rng_e
            ),
            evaluator::evaluate(
                &mut self.as_evaluator,
                peer,
                Arc::new(b),
                shape,
                dims,
                &mut rng_v
            )
        );
        Ok((mine?, theirs?))
    }
}
