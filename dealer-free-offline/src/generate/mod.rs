//! The generators: each produces this party's half of a batch of one kind of correlated
//! randomness, jointly with the peer, in the layout the online runtime consumes
//! (`dyad_online::randomness::items`). Both parties call the same generator with the same
//! arguments at the same time.

mod bit_triples;
mod bits;
mod comparison;
mod comparison_bits;
mod dabits;
mod modp;
mod triples;
mod wrap;

use dyad_link::{PartyId, PartyLink};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::OfflineError;
use crate::cot::Cots;
use crate::he_session::HeSession;

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
