//! One party's homomorphic-encryption session with the peer: its key pair, the peer's public
//! key once exchanged, one channel per role (so that both cross terms of a product run at
//! once, one in each direction of the link), and the threads the arithmetic runs on. Matrix
//! products ([`crate::he_product`]) and elementwise mod-p products
//! ([`crate::simd_product`]) share it: they are ciphertexts of the same key over more or fewer
//! primes.

use std::sync::{Arc, OnceLock};

use dyad_link::{Channel, PartyId, PartyLink};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::OfflineError;
use crate::rlwe::keys::{PublicKey, SecretKey};
use crate::rlwe::params::DEGREES;

/// The threads that run the homomorphic arithmetic: one per core. (The global rayon pool is
/// oversized on purpose for CryProt's blocking OT jobs; arithmetic wants no more threads than
/// cores.)
pub(crate) fn compute_pool() -> &'static rayon::ThreadPool {
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
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, OfflineError> + Send + 'static,
) -> Result<T, OfflineError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| OfflineError::Compute(e.to_string()))?
}

/// This party's key pair of one ring degree, and the peer's public key once exchanged.
struct Keys {
    secret: Arc<SecretKey>,
    public: PublicKey,
    peer: Option<Arc<PublicKey>>,
}

/// One party's half of the homomorphic-encryption machinery: a key pair per ring degree, the
/// peer's public keys once exchanged, and a channel for each role.
pub struct HeSession {
    /// Which party this is (protocols that split work between the roles read it).
    pub(crate) party: PartyId,
    keys: Vec<(usize, Keys)>,
    /// This party as E: sends ciphertexts, receives replies.
    pub(crate) as_encryptor: Channel,
    /// This party as V: receives ciphertexts, sends replies.
    pub(crate) as_evaluator: Channel,
    pub(crate) rng: ChaCha20Rng,
}

impl HeSession {
    /// Opens the session's channels over `link` (the peer does the same at the same point) and
    /// makes this party's keys; a public key travels with the first product of its degree.
    pub async fn new(link: &mut PartyLink) -> Result<HeSession, OfflineError> {
        let (first, second) = (link.channel().await?, link.channel().await?);
        let (as_encryptor, as_evaluator) = match link.party() {
            PartyId::P0 => (first, second),
            PartyId::P1 => (second, first),
        };
        let mut rng = ChaCha20Rng::from_rng(&mut rand::rng());
        let keys = DEGREES
            .iter()
            .map(|&degree| {
                let secret = SecretKey::generate(&mut rng, degree);
                let public = PublicKey::generate(&secret, &mut rng);
                let keys = Keys {
                    secret: Arc::new(secret),
                    public,
                    peer: None,
                };
                (degree, keys)
            })
            .collect();
        Ok(HeSession {
            party: link.party(),
            keys,
            as_encryptor,
            as_evaluator,
            rng,
        })
    }

    fn keys(&mut self, degree: usize) -> &mut Keys {
        &mut self
            .keys
            .iter_mut()
            .find(|(d, _)| *d == degree)
            .expect("a key pair for each of DEGREES")
            .1
    }

    /// This party's secret key of `degree`.
    pub(crate) fn secret(&mut self, degree: usize) -> Arc<SecretKey> {
        self.keys(degree).secret.clone()
    }

    /// The peer's public key of `degree`: sends this party's and receives the peer's, once.
    pub(crate) async fn peer_key(&mut self, degree: usize) -> Result<Arc<PublicKey>, OfflineError> {
        if let Some(peer) = &self.keys(degree).peer {
            return Ok(peer.clone());
        }
        let mine = self.keys(degree).public.to_bytes();
        let (sent, received) =
            tokio::join!(self.as_encryptor.send(&mine), self.as_evaluator.recv());
        sent?;
        let peer = Arc::new(PublicKey::from_bytes(&received?, degree)?);
        self.keys(degree).peer = Some(peer.clone());
        Ok(peer)
    }
}
