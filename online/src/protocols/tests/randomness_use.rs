//! What a party does with bad correlated randomness: reuse is an error, as are short or
//! malformed batches and a source that runs dry; and mismatched configurations are refused.

use ndarray::Array1;

use super::*;
use crate::protocols::{msb, mul};
use crate::randomness::*;
use crate::testing::pair_with;
use crate::{Prime, ProtocolError};
use dyad_testing::fixture::{self, Fixture};

/// How a [`Faulty`] source misbehaves on comparison masks.
#[derive(Clone, Copy)]
enum Fault {
    /// Behaves.
    Honest,
    /// Reports the items under other tags (as a stockpile out of step with the peer's would).
    OtherTags,
    /// Hands out its first batch again on the second request.
    Replay,
    /// Tags one item fewer than the batch holds.
    ShortTags,
    /// Returns one element fewer than asked.
    ShortBatch,
    /// Has nothing left.
    Dry,
}

/// The fixture with one fault injected into comparison masks.
struct Faulty {
    inner: Fixture,
    fault: Fault,
    first: Option<Batch<ComparisonMasks>>,
}

impl Randomness for Faulty {
    async fn matrix_triple(
        &mut self,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<Batch<MatrixTriple>, RandomnessError> {
        self.inner.matrix_triple(m, n, k).await
    }
    async fn elementwise_triples(
        &mut self,
        n: usize,
    ) -> Result<Batch<ElementwiseTriples>, RandomnessError> {
        self.inner.elementwise_triples(n).await
    }
    async fn comparison_masks(
        &mut self,
        p: Prime,
        n: usize,
    ) -> Result<Batch<ComparisonMasks>, RandomnessError> {
        match self.fault {
            Fault::Honest => self.inner.comparison_masks(p, n).await,
            Fault::OtherTags => {
                let mut batch = self.inner.comparison_masks(p, n).await?;
                batch.tags.ranges[0] = TagRange::new(0, 1_000_000, n as u64);
                Ok(batch)
            }
            Fault::Dry => Err(RandomnessError::Exhausted {
                kind: Kind::ComparisonMask { p }.to_string(),
                detail: format!("asked for {n}, 0 available"),
            }),
            Fault::Replay => match &self.first {
                Some(first) => Ok(first.clone()),
                None => {
                    let batch = self.inner.comparison_masks(p, n).await?;
                    self.first = Some(batch.clone());
                    Ok(batch)
                }
            },
            Fault::ShortTags => {
                let mut batch = self.inner.comparison_masks(p, n).await?;
                batch.tags.ranges[0].seqs.end -= 1;
                Ok(batch)
            }
            Fault::ShortBatch => {
                let mut batch = self.inner.comparison_masks(p, n).await?;
                batch.items.alpha = batch.items.alpha.slice(ndarray::s![1..]).to_owned();
                Ok(batch)
            }
        }
    }
    async fn comparison_bits(
        &mut self,
        n: usize,
    ) -> Result<Batch<ComparisonBits>, RandomnessError> {
        self.inner.comparison_bits(n).await
    }
    async fn dabits(&mut self, n: usize) -> Result<Batch<DaBits>, RandomnessError> {
        self.inner.dabits(n).await
    }
    async fn bit_triples(&mut self, n: usize) -> Result<Batch<BitTriples>, RandomnessError> {
        self.inner.bit_triples(n).await
    }
    async fn modp_triples(
        &mut self,
        p: Prime,
        n: usize,
    ) -> Result<Batch<ModpTriples>, RandomnessError> {
        self.inner.modp_triples(p, n).await
    }
    async fn scaled_modp_triples(
        &mut self,
        p: Prime,
        n: usize,
    ) -> Result<Batch<ScaledModpTriples>, RandomnessError> {
        self.inner.scaled_modp_triples(p, n).await
    }
}

async fn faulty_pair(fault: Fault) -> crate::testing::Pair<Faulty> {
    faulty_pair_of([fault, fault]).await
}

async fn faulty_pair_of(faults: [Fault; 2]) -> crate::testing::Pair<Faulty> {
    let [f0, f1] = fixture::pair(3);
    let sources = [(f0, faults[0]), (f1, faults[1])].map(|(inner, fault)| Faulty {
        inner,
        fault,
        first: None,
    });
    // The faults live in the CheckZero variants' masks.
    let config = Config {
        checkzero: crate::protocols::CheckZeroVariant::Product,
        ..Config::default()
    };
    pair_with([config; 2], sources).await.expect("parties")
}

/// Runs one comparison at both parties and returns both outcomes.
async fn compare_once(
    pair: &mut crate::testing::Pair<Faulty>,
    a: &[Array1<Z64>; 2],
) -> [Result<Array1<u8>, ProtocolError>; 2] {
    let [p0, p1] = &mut pair.parties;
    let (r0, r1) = tokio::join!(msb(p0, &a[0]), msb(p1, &a[1]));
    [r0, r1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_use_of_the_same_item_is_an_error() {
    let mut rng = rng(40);
    let mut pair = faulty_pair(Fault::Replay).await;
    let a = uniform(50, 5.0, &mut rng);
    let sh = share(&a, &mut rng);
    for r in compare_once(&mut pair, &sh).await {
        r.expect("the first use is fine");
    }
    for r in compare_once(&mut pair, &sh).await {
        let err = r.expect_err("the replayed batch must be refused");
        assert!(matches!(err, ProtocolError::Reused(_)), "{err}");
        assert!(err.to_string().contains("already used"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parties_that_take_different_items_stop_at_the_next_message() {
    let mut rng = rng(43);
    let mut pair = faulty_pair_of([Fault::Honest, Fault::OtherTags]).await;
    let sh = share(&uniform(20, 5.0, &mut rng), &mut rng);
    for r in compare_once(&mut pair, &sh).await {
        let err = r.expect_err("the stockpiles disagree");
        assert!(matches!(err, ProtocolError::Disagreement(_)), "{err}");
        assert!(
            err.to_string()
                .contains("comparison-mask/p40961 lane 0 items"),
            "{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_or_mistagged_batches_are_refused() {
    let mut rng = rng(41);
    for (fault, words) in [
        (Fault::ShortTags, "tagged"),
        (Fault::ShortBatch, "`alpha` holds"),
    ] {
        let mut pair = faulty_pair(fault).await;
        let sh = share(&uniform(20, 5.0, &mut rng), &mut rng);
        for r in compare_once(&mut pair, &sh).await {
            let err = r.expect_err("malformed batch");
            assert!(
                matches!(err, ProtocolError::MalformedRandomness { .. }),
                "{err}"
            );
            assert!(err.to_string().contains(words), "{err}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_source_is_a_clear_error() {
    let mut rng = rng(42);
    let mut pair = faulty_pair(Fault::Dry).await;
    let sh = share(&uniform(20, 5.0, &mut rng), &mut rng);
    for r in compare_once(&mut pair, &sh).await {
        let err = r.expect_err("nothing left");
        assert!(
            err.to_string().contains("not enough comparison-mask"),
            "{err}"
        );
    }
    // Other kinds still work: the party is usable after the error.
    let [p0, p1] = &mut pair.parties;
    let (a, b) = tokio::join!(mul(p0, &sh[0], &sh[0]), mul(p1, &sh[1], &sh[1]));
    assert_eq!(
        open(&(a.expect("P0"), b.expect("P1"))),
        open(&(sh[0].clone(), sh[1].clone())).mapv(|v| v * v)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parties_with_different_fixed_point_formats_refuse_to_start() {
    let other = Config {
        fixed: FixedPoint::new(20).expect("valid"),
        ..Config::default()
    };
    let result = pair_with([Config::default(), other], fixture::pair(1)).await;
    let err = result.err().expect("f = 16 against f = 20");
    assert!(matches!(err, ProtocolError::Mismatch(_)), "{err}");
    assert!(
        err.to_string().contains("f = 16") && err.to_string().contains("f = 20"),
        "{err}"
    );
}
