//! The randomness contract between Dyad's two phases: what the offline generators produce and
//! the online protocols consume, and nothing of either side's machinery.
//!
//! - the kinds and their shapes ([`Kind`]), the item types in their exact layouts ([`items`]),
//!   and their records ([`Codec`]);
//! - the key a matrix triple's record holds in place of `U_i, V_i` ([`ShareSeed`]);
//! - the relation each kind satisfies ([`relation`]), and [`matmul`], the ring product that the
//!   matrix triple's relation (and the online protocols) compute;
//! - use-once by tag ([`UseOnce`]);
//! - demand and plans ([`Demand`], [`Plan`]): counts per kind, computed where the network is
//!   known and handed to the offline workers as data;
//! - [`Randomness`], the one seam through which online code takes items.
//!
//! Every batch carries its [`Tags`]: the kind (with its shape) names a stream, and the ranges
//! say which sequence numbers of that stream the batch holds. The offline worker pair fixes
//! the numbering, so both parties' stockpiles hold the two halves of item `(stream, seq)`
//! under the same tag. [`UseOnce`] records every tag a party consumes and refuses a second use.

pub mod codec;
mod demand;
mod item;
pub mod items;
mod matmul;
mod plan;
mod record_error;
pub mod relation;
mod share_seed;
mod use_once;

use std::future::Future;

pub use codec::Codec;
pub use demand::Demand;
pub use dyad_vocabulary::fp::{self, Fp, Prime};
pub use dyad_vocabulary::{Batch, Kind, TagRange, Tags};
pub use dyad_vocabulary::{UnknownKind, Z64};
pub use item::{Item, Items};
pub use items::{
    BitTriples, ComparisonBits, ComparisonMasks, DaBits, ElementwiseTriples, MatrixTriple,
    ModpTriples, ScaledModpTriples,
};
pub use matmul::matmul;
pub use plan::{Plan, PlanError};
pub use record_error::RecordError;
pub use share_seed::{MAX_SHARE_WORDS, SEED_BYTES, ShareSeed};
pub use use_once::{Reused, UseOnce};

/// Why a source could not hand out what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RandomnessError {
    /// The source has too few items of a kind (a stockpile that ran dry).
    #[error("not enough {kind} correlated randomness: {detail}")]
    Exhausted {
        /// The stream that ran short.
        kind: String,
        /// What is missing.
        detail: String,
    },
    /// The source failed or returned something unusable.
    #[error("the correlated-randomness source failed: {0}")]
    Source(String),
    /// The source handed out a batch of another kind than the one asked for.
    #[error("the correlated-randomness source handed out another kind than {0}")]
    OtherKind(Kind),
    /// The party link failed while the two sources coordinated what to take.
    #[error("the link to the peer failed while agreeing on correlated randomness: {0}")]
    Link(#[from] dyad_link::LinkError),
    /// The two parties' sources are set up differently (their stockpiles' shards, say).
    #[error("the parties' correlated-randomness sources differ:\n  {0}")]
    Disagreement(dyad_link::Disagreement),
    /// The peer's terms cannot be read.
    #[error(transparent)]
    Unreadable(#[from] dyad_link::TermsError),
}

impl From<dyad_link::AgreementError> for RandomnessError {
    fn from(error: dyad_link::AgreementError) -> Self {
        match error {
            dyad_link::AgreementError::Link(e) => RandomnessError::Link(e),
            dyad_link::AgreementError::Unreadable(e) => RandomnessError::Unreadable(e),
            dyad_link::AgreementError::Differ(d) => RandomnessError::Disagreement(d),
        }
    }
}

/// Where a party's half of the correlated randomness comes from: its own stockpile (the
/// store client) or, in this crate's tests, an in-process fixture.
///
/// Each call hands out fresh items and never the same item twice; the returned batch holds
/// exactly the number of elements asked for. Both parties issue the same calls in the same
/// order, so they receive the two halves of the same items.
pub trait Randomness: Send {
    /// `n` items of `kind` (a matrix triple's stream hands out one triple per item), as the
    /// layout of that kind. Sources implement this one method; protocols call [`Self::take`].
    fn take_kind(
        &mut self,
        kind: Kind,
        n: usize,
    ) -> impl Future<Output = Result<Batch<Items>, RandomnessError>> + Send;

    /// `n` items of type `T` and `shape`: `take::<DaBits>((), n)`,
    /// `take::<ComparisonMasks>(p, n)`, `take::<MatrixTriple>((m, n, k), 1)`.
    fn take<T: Item>(
        &mut self,
        shape: T::Shape,
        n: usize,
    ) -> impl Future<Output = Result<Batch<T>, RandomnessError>> + Send {
        async move {
            let kind = T::kind(shape);
            let Batch { tags, items } = self.take_kind(kind, n).await?;
            match T::from_items(items) {
                Some(items) => Ok(Batch { tags, items }),
                None => Err(RandomnessError::OtherKind(kind)),
            }
        }
    }

    /// How long this source has kept its callers waiting so far (a stockpile's store round
    /// trips and dry spells); jobs report it beside their online time. Zero for sources that
    /// never wait.
    fn time_waiting(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}
