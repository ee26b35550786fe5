//! Hostile bytes for every file and message a server reads from outside (issue 13): model and
//! dataset shares, checkpoints, the engines' batch messages, client lists, the dataset service's
//! upload messages and stored datasets' metadata (ONNX files in
//! `onnx::tests`, the stockpile coordination in `stockpile_randomness`). Each
//! parser gets its well-formed encodings and 20,000 mutations of them (`dyad_fuzz::bounded`)
//! and must answer every one with a value or an error. The libFuzzer targets under
//! `fuzz/libfuzzer` run the same parsers for long.

use dyad_fuzz::{TEST_ITERATIONS, bounded};
use dyad_online::model::Network;
use dyad_online::nn::{Params, PlainFixed};
use dyad_online::{FixedPoint, Z64};
use dyad_server::model_file::{Holder, ModelFile};
use dyad_server::serving::{Clients, Output, messages};
use dyad_server::training::checkpoint::Checkpoints;
use dyad_server::training::{Point, State, Stats};
use dyad_server::{DatasetShare, Examples};
use ndarray::Array2;

/// A small network with every layer kind, and its parameters in fixed point.
fn small_model() -> (Network, Params<Z64>) {
    let text = "input 1 6 6\nconv 2 3 stride=1 padding=1\nrelu\nmaxpool\nflatten\ndense 4\n";
    let network = Network::parse("small", text).expect("network");
    let fixed = FixedPoint::default();
    let params = Params::initial(&network, 1, fixed)
        .expect("params")
        .import(&PlainFixed::new(fixed));
    (network, params)
}

#[test]
fn model_files_of_any_bytes_are_read_or_refused() {
    let (network, params) = small_model();
    let seeds: Vec<Vec<u8>> = [Holder::Party(1), Holder::Plain]
        .into_iter()
        .map(|holder| {
            ModelFile {
                holder,
                fixed: FixedPoint::default(),
                network: network.clone(),
                params: params.clone(),
            }
            .to_bytes()
        })
        .collect();
    bounded("model file", &seeds, TEST_ITERATIONS, |bytes| {
        let _ = ModelFile::from_bytes(bytes);
    });
}

#[test]
fn dataset_shares_of_any_bytes_are_read_or_refused() {
    let examples = |n: usize| Examples {
        x: Array2::from_shape_fn((n, 36), |(i, j)| Z64((i * 36 + j) as u64)),
        y: Array2::from_shape_fn((n, 4), |(i, j)| Z64((i == j) as u64)),
    };
    let share = DatasetShare {
        id: [7; 16],
        party: 0,
        f: 16,
        shape: (1, 6, 6),
        classes: 4,
        train: examples(3),
        test: examples(2),
    };
    bounded(
        "dataset share",
        &[share.to_bytes()],
        TEST_ITERATIONS,
        |bytes| {
            let _ = DatasetShare::from_bytes(bytes);
        },
    );
}

/// Found by the test above: a share claiming 2^32 x 2^32 x 1 pixels overflowed their count.
#[test]
fn a_dataset_share_with_overflowing_sizes_is_refused() {
    let mut bytes = b"DYADDAT1".to_vec();
    bytes.extend([0, 16]);
    bytes.extend([0; 16]);
    for v in [u32::MAX, u32::MAX, u32::MAX, 10] {
        bytes.extend(v.to_le_bytes());
    }
    bytes.extend([1u64.to_le_bytes(), 1u64.to_le_bytes()].concat());
    let err = DatasetShare::from_bytes(&bytes).expect_err("refused");
    assert!(err.to_string().contains("overflow"), "{err}");
}

