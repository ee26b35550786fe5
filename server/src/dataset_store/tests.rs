//! The dataset store on a real directory: uploads in chunks, resumed, finished, listed,
//! deleted, and every refusal, with what it leaves behind.

use dyad_online::Z64;
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

use super::meta::hex;
use super::*;
use crate::Examples;

/// P`party`'s share of a random dataset of `train` + 3 examples of 2x3x3 values and 4 classes.
fn share(party: u8, train: usize, seed: u64) -> DatasetShare {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut examples = |n: usize| Examples {
        x: Array2::from_shape_simple_fn((n, 18), || Z64(rng.random())),
        y: Array2::from_shape_simple_fn((n, 4), || Z64(rng.random())),
    };
    DatasetShare {
        id: [7; 16],
        party,
        f: 16,
        shape: (2, 3, 3),
        classes: 4,
        train: examples(train),
        test: examples(3),
    }
}

fn finish(bytes: &[u8]) -> Finish {
    Finish {
        size: bytes.len() as u64,
        sha256: Sha256::digest(bytes).into(),
        peer_sha256: [9; 32],
    }
}

/// Uploads `bytes` as `owner`'s `name` in chunks of `chunk` bytes.
fn upload(store: &DatasetStore, owner: &str, name: &str, bytes: &[u8], chunk: usize) {
    let mut offset = 0;
    for piece in bytes.chunks(chunk) {
        offset = store.append(owner, name, offset, piece).expect("append");
    }
    store.finish(owner, name, &finish(bytes)).expect("finish");
}

fn store(dir: &tempfile::TempDir, party: u8) -> DatasetStore {
    DatasetStore::open(dir.path(), party).expect("opens")
}

#[test]
fn an_upload_in_chunks_becomes_the_dataset_its_owner_lists_and_a_job_loads() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir, 1);
    let share = share(1, 20, 1);
    let bytes = share.to_bytes();
    upload(&store, "alice", "digits-a", &bytes, 1000);

    let listed = store.list("alice").expect("list");
    assert_eq!(listed.len(), 1);
    let stored = &listed[0];
    assert_eq!(
        (
            stored.train,
            stored.test,
            stored.shape,
            stored.classes,
            stored.f
        ),
        (20, 3, (2, 3, 3), 4, 16)
    );
    assert_eq!(stored.pair_digests(1), [[9; 32], finish(&bytes).sha256]);
    assert!(store.list("bob").expect("list").is_empty());
    let loaded = store.load(&["digits-a".into()]).expect("loads");
    assert_eq!(loaded[0].1, share);
    assert_eq!(loaded[0].0, *stored);
    // The metadata reads back as written after a restart.
    let again = DatasetStore::open(dir.path(), 1).expect("reopens");
    assert_eq!(again.all().expect("all"), listed);
}

#[test]
fn a_cut_upload_resumes_where_it_stopped_and_is_invisible_until_finished() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir, 0);
    let bytes = share(0, 10, 2).to_bytes();
    let (first, rest) = bytes.split_at(700);
    assert_eq!(store.append("alice", "a", 0, first).expect("starts"), 700);
    assert!(matches!(store.stored("a"), Err(StoreError::NotFound(_))));
    assert!(store.all().expect("all").is_empty());
    assert!(matches!(
        store.finish("alice", "a", &finish(&bytes)),
        Err(StoreError::Offset { held: 700, .. })
    ));

    // After a restart, the server says where to go on; a chunk elsewhere is refused.
    let store = DatasetStore::open(dir.path(), 0).expect("reopens");
    assert_eq!(store.received("alice", "a").expect("status"), 700);
    let err = store.append("alice", "a", 0, rest).expect_err("offset 0");
    assert!(err.to_string().contains("resume from 700"), "{err}");
    store.append("alice", "a", 700, rest).expect("resumes");
    store
        .finish("alice", "a", &finish(&bytes))
        .expect("finishes");
    assert_eq!(
        store.load(&["a".into()]).expect("loads")[0].1.to_bytes(),
        bytes
    );
}

