//! A full disk: the stockpile on a small tmpfs fills up mid-Put. The failed write changes
//! nothing (no counter, lane or chunk runs ahead of disk) and is reported as retryable
//! (RESOURCE_EXHAUSTED over gRPC, which the worker retries), every other operation keeps its
//! guarantees, and once the filesystem grows again the worker's retry of the same batch lands
//! and every item is handed out exactly once.
//!
//! Needs a tmpfs mount (root, as in CI); elsewhere the test says visibly that it did not run,
//! and under `CI=true` it fails (`tests/environment.rs` at the workspace's root).

use std::path::Path;
use std::time::Duration;

use dyad_store::db::{Budget, Db, StoreError};

#[path = "../../tests/environment.rs"]
mod environment;
use environment::Tmpfs;

/// 1024 records of 1 KiB per Put: `elementwise-triple` records are 24 bytes, so a batch of
/// 43,690 of them is about 1 MiB.
const STREAM: &str = "elementwise-triple";
const RECORD: usize = 24;
const PER_PUT: u64 = 43_690;

/// Records that carry their sequence number, so each hand-out can be checked.
fn records(first: u64, count: u64) -> Vec<u8> {
    (first..first + count)
        .flat_map(|seq| {
            let mut r = vec![0u8; RECORD];
            r[..8].copy_from_slice(&seq.to_le_bytes());
            r
        })
        .collect()
}

fn open(path: &Path) -> Db {
    let budget = Budget {
        budget_bytes: 1 << 40,
        high_water_bytes: 1 << 40,
    };
    Db::open(path, 0, budget, Duration::from_secs(60)).expect("opens")
}

/// `put = taken + discarded + in_flight + available`, and the lane's next is what was put.
fn consistent(db: &Db, put: u64) {
    let report = db
        .inventory()
        .into_iter()
        .find(|r| r.stream == STREAM)
        .expect("the stream exists");
    assert_eq!(report.put, put, "items put");
    assert_eq!(
        report.put,
        report.taken + report.discarded + report.in_flight + report.available
    );
    assert_eq!(db.lane_status(STREAM, 0).expect("lane").0, put, "lane next");
    assert_eq!(db.stored_bytes(), report.bytes);
}

#[test]
fn a_full_disk_loses_nothing_and_the_store_recovers() {
    let Some(fs) = environment::needs("the full-disk test (store)", Tmpfs::mount(24)) else {
        return;
    };
    let mut db = open(&fs.join("stockpile"));
    let mut put = 0u64;
    let failed_at = loop {
        match db.put(STREAM, 0, put, &records(put, PER_PUT)) {
            Ok(outcome) => {
                assert!(!outcome.already_present);
                put += PER_PUT;
                assert!(put < 200 * PER_PUT, "24 MiB never filled up");
            }
            Err(StoreError::ResourceExhausted(message)) => break message,
            Err(other) => panic!("a full disk should be a retryable error, got {other}"),
        }
    };
    eprintln!("the disk filled after {put} items: {failed_at}");
    assert!(put > 0, "some batches fit");
    consistent(&db, put);
    // While the disk is full, a hand-out (which must be written before it is made) fails and
    // changes nothing either.
    assert!(db.take(STREAM, 1, 10).is_err());
    consistent(&db, put);

    // Space returns: the worker's retry of the same batch lands, and so does the next.
    fs.resize(256);
    let outcome = db
        .put(STREAM, 0, put, &records(put, PER_PUT))
        .expect("the retry lands");
    assert!(!outcome.already_present);
    put += PER_PUT;
    db.put(STREAM, 0, put, &records(put, PER_PUT))
        .expect("the next batch too");
    put += PER_PUT;
    consistent(&db, put);

    // Every item is handed out exactly once, in order, with its own record.
    let mut next = 0u64;
    while let Some(taken) = db.take(STREAM, 1, 20_000).expect("take") {
        for range in &taken.ranges {
            assert_eq!(
                range.seqs.start, next,
                "no item handed out twice or skipped"
            );
            next += range.count();
        }
        let expected: Vec<u8> = taken
            .ranges
            .iter()
            .flat_map(|r| records(r.seqs.start, r.count()))
            .collect();
        assert_eq!(taken.payload, expected);
        db.ack(taken.lease).expect("ack");
    }
    assert_eq!(next, put);
    consistent(&db, put);
    drop(db);
    // And a restart sees the same.
    let db = open(&fs.join("stockpile"));
    consistent(&db, put);
}