#[test]
fn checkpoints_of_any_bytes_are_read_or_refused() {
    let (network, params) = small_model();
    let checkpoints = Checkpoints::new("unused".into(), 42);
    let point = Point {
        epoch: 1,
        step: 3,
        accuracy: 0.5,
        loss: Some(1.25),
        stats: Stats::default(),
    };
    // Both formats written now: without moments (plain SGD) and with them (Adam's two).
    let state = State {
        step: 3,
        moments: Vec::new(),
        params: params.clone(),
        loss: Z64(9),
        curve: vec![
            point,
            Point {
                loss: None,
                ..point
            },
        ],
        stats: Stats::default(),
    };
    let with_moments = State {
        moments: vec![params.clone(), params],
        ..state.clone()
    };
    // And a momentum job's checkpoint as the release before Adam wrote it (`DYADCKP2`: the
    // model length-prefixed, then the velocity), made from the plain one's bytes.
    let plain = checkpoints.encode(&state);
    let model = state.params.to_bytes();
    let old_velocity = [
        b"DYADCKP2".as_slice(),
        &plain[8..plain.len() - model.len()],
        &(model.len() as u64).to_le_bytes(),
        &model,
        &model,
    ]
    .concat();
    bounded(
        "checkpoint",
        &[plain, checkpoints.encode(&with_moments), old_velocity],
        TEST_ITERATIONS,
        |bytes| {
            let _ = checkpoints.decode(bytes, &network);
        },
    );
}

#[test]
fn batch_messages_of_any_bytes_are_read_or_refused() {
    let proposal = vec![
        ("request-1".to_string(), Output::Logits),
        ("r2".into(), Output::Class),
    ];
    let seeds = vec![
        messages::encode_proposal(&proposal),
        messages::encode_verdicts(&[messages::Verdict::Agreed, messages::Verdict::Mismatch]),
    ];
    bounded("batch messages", &seeds, TEST_ITERATIONS, |bytes| {
        let _ = messages::decode_proposal(bytes);
        let _ = messages::decode_verdicts(bytes, 2);
    });
}

#[test]
fn client_lists_of_any_bytes_are_read_or_refused() {
    let seed = b"# clients\nalice 0123456789abcdef0123456789abcdef\nbob b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0\n";
    bounded("client list", &[seed.to_vec()], TEST_ITERATIONS, |bytes| {
        let _ = Clients::parse(&String::from_utf8_lossy(bytes));
    });
}

/// The dataset service's upload messages (issue 31), decoded and applied to a real store as
/// the service applies them (a chunk appended at its offset, a last chunk finishing), and a
/// stored dataset's metadata file: every mutation is taken or refused, never a panic.
#[test]
fn upload_messages_and_dataset_metadata_of_any_bytes_are_taken_or_refused() {
    use dyad_proto::datasets::{Finish as WireFinish, UploadChunk};
    use dyad_server::dataset_store::{DatasetStore, Finish, Stored};
    use prost::Message;

    let dir = tempfile::tempdir().expect("dir");
    let store = DatasetStore::open(dir.path(), 0).expect("store");
    let seeds: Vec<Vec<u8>> = [
        UploadChunk {
            name: "a".into(),
            offset: 0,
            data: vec![1, 2, 3].into(),
            finish: None,
        },
        UploadChunk {
            name: "b.c-d_e".into(),
            offset: 3,
            data: vec![9; 40].into(),
            finish: Some(WireFinish {
                size: 43,
                sha256: vec![5; 32].into(),
                peer_sha256: vec![6; 32].into(),
            }),
        },
    ]
    .iter()
    .map(Message::encode_to_vec)
    .collect();
    bounded("upload chunk", &seeds, TEST_ITERATIONS / 4, |bytes| {
        let Ok(chunk) = UploadChunk::decode(bytes) else {
            return;
        };
        let _ = store.append("owner", &chunk.name, chunk.offset, &chunk.data);
        if let Some(f) = chunk.finish {
            let digest = |b: &[u8]| <[u8; 32]>::try_from(b).unwrap_or([0; 32]);
            let finish = Finish {
                size: f.size,
                sha256: digest(&f.sha256),
                peer_sha256: digest(&f.peer_sha256),
            };
            let _ = store.finish("owner", &chunk.name, &finish);
        }
    });

    let meta = "owner alice\nid 0707\ntrain 3\ntest 1\nshape 1 2 2\nclasses 4\nf 16\nbytes 99\n\
                sha256 0909090909090909090909090909090909090909090909090909090909090909\n\
                peer_sha256 0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a\n";
    assert!(Stored::parse("x", meta).is_ok());
    bounded(
        "dataset metadata",
        &[meta.as_bytes().to_vec()],
        TEST_ITERATIONS,
        |bytes| {
            let _ = Stored::parse("x", &String::from_utf8_lossy(bytes));
        },
    );
}
