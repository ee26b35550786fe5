//! One party's homomorphic-encryption session with the peer: its key pair of each setting, the
//! peer's public keys, one channel per role (so that both cross terms of a product run at
//! once, one in each direction of the link), and the threads the arithmetic runs on. Matrix
//! products ([`crate::he_product`]) and elementwise mod-p products ([`crate::simd_product`])
//! share it, each with keys of its own setting (PROTOCOLS.md: "every key and ciphertext at its
//! own modulus").
//!
//! # Key lifetimes
//!
//! A key pair serves at most `2^c` result coefficients of replies (`c` =
//! [`Setting::key_lifetime_bits`]), so that the flooding's statistical distance summed over the
//! key's lifetime stays below `2^-40` (see [`crate::rlwe::setting`]). Before each round of a
//! product, both parties count the result coefficients the round will reveal under the
//! encrypting party's current key (they compute the same count from the round's shape); if the
//! key cannot take them, the encrypting party makes a fresh key pair and sends its public key
//! ahead of the round's ciphertexts, and the other party expects it there. The first round of
//! a setting starts its first key the same way.

use std::sync::{Arc, OnceLock};

use dyad_link::{Channel, PartyId, PartyLink};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::OfflineError;
use crate::rlwe::keys::{PublicKey, SecretKey};
use crate::rlwe::setting::Setting;

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

/// How many result coefficients have been revealed under one key pair, against its lifetime.
#[derive(Debug, Clone, Copy)]
struct Lifetime {
    /// The key serves at most `2^bits` result coefficients.
    bits: u32,
    /// Revealed under the current key; `None` before the first key.
    used: Option<u64>,
}

impl Lifetime {
    fn new(setting: &Setting) -> Lifetime {
        Lifetime {
            bits: setting.key_lifetime_bits,
            used: None,
        }
    }

    /// Whether a round revealing `coefficients` needs a fresh key first, and counts them
    /// against the key that will carry them. A round beyond a whole key's lifetime is refused
    /// (the block shapes keep rounds far smaller).
    fn admit(&mut self, setting: &Setting, coefficients: u64) -> Result<bool, OfflineError> {
        let limit = 1u64 << self.bits;
        if coefficients > limit {
            return Err(OfflineError::Unsupported(format!(
                "a round revealing {coefficients} coefficients under one key of the {} setting, \
                 whose keys serve at most 2^{}",
                setting.name(),
                self.bits
            )));
        }
        let fresh = self.used.is_none_or(|used| used + coefficients > limit);
        let before = if fresh { 0 } else { self.used.unwrap_or(0) };
        self.used = Some(before + coefficients);
        Ok(fresh)
    }
}

/// This party's key pair of one setting, as the encrypting party of its products.
pub(crate) struct OwnKey {
    setting: Setting,
    secret: Option<Arc<SecretKey>>,
    lifetime: Lifetime,
    /// Key pairs made so far.
    made: u64,
    rng: ChaCha20Rng,
}

impl OwnKey {
    fn new(setting: Setting, rng: ChaCha20Rng) -> OwnKey {
        OwnKey {
            setting,
            secret: None,
            lifetime: Lifetime::new(&setting),
            made: 0,
            rng,
        }
    }

    /// The secret key to encrypt a round revealing `coefficients` under: the current one, or a
    /// fresh pair whose public key goes to the peer over `channel` first.
    pub(crate) async fn for_round(
        &mut self,
        channel: &mut Channel,
        coefficients: u64,
    ) -> Result<Arc<SecretKey>, OfflineError> {
        if self.lifetime.admit(&self.setting, coefficients)? || self.secret.is_none() {
            let (setting, mut rng) = (self.setting, ChaCha20Rng::from_rng(&mut self.rng));
            let (secret, public) = blocking(move || {
                let secret = SecretKey::generate(&mut rng, &setting);
                let public = PublicKey::generate(&secret, &mut rng).to_bytes();
                Ok((secret, public))
            })
            .await?;
            channel.send(&public).await?;
            self.made += 1;
            if self.made > 1 {
                tracing::info!(
                    "rlwe setting {}: key {} after 2^{} result coefficients on the last one \
                     (statistical distance spent <= 2^-41)",
                    self.setting.name(),
                    self.made,
                    self.lifetime.bits
                );
            }
            self.secret = Some(Arc::new(secret));
        }
        Ok(self.secret.clone().expect("a key was made above"))
    }
}

/// The peer's public key of one setting, as the evaluating party of its products.
pub(crate) struct PeerKey {
    setting: Setting,
    public: Option<Arc<PublicKey>>,
    lifetime: Lifetime,
}

impl PeerKey {
    fn new(setting: Setting) -> PeerKey {
        PeerKey {
            setting,
            public: None,
            lifetime: Lifetime::new(&setting),
        }
    }

