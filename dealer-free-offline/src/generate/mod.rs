//! The generators: each produces this party's half of a batch of one kind of correlated
//! randomness, jointly with the peer, in the layout the online runtime consumes
//! (`dyad_randomness::items`). Both parties call the same generator with the same
//! arguments at the same time.

mod bit_triples;
mod comparison;
mod comparison_bits;
mod dabits;
mod modp;
mod shared_bits;
mod triples;
mod wrap;

use dyad_link::{PartyId, PartyLink};
use dyad_randomness::Kind;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::cot::Cots;
use crate::he_product::ProductPlan;
use crate::he_session::HeSession;
use crate::rlwe::setting::Setting;
use crate::{OfflineError, he_product, simd_product};

/// How matrix triples' cross terms are made. Both workers of a pair must use the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MatrixTripleMethod {
    /// One-sided RLWE homomorphic encryption (PROTOCOLS.md, "Matrix triples by RLWE").
    #[default]
    He,
    /// Correlated OT, Gilboa / SecureML: the baseline.
    Ot,
}

impl std::fmt::Display for MatrixTripleMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MatrixTripleMethod::He => "he",
            MatrixTripleMethod::Ot => "ot",
        })
    }
}

impl std::str::FromStr for MatrixTripleMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "he" => Ok(MatrixTripleMethod::He),
            "ot" => Ok(MatrixTripleMethod::Ot),
            _ => Err(format!(
                "unknown matrix-triple method {s:?} (expected `he` or `ot`)"
            )),
        }
    }
}

/// The RLWE settings that making `kinds` uses, each with the most flooding (in bits) any of its
/// replies needs: matrix triples by [`MatrixTripleMethod::He`], and mod-p triples of a prime
/// with SIMD slots.
pub fn rlwe_settings(
    kinds: impl IntoIterator<Item = Kind>,
    matrix_method: MatrixTripleMethod,
) -> Vec<(Setting, u32)> {
    let mut settings: Vec<(Setting, u32)> = Vec::new();
    for kind in kinds {
        let used = match kind {
            Kind::MatrixTriple { m, n, k } if matrix_method == MatrixTripleMethod::He => {
                ProductPlan::for_triple(m, n, k).ok().map(|plan| {
                    let shape = plan.shape;
                    let flood = he_product::noise::flood_bits(shape.group, shape.d1, shape.d2);
                    (Setting::MATRIX, flood)
                })
            }
            Kind::ModpTriple { p } | Kind::ScaledModpTriple { p } if simd_product::supports(p) => {
                Some((
                    Setting::simd(p.value()),
                    simd_product::noise::flood_bits(p.value()),
                ))
            }
            _ => None,
        };
        if let Some((setting, flood)) = used {
            match settings.iter_mut().find(|(s, _)| *s == setting) {
                Some((_, most)) => *most = (*most).max(flood),
                None => settings.push((setting, flood)),
            }
        }
    }
    settings
}

/// One party's generator: its COT channels in both directions, its homomorphic-encryption
/// session, and its private coins.
pub struct Generator {
    party: PartyId,
    cots: Cots,
    he: HeSession,
    matrix_method: MatrixTripleMethod,
    rng: ChaCha20Rng,
}

impl Generator {
    /// Sets up the OT and homomorphic-encryption machinery with the peer over `link` (base OTs
    /// and the public-key exchange run on first use). Matrix triples use RLWE.
    pub async fn new(link: &mut PartyLink) -> Result<Generator, OfflineError> {
        Ok(Generator {
            party: link.party(),
            cots: Cots::new(link).await?,
            he: HeSession::new(link).await?,
            matrix_method: MatrixTripleMethod::default(),
            rng: ChaCha20Rng::from_rng(&mut rand::rng()),
        })
    }

    /// Makes matrix triples by `method` from now on (the peer must do the same).
    pub fn set_matrix_method(&mut self, method: MatrixTripleMethod) {
        self.matrix_method = method;
    }

    /// Which party this is.
    pub fn party(&self) -> PartyId {
        self.party
    }
}
