//! What a party does with bad correlated randomness: reuse is an error, as are short or
//! malformed batches and a source that runs dry; and mismatched configurations are refused.

use ndarray::Array1;

use super::*;
use crate::ProtocolError;
use crate::protocols::{msb, mul};
use crate::randomness::*;
use crate::testing::pair_with;
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
    async fn take_kind(&mut self, kind: Kind, n: usize) -> Result<Batch<Items>, RandomnessError> {
        let Kind::ComparisonMask { p } = kind else {
            return self.inner.take_kind(kind, n).await;
        };
        let mut masks = async || self.inner.take::<ComparisonMasks>(p, n).await;
        let batch = match self.fault {
            Fault::Honest => masks().await?,
            Fault::OtherTags => {
                let mut batch = masks().await?;
                batch.tags.ranges[0] = TagRange::new(0, 1_000_000, n as u64);
                batch
            }
            Fault::Dry => {
                return Err(RandomnessError::Exhausted {
                    kind: kind.to_string(),
                    detail: format!("asked for {n}, 0 available"),
                });
            }
            Fault::Replay => match self.first.clone() {
                Some(first) => first,
                None => {
                    let batch = masks().await?;
                    self.first = Some(batch.clone());
                    batch
                }
            },
            Fault::ShortTags => {
                let mut batch = masks().await?;
                batch.tags.ranges[0].seqs.end -= 1;
                batch
            }
            Fault::ShortBatch => {
                let mut batch = masks().await?;
                batch.items.alpha = batch.items.alpha.slice(ndarray::s![1..]).to_owned();
                batch
            }
        };
        Ok(Batch {
            tags: batch.tags,
            items: batch.items.into_items(),
        })
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