#[test]
fn another_owner_can_neither_continue_see_nor_delete_an_upload_or_a_dataset() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir, 0);
    let bytes = share(0, 5, 3).to_bytes();
    store
        .append("alice", "half", 0, &bytes[..100])
        .expect("starts");
    upload(&store, "alice", "whole", &bytes, 4096);
    for name in ["half", "whole"] {
        assert!(matches!(
            store.delete("bob", name),
            Err(StoreError::NotYours(_))
        ));
    }
    assert!(matches!(
        store.received("bob", "half"),
        Err(StoreError::NotYours(_))
    ));
    assert!(matches!(
        store.append("bob", "half", 100, &bytes[100..]),
        Err(StoreError::NotYours(_))
    ));
    assert!(store.list("bob").expect("list").is_empty());
    // A taken name is refused to everyone, its owner included.
    for owner in ["alice", "bob"] {
        assert!(matches!(
            store.append(owner, "whole", 0, &bytes),
            Err(StoreError::Exists(_))
        ));
    }
    // The owner deletes both; the names are free again.
    store.delete("alice", "half").expect("discards");
    store.delete("alice", "whole").expect("deletes");
    assert!(store.all().expect("all").is_empty());
    assert_eq!(store.received("bob", "whole").expect("free"), 0);
    assert!(matches!(
        store.delete("alice", "whole"),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn a_file_that_is_not_this_servers_share_or_not_its_digest_is_discarded() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir, 0);
    let theirs = share(1, 5, 4).to_bytes();
    let ours = share(0, 5, 4).to_bytes();
    let mut wrong_digest = finish(&ours);
    wrong_digest.sha256[0] ^= 1;
    let mut garbage = ours.clone();
    garbage.truncate(ours.len() - 8);
    let cases: [(&[u8], Finish, &str); 4] = [
        (&theirs, finish(&theirs), "P1's share and this is P0"),
        (&ours, wrong_digest, "does not match its SHA-256"),
        (&garbage, finish(&garbage), "is not a dataset share"),
        (
            &ours,
            Finish {
                size: 10,
                ..finish(&ours)
            },
            "its last chunk says 10",
        ),
    ];
    for (bytes, finish, words) in cases {
        store.append("alice", "x", 0, bytes).expect("append");
        let err = store.finish("alice", "x", &finish).expect_err(words);
        assert!(err.to_string().contains(words), "{words}: {err}");
        assert!(err.to_string().contains("discarded"), "{err}");
        assert_eq!(store.received("alice", "x").expect("status"), 0, "{words}");
        assert!(store.all().expect("all").is_empty());
    }
}

#[test]
fn names_outside_the_alphabet_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir, 0);
    let long = "a".repeat(MAX_NAME_CHARS + 1);
    for name in ["", ".", "..", ".hidden", "a/b", "../x", "a b", &long] {
        assert!(
            matches!(
                store.append("alice", name, 0, b"x"),
                Err(StoreError::BadName(_))
            ),
            "{name:?}"
        );
    }
    store
        .append("alice", "Ok_name-1.v2", 0, b"x")
        .expect("a good name");
}

#[test]
fn a_union_takes_datasets_in_the_order_of_their_names_and_describes_both_halves() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir, 1);
    let (a, b) = (share(1, 4, 10), share(1, 6, 11));
    upload(&store, "alice", "zeta", &a.to_bytes(), 500);
    upload(&store, "bob", "alpha", &b.to_bytes(), 500);
    let joined = union(&store, &["zeta".into(), "alpha".into()]).expect("a union");
    assert_eq!((joined.share.train.len(), joined.share.test.len()), (10, 6));
    assert_eq!(joined.share.train.x.row(0), b.train.x.row(0), "alpha first");
    assert_eq!(joined.share.train.x.row(6), a.train.x.row(0));
    assert_eq!(joined.share.test.y.row(3), a.test.y.row(0));
    // Both servers describe their halves alike: P0's digests first, whichever holds them.
    let described = joined.agreement.clone();
    assert!(described.starts_with("alpha (id "), "{described}");
    let p0_first = hex(&[9; 32]);
    assert!(
        described.contains(&format!("P0 share sha256 {p0_first}")),
        "{described}"
    );
    assert_eq!(
        union(&store, &["alpha".into(), "zeta".into()])
            .expect("again")
            .share
            .id,
        joined.share.id
    );

    let mut other = share(1, 4, 12);
    other.classes = 3;
    other.train.y = other.train.y.slice(ndarray::s![.., ..3]).to_owned();
    other.test.y = other.test.y.slice(ndarray::s![.., ..3]).to_owned();
    upload(&store, "carol", "mid", &other.to_bytes(), 500);
    for (names, words) in [
        (vec!["alpha", "mid"], "3 classes"),
        (vec!["alpha", "alpha"], "named twice"),
        (vec![], "no dataset"),
        (vec!["alpha", "nowhere"], "no dataset named \"nowhere\""),
    ] {
        let names: Vec<String> = names.into_iter().map(String::from).collect();
        let err = union(&store, &names).expect_err(words);
        assert!(err.to_string().contains(words), "{words}: {err}");
    }
}