    /// The peer's public key for a round revealing `coefficients`: the current one, or the
    /// fresh one the peer sends over `channel` ahead of the round.
    pub(crate) async fn for_round(
        &mut self,
        channel: &mut Channel,
        coefficients: u64,
    ) -> Result<Arc<PublicKey>, OfflineError> {
        if self.lifetime.admit(&self.setting, coefficients)? || self.public.is_none() {
            let bytes = channel.recv().await?;
            let setting = self.setting;
            let public = blocking(move || PublicKey::from_bytes(&bytes, &setting)).await?;
            self.public = Some(Arc::new(public));
        }
        Ok(self.public.clone().expect("a key was received above"))
    }

    /// The peer's current public key, if one has arrived.
    #[cfg(test)]
    pub(crate) fn current(&self) -> Option<&PublicKey> {
        self.public.as_deref()
    }
}

/// Both keys of one setting: this party's and the peer's.
pub(crate) struct SettingKeys {
    pub(crate) own: OwnKey,
    pub(crate) peer: PeerKey,
}

/// One party's half of the homomorphic-encryption machinery: a key pair per setting, the
/// peer's public keys, and a channel for each role.
pub struct HeSession {
    /// Which party this is (protocols that split work between the roles read it).
    pub(crate) party: PartyId,
    keys: Vec<SettingKeys>,
    /// This party as E: sends keys and ciphertexts, receives replies.
    pub(crate) as_encryptor: Channel,
    /// This party as V: receives keys and ciphertexts, sends replies.
    pub(crate) as_evaluator: Channel,
    pub(crate) rng: ChaCha20Rng,
}

impl HeSession {
    /// Opens the session's channels over `link` (the peer does the same at the same point).
    /// Keys are made per setting on its first use and travel with its first round.
    pub async fn new(link: &mut PartyLink) -> Result<HeSession, OfflineError> {
        let (first, second) = (link.channel().await?, link.channel().await?);
        let (as_encryptor, as_evaluator) = match link.party() {
            PartyId::P0 => (first, second),
            PartyId::P1 => (second, first),
        };
        Ok(HeSession {
            party: link.party(),
            keys: Vec::new(),
            as_encryptor,
            as_evaluator,
            rng: ChaCha20Rng::from_rng(&mut rand::rng()),
        })
    }

    /// The keys of `setting`, the channels, and a fresh generator for each role: what one
    /// product's two cross terms need at once.
    pub(crate) fn for_product(
        &mut self,
        setting: Setting,
    ) -> (&mut SettingKeys, &mut Channel, &mut Channel) {
        let at = match self.keys.iter().position(|k| k.own.setting == setting) {
            Some(at) => at,
            None => {
                let rng = ChaCha20Rng::from_rng(&mut self.rng);
                self.keys.push(SettingKeys {
                    own: OwnKey::new(setting, rng),
                    peer: PeerKey::new(setting),
                });
                self.keys.len() - 1
            }
        };
        (
            &mut self.keys[at],
            &mut self.as_encryptor,
            &mut self.as_evaluator,
        )
    }

    /// The peer's current public key of `setting`, if one has arrived.
    #[cfg(test)]
    pub(crate) fn peer_key(&self, setting: &Setting) -> Option<&PublicKey> {
        self.keys
            .iter()
            .find(|k| k.own.setting == *setting)
            .and_then(|k| k.peer.current())
    }

    /// Key pairs this party has made for `setting` so far.
    #[cfg(test)]
    pub(crate) fn keys_made(&self, setting: &Setting) -> u64 {
        self.keys
            .iter()
            .find(|k| k.own.setting == *setting)
            .map_or(0, |k| k.own.made)
    }
}

#[cfg(test)]
mod tests {
    use dyad_link::loopback_pair;
    use dyad_randomness::Prime;
    use ndarray::Array2;
    use rand::RngExt;

    use super::*;
    use crate::he_product::ProductPlan;
    use crate::rlwe::ciphertext::Ciphertext;
    use crate::rlwe::params::he_standard_max_log2_q;
    use crate::rlwe::reply::finish;
    use crate::rlwe::rerandomize::rerandomize;
    use crate::rlwe::{encrypt, sample};

    #[test]
    fn a_lifetime_admits_exactly_its_coefficients_then_asks_for_a_fresh_key() {
        let setting = Setting {
            key_lifetime_bits: 13,
            ..Setting::MATRIX
        };
        let mut lifetime = Lifetime::new(&setting);
        assert!(
            lifetime.admit(&setting, 3000).expect("fits"),
            "the first key"
        );
        assert!(!lifetime.admit(&setting, 3000).expect("fits"));
        assert!(
            !lifetime.admit(&setting, 2192).expect("fits"),
            "exactly 2^13"
        );
        assert!(lifetime.admit(&setting, 1).expect("fits"), "one more");
        assert!(
            lifetime.admit(&setting, 8193).is_err(),
            "beyond a whole lifetime"
        );
        assert!(
            lifetime.admit(&setting, 8192).expect("fits"),
            "a whole lifetime"
        );
    }

