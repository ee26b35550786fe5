//! Every kind's records round-trip through [`Codec`] and short records are refused.

use dyad_randomness::*;
use dyad_testing::fixture;

async fn round_trip<T, F>(kind: Kind, take: F)
where
    T: Codec + std::fmt::Debug,
    F: AsyncFnOnce(&mut fixture::Fixture) -> Batch<T>,
{
    let [mut source, _] = fixture::pair(5);
    let batch = take(&mut source).await;
    let bytes = batch.items.encode();
    assert_eq!(
        bytes.len(),
        kind.item_bytes() * batch.tags.count() as usize,
        "{kind}"
    );
    let back = T::decode(kind, &bytes).expect("decodes");
    assert_eq!(back.encode(), bytes, "{kind}");
    assert!(
        T::decode(kind, &bytes[1..]).is_err(),
        "{kind}: a short record is refused"
    );
}

#[tokio::test]
async fn every_kind_round_trips() {
    let mk = Kind::MatrixTriple { m: 3, n: 5, k: 2 };
    round_trip(mk, async |s: &mut fixture::Fixture| {
        s.take::<MatrixTriple>((3, 5, 2), 1).await.expect("ok")
    })
    .await;
    round_trip(Kind::ElementwiseTriple, async |s: &mut fixture::Fixture| {
        s.take::<ElementwiseTriples>((), 7).await.expect("ok")
    })
    .await;
    for p in [Prime::P67, Prime::P40961] {
        round_trip(
            Kind::ComparisonMask { p },
            async |s: &mut fixture::Fixture| s.take::<ComparisonMasks>(p, 7).await.expect("ok"),
        )
        .await;
        round_trip(Kind::ModpTriple { p }, async |s: &mut fixture::Fixture| {
            s.take::<ModpTriples>(p, 7).await.expect("ok")
        })
        .await;
        round_trip(
            Kind::ScaledModpTriple { p },
            async |s: &mut fixture::Fixture| s.take::<ScaledModpTriples>(p, 7).await.expect("ok"),
        )
        .await;
    }
    round_trip(Kind::DaBit, async |s: &mut fixture::Fixture| {
        s.take::<DaBits>((), 7).await.expect("ok")
    })
    .await;
    round_trip(Kind::BitTriple, async |s: &mut fixture::Fixture| {
        s.take::<BitTriples>((), 7).await.expect("ok")
    })
    .await;
    round_trip(Kind::ComparisonBits, async |s: &mut fixture::Fixture| {
        s.take::<ComparisonBits>((), 7).await.expect("ok")
    })
    .await;
}

#[test]
fn out_of_range_values_are_refused() {
    let kind = Kind::ComparisonMask { p: Prime::P67 };
    let mut record = vec![0u8; kind.item_bytes()];
    assert!(ComparisonMasks::decode(kind, &record).is_ok());
    record[8] = 67; // r_bits[0]
    assert!(ComparisonMasks::decode(kind, &record).is_err());
    record[8] = 0;
    record[137] = 2; // alpha
    assert!(ComparisonMasks::decode(kind, &record).is_err());
    let kind = Kind::ModpTriple { p: Prime::P40961 };
    let record = [0x01, 0xa0, 0, 0, 0, 0]; // a = 40961
    assert!(ModpTriples::decode(kind, &record).is_err());
    assert!(DaBits::decode(Kind::DaBit, &[2, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    let kind = Kind::ComparisonBits;
    let mut record = vec![0u8; kind.item_bytes()];
    assert!(ComparisonBits::decode(kind, &record).is_ok());
    record[20] = 2; // alpha
    assert!(ComparisonBits::decode(kind, &record).is_err());
    record[20] = 0;
    record[24] = 0x80; // bit 31 of u: beyond the 31 merge slots
    assert!(ComparisonBits::decode(kind, &record).is_err());
    assert!(MatrixTriple::decode(Kind::DaBit, &[0; 9]).is_err());
}

/// Found by `hostile_bytes`: records of one kind decoded with another layout read past
/// their end (24-byte elementwise triples as 25-byte bit triples, mod-p triples as
/// scaled ones). Every layout now refuses every kind but its own.
#[test]
fn a_layout_refuses_records_of_another_kind() {
    let bytes = [0u8; 24 * 25 * 9];
    assert!(BitTriples::decode(Kind::ElementwiseTriple, &bytes[..24]).is_err());
    assert!(ElementwiseTriples::decode(Kind::BitTriple, &bytes[..25]).is_err());
    assert!(DaBits::decode(Kind::ElementwiseTriple, &bytes[..24]).is_err());
    assert!(ElementwiseTriples::decode(Kind::DaBit, &bytes[..9]).is_err());
    assert!(BitTriples::decode(Kind::DaBit, &bytes[..25 * 9]).is_err());
    let modp = Kind::ModpTriple { p: Prime::P67 };
    assert!(ScaledModpTriples::decode(modp, &bytes[..9]).is_err());
    let scaled = Kind::ScaledModpTriple { p: Prime::P67 };
    assert!(ModpTriples::decode(scaled, &bytes[..6]).is_err());
}

/// A matrix triple's `U`, `V` are its key's expansion; only `Z` can be set, at its shape.
#[test]
fn a_matrix_triples_z_is_set_at_its_shape_only() {
    let seed = ShareSeed([3; SEED_BYTES]);
    let zeros = |r, c| ndarray::Array2::<Z64>::zeros((r, c));
    let mut t = MatrixTriple::new(seed, (2, 3, 4), zeros(2, 4)).expect("shapes");
    assert_eq!(
        (t.u(), t.v()),
        (
            &seed.expand(2, 3, 4).expect("small").0,
            &seed.expand(2, 3, 4).expect("small").1
        )
    );
    assert!(MatrixTriple::new(seed, (2, 3, 4), zeros(4, 2)).is_err());
    let err = t.set_z(zeros(3, 4)).expect_err("3x4 for 2x4");
    assert!(err.to_string().contains("`Z` has shape"), "{err}");
    t.set_z(zeros(2, 4) + Z64(5)).expect("2x4");
    assert_eq!(t.z()[[1, 3]], Z64(5));
}
