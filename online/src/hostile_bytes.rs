//! Hostile bytes for the runtime's parsers of outside input (issue 13): stockpile records of
//! every kind (each layout's decoder and the relation check), stream names, network
//! descriptions and parameter encodings. Each gets well-formed seeds and mutations of them
//! (`dyad_fuzz::bounded`) and must answer with a value or an error, never a panic.

use dyad_fuzz::{TEST_ITERATIONS, bounded};

use crate::model::Network;
use crate::nn::{Params, PlainFixed};
use crate::randomness::*;
use crate::{FixedPoint, Prime};
use dyad_testing::fixture;

/// Every layout's decoder, and the relation check, on records said to be of `kind`.
fn decode_as_every_layout(kind: Kind, bytes: &[u8]) {
    let _ = MatrixTriple::decode(kind, bytes);
    let _ = ElementwiseTriples::decode(kind, bytes);
    let _ = ComparisonMasks::decode(kind, bytes);
    let _ = ComparisonBits::decode(kind, bytes);
    let _ = DaBits::decode(kind, bytes);
    let _ = BitTriples::decode(kind, bytes);
    let _ = ModpTriples::decode(kind, bytes);
    let _ = ScaledModpTriples::decode(kind, bytes);
    let _ = relation::check(kind, [bytes, bytes]);
}

#[tokio::test]
async fn records_of_any_bytes_are_decoded_or_refused() {
    let [mut s, _] = fixture::pair(9);
    let mut kinds = vec![
        Kind::MatrixTriple { m: 2, n: 3, k: 2 },
        Kind::ElementwiseTriple,
        Kind::ComparisonBits,
        Kind::DaBit,
        Kind::BitTriple,
    ];
    for p in [Prime::P67, Prime::P40961] {
        kinds.extend([
            Kind::ComparisonMask { p },
            Kind::ModpTriple { p },
            Kind::ScaledModpTriple { p },
        ]);
    }
    let mut cases = Vec::new();
    for kind in kinds {
        let n = if let Kind::MatrixTriple { .. } = kind {
            1
        } else {
            3
        };
        cases.push((kind, s.take_kind(kind, n).await.expect("ok").items.encode()));
    }
    for (kind, seed) in cases {
        bounded(&kind.to_string(), &[seed], TEST_ITERATIONS / 4, |bytes| {
            decode_as_every_layout(kind, bytes)
        });
    }
}

#[test]
fn stream_names_of_any_bytes_are_read_or_refused() {
    let seeds: Vec<Vec<u8>> = [
        "matrix-triple/64x784x128",
        "comparison-mask/p40961",
        "scaled-modp-triple",
        "comparison-bits",
    ]
    .map(|s| s.as_bytes().to_vec())
    .into();
    bounded("stream name", &seeds, TEST_ITERATIONS, |bytes| {
        if let Ok(kind) = String::from_utf8_lossy(bytes).parse::<Kind>() {
            let _ = kind.item_bytes();
        }
    });
}

#[test]
fn networks_and_parameters_of_any_bytes_are_read_or_refused() {
    let text =
        "# small\ninput 1 6 6\nconv 2 3 stride=1 padding=1\nrelu\nmaxpool\nflatten\ndense 4\n";
    bounded(
        "network",
        &[text.as_bytes().to_vec()],
        TEST_ITERATIONS,
        |bytes| {
            if let Ok(network) = Network::parse("fuzzed", &String::from_utf8_lossy(bytes)) {
                let _ = network.shapes();
            }
        },
    );
    let network = Network::parse("small", text).expect("network");
    let fixed = FixedPoint::default();
    let params = Params::initial(&network, 1, fixed)
        .expect("params")
        .import(&PlainFixed::new(fixed));
    bounded(
        "parameters",
        &[params.to_bytes()],
        TEST_ITERATIONS,
        |bytes| {
            let _ = Params::from_bytes(bytes, &network);
        },
    );
}