    /// Every key a party receives, and so every encryption of zero it makes under one, is at
    /// its setting's modulus and inside the HE Standard's table; before December 2026 the
    /// `N = 4096` key travelled at the matrix setting's six primes (`log2 Q = 186 > 109`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_keys_each_party_receives_are_at_their_settings_modulus() {
        let (mut l0, mut l1) = loopback_pair().await.expect("link");
        let (mut s0, mut s1) =
            tokio::try_join!(HeSession::new(&mut l0), HeSession::new(&mut l1)).expect("sessions");
        let plan = ProductPlan::for_triple(4, 9, 3).expect("a plan");
        let (a, b) = (Array2::<u64>::ones((4, 9)), Array2::<u64>::ones((9, 3)));
        let (r0, r1) = tokio::join!(
            s0.cross_terms(plan.shape, plan.dims, a.clone(), b.clone()),
            s1.cross_terms(plan.shape, plan.dims, a, b)
        );
        r0.expect("P0's matrix product");
        r1.expect("P1's matrix product");
        // Long enough that each party is E for some of the values.
        let (p, n) = (Prime::new(40961).expect("a prime"), 8200);
        let (r0, r1) = tokio::join!(
            s0.simd_cross_sum(p, vec![1; n], vec![2; n]),
            s1.simd_cross_sum(p, vec![3; n], vec![4; n])
        );
        r0.expect("P0's SIMD product");
        r1.expect("P1's SIMD product");
        for (party, session) in [("P0", &s0), ("P1", &s1)] {
            for setting in [Setting::MATRIX, Setting::simd(40961)] {
                let key = session.peer_key(&setting).expect("a key arrived");
                let bound = he_standard_max_log2_q(setting.degree).expect("in the table");
                for part in [&key.p0, &key.p1] {
                    let log2_q = part.basis().log2_q(part.limbs());
                    assert!(
                        log2_q <= bound,
                        "{party}'s {} key at log2 Q = {log2_q} > {bound} for N = {}",
                        setting.name(),
                        setting.degree
                    );
                    assert_eq!(part.basis(), setting.basis(), "{party}: {}", setting.name());
                    assert_eq!(part.limbs(), setting.limbs());
                }
                assert_eq!(session.keys_made(&setting), 1, "{party}: one key so far");
            }
        }
    }

    /// E and V agree on when a key runs out: after `2^13` coefficients of a shortened
    /// lifetime E sends a fresh public key, V takes it, and a reply V makes under it decrypts
    /// with E's new secret.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keys_rotate_at_the_same_round_on_both_sides() {
        let setting = Setting {
            key_lifetime_bits: 13,
            ..Setting::simd(40961)
        };
        let (mut l0, mut l1) = loopback_pair().await.expect("link");
        let (mut e_channel, mut v_channel) =
            tokio::try_join!(l0.channel(), l1.channel()).expect("channels");
        let mut own = OwnKey::new(setting, ChaCha20Rng::seed_from_u64(1));
        let mut peer = PeerKey::new(setting);
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let at: Vec<usize> = (0..setting.degree).collect();
        for (round, made) in [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3)] {
            let (secret, public) = tokio::try_join!(
                own.for_round(&mut e_channel, 3000),
                peer.for_round(&mut v_channel, 3000)
            )
            .expect("keys");
            assert_eq!(own.made, made, "round {round}");
            // A product of E's message m by V's 1, replied under the key V holds.
            let m: Vec<(usize, u64)> = (0..setting.degree)
                .map(|j| (j, rng.random_range(0..40961)))
                .collect();
            let seed = sample::seed(&mut rng);
            let c0 = encrypt(&secret, setting.scaled(&m), &seed, 0, &mut rng);
            let ct = Ciphertext {
                c0,
                c1: sample::uniform(&seed, 0, setting.basis(), setting.limbs()),
            };
            let mut one = setting.centered(&[(0, 1)]);
            one.to_ntt();
            let mut product = Ciphertext::zero(&setting);
            product.mul_accumulate(&ct, &one);
            let reply = finish(
                &setting,
                rerandomize(&public, product, &mut rng),
                &at,
                setting.flood_bits(1 << 20),
                &mut rng,
            );
            let c0: Vec<(usize, u128)> = at.iter().copied().zip(reply.c0).collect();
            let decrypted = setting.decrypt(&secret, &reply.c1, &c0);
            for ((x, r), (_, m)) in decrypted.into_iter().zip(&reply.r).zip(&m) {
                assert_eq!((setting.decode(x) + r) % 40961, *m, "round {round}");
            }
        }
    }
}
