//! The storage engine on a real RocksDB: hand-outs, leases, restarts, orphans, alignment,
//! budgets and malformed requests.

use std::path::Path;
use std::time::{Duration, Instant};

use dyad_store::db::{Budget, Db, StoreError};
use dyad_vocabulary::TagRange;

const STREAM: &str = "dabit"; // 9-byte records

/// Records that carry their own tag, so every hand-out can be checked against its ranges.
fn records(lane: u32, first: u64, count: u64) -> Vec<u8> {
    (first..first + count)
        .flat_map(|seq| {
            let mut r = vec![lane as u8];
            r.extend_from_slice(&seq.to_le_bytes());
            r
        })
        .collect()
}

fn check_payload(ranges: &[TagRange], payload: &[u8]) {
    let expected: Vec<u8> = ranges
        .iter()
        .flat_map(|r| records(r.lane, r.seqs.start, r.count()))
        .collect();
    assert_eq!(
        payload,
        expected.as_slice(),
        "records do not match their tags"
    );
}

fn open(dir: &Path) -> Db {
    open_with(dir, 1 << 30)
}

fn open_with(dir: &Path, budget_bytes: u64) -> Db {
    let budget = Budget {
        budget_bytes,
        high_water_bytes: budget_bytes / 2,
    };
    Db::open(dir, 0, budget, Duration::from_secs(60)).expect("opens")
}

/// A stockpile whose leases expire after a millisecond.
fn open_with_instant_expiry(dir: &Path) -> Db {
    let budget = Budget {
        budget_bytes: 1 << 30,
        high_water_bytes: 1 << 29,
    };
    Db::open(dir, 0, budget, Duration::from_millis(1)).expect("opens")
}

fn counts(db: &Db) -> (u64, u64, u64, u64, u64) {
    let s = db
        .inventory()
        .into_iter()
        .find(|s| s.stream == STREAM)
        .expect("stream");
    (s.put, s.taken, s.discarded, s.in_flight, s.available)
}

fn assert_adds_up(db: &Db) {
    let (put, taken, discarded, in_flight, available) = counts(db);
    assert_eq!(
        put,
        taken + discarded + in_flight + available,
        "counts must add up"
    );
}

#[test]
fn items_are_handed_out_once_lowest_first_across_chunks_and_lanes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(dir.path());
    // 300 000 records of 9 bytes span several 1 MiB chunks.
    db.put(STREAM, 0, 0, &records(0, 0, 300_000)).expect("put");
    db.put(STREAM, 1, 0, &records(1, 0, 10)).expect("put");
    let mut seen = 0;
    for want in [1, 116_508, 150_000, 33_491] {
        let t = db.take(STREAM, want, want).expect("take").expect("enough");
        assert_eq!(t.ranges.iter().map(|r| r.count()).sum::<u64>(), want);
        assert_eq!(t.ranges[0].seqs.start, seen);
        check_payload(&t.ranges, &t.payload);
        db.ack(t.lease).expect("ack");
        seen += want;
        assert_adds_up(&db);
    }
    // Lane 0 is exhausted; the next items come from lane 1.
    let t = db.take(STREAM, 5, 5).expect("take").expect("enough");
    assert_eq!(t.ranges, vec![TagRange::new(1, 0, 5)]);
    check_payload(&t.ranges, &t.payload);
    assert!(
        db.take(STREAM, 6, 6).expect("take").is_none(),
        "only 5 left"
    );
    // Prefetch: at least 2, up to 100 — gets the 5 there are.
    let t = db.take(STREAM, 2, 100).expect("take").expect("enough");
    assert_eq!(t.ranges, vec![TagRange::new(1, 5, 5)]);
    assert_eq!(counts(&db), (300_010, 300_000, 0, 10, 0));
}

#[test]
fn a_restart_keeps_untaken_items_and_discards_unacknowledged_leases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lease = {
        let mut db = open(dir.path());
        db.put(STREAM, 0, 0, &records(0, 0, 1000)).expect("put");
        let acked = db.take(STREAM, 100, 100).expect("take").expect("enough");
        db.ack(acked.lease).expect("ack");
        let t = db.take(STREAM, 250, 250).expect("take").expect("enough");
        t.lease // never acknowledged: the store "crashes" now
    };
    let mut db = open(dir.path());
    assert_eq!(counts(&db), (1000, 100, 250, 0, 650));
    let err = db
        .ack(lease)
        .expect_err("the lease was resolved at restart");
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    // The partially consumed chunk resumes where it was.
    let t = db.take(STREAM, 650, 650).expect("take").expect("enough");
    assert_eq!(t.ranges, vec![TagRange::new(0, 350, 650)]);
    check_payload(&t.ranges, &t.payload);
    assert_adds_up(&db);
}

#[test]
fn overdue_leases_expire_as_discarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open_with_instant_expiry(dir.path());
    db.put(STREAM, 0, 0, &records(0, 0, 10)).expect("put");
    let t = db.take(STREAM, 4, 4).expect("take").expect("enough");
    assert_eq!(
        db.expire_leases(Instant::now() + Duration::from_secs(1))
            .expect("expire"),
        1
    );
    assert!(db.ack(t.lease).is_err());
    assert_eq!(counts(&db), (10, 0, 4, 0, 6));
}

#[test]
fn take_exact_takes_the_named_items_and_discards_unpairable_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(dir.path());
    db.put(STREAM, 0, 0, &records(0, 0, 100)).expect("put");
    db.put(STREAM, 3, 0, &records(3, 0, 100)).expect("put");
    let named = [
        TagRange::new(0, 10, 5),
        TagRange::new(0, 20, 5),
        TagRange::new(3, 0, 7),
    ];
    let t = db
        .take_exact(STREAM, &named)
        .expect("take")
        .expect("all put");
    assert_eq!(t.ranges, named);
    check_payload(&t.ranges, &t.payload);
    // Lane 0 items 0..10 and 15..20 can never be paired: discarded.
    assert_eq!(counts(&db), (200, 0, 15, 17, 168));
    assert_adds_up(&db);

    // Not put yet: None, and nothing changes.
    let later = [TagRange::new(0, 95, 10)];
    assert!(db.take_exact(STREAM, &later).expect("ok").is_none());
    assert_eq!(counts(&db), (200, 0, 15, 17, 168));
    // Already handed out: refused, nothing changes.
    let again = [TagRange::new(0, 12, 1)];
    let err = db.take_exact(STREAM, &again).expect_err("gone");
    assert!(matches!(err, StoreError::FailedPrecondition(_)), "{err}");
    assert_eq!(counts(&db), (200, 0, 15, 17, 168));
    // Unsorted or overlapping ranges are malformed.
    let unsorted = [TagRange::new(0, 50, 2), TagRange::new(0, 40, 2)];
    assert!(matches!(
        db.take_exact(STREAM, &unsorted),
        Err(StoreError::InvalidArgument(_))
    ));
}

#[test]
fn align_discards_a_tail_and_moves_numbering_forward() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(dir.path());
    db.put(STREAM, 0, 0, &records(0, 0, 200)).expect("put");
    let t = db.take(STREAM, 50, 50).expect("take").expect("enough");
    db.ack(t.lease).expect("ack");
    assert_eq!(db.align(STREAM, 0, 120, 300).expect("align"), (80, 300));
    assert_eq!(db.lane_status(STREAM, 0).expect("status"), (300, 50));
    // Tags below the new `next` are used up: a late batch there is not added.
    assert!(
        db.put(STREAM, 0, 200, &records(0, 200, 10))
            .expect("put")
            .already_present
    );
    db.put(STREAM, 0, 300, &records(0, 300, 10))
        .expect("put at the new next");
    let t = db.take(STREAM, 80, 80).expect("take").expect("enough");
    assert_eq!(
        t.ranges,
        vec![TagRange::new(0, 50, 70), TagRange::new(0, 300, 10)]
    );
    check_payload(&t.ranges, &t.payload);
    drop(db);
    let db = open(dir.path());
    // The restart resolved the unacknowledged lease of 80 as discarded.
    assert_eq!(counts(&db), (210, 50, 160, 0, 0));
    assert_adds_up(&db);
}

#[test]
fn puts_are_ordered_idempotent_and_within_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open_with(dir.path(), 9 * 1000);
    let first = db.put(STREAM, 0, 0, &records(0, 0, 400)).expect("put");
    assert!(!first.already_present && !first.pause);
    assert!(
        db.put(STREAM, 0, 0, &records(0, 0, 400))
            .expect("again")
            .already_present
    );
    let err = db
        .put(STREAM, 0, 500, &records(0, 500, 10))
        .expect_err("a gap");
    assert!(err.to_string().contains("continues at 400"), "{err}");
    assert!(
        db.put(STREAM, 0, 400, &records(0, 400, 200))
            .expect("put")
            .pause,
        "above half the budget"
    );
    let err = db
        .put(STREAM, 0, 600, &records(0, 600, 500))
        .expect_err("over budget");
    assert!(matches!(err, StoreError::ResourceExhausted(_)), "{err}");
    assert_eq!(counts(&db), (600, 0, 0, 0, 600));
}

#[test]
fn malformed_requests_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(dir.path());
    db.put(STREAM, 0, 0, &records(0, 0, 10)).expect("put");
    let refusals = [
        db.put("no-such-kind", 0, 0, &[0; 9]).map(|_| ()),
        db.put(STREAM, 0, 10, &[0; 10]).map(|_| ()),
        db.put(STREAM, 0, 10, &[]).map(|_| ()),
        db.put(STREAM, 0, u64::MAX, &[0; 9]).map(|_| ()),
        db.take("matrix-triple/0x1x1", 1, 1).map(|_| ()),
        // A shape whose record size overflows.
        db.take(
            &format!("matrix-triple/{}x1x{}", 1u64 << 40, 1u64 << 40),
            1,
            1,
        )
        .map(|_| ()),
        db.take(STREAM, 2, 1).map(|_| ()),
        db.take(STREAM, 0, 0).map(|_| ()),
        db.take(STREAM, u64::MAX, u64::MAX).map(|_| ()),
        db.take_exact(STREAM, &[TagRange::new(0, 0, 0)]).map(|_| ()),
        // Counts whose sum overflows. (A single range past the last number cannot be named:
        // the service refuses it off the wire, `TagRange::checked`.)
        db.take_exact(
            STREAM,
            &[TagRange::new(0, 0, u64::MAX), TagRange::new(1, 0, 2)],
        )
        .map(|_| ()),
        db.lane_status("garbage\u{0}", 0).map(|_| ()),
    ];
    for (i, r) in refusals.into_iter().enumerate() {
        let err = r.expect_err("malformed");
        assert!(matches!(err, StoreError::InvalidArgument(_)), "#{i}: {err}");
    }
    assert_eq!(counts(&db), (10, 0, 0, 0, 10));
    assert_eq!(TagRange::checked(0, u64::MAX, 2), None);
}

#[test]
fn a_data_directory_belongs_to_one_party() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(open(dir.path()));
    let budget = Budget {
        budget_bytes: 1 << 30,
        high_water_bytes: 1 << 29,
    };
    let err = Db::open(dir.path(), 1, budget, Duration::from_secs(60))
        .err()
        .expect("P0's directory");
    assert!(err.to_string().contains("holds P0's stockpile"), "{err}");
}

/// A stockpile written by a version that made a kind this one no longer knows (truncation
/// pairs, before truncation took daBits) still opens: the retired stream stays on disk as it
/// was, outside the inventory and the budget, refuses puts, and the other streams work as
/// before; `drop_retired` then deletes its records and nothing else.
#[test]
fn a_stream_of_a_retired_kind_is_left_aside_at_open() {
    const RETIRED: &str = "truncation-pair/f16";
    let raw = |dir: &Path| {
        rocksdb::DB::open_cf(
            &rocksdb::Options::default(),
            dir,
            ["chunks", "meta", "audit"],
        )
        .expect("raw open")
    };
    let u64s = |v: &[u64]| -> Vec<u8> { v.iter().flat_map(|f| f.to_le_bytes()).collect() };
    let prefixed = [
        &(RETIRED.len() as u16).to_be_bytes()[..],
        RETIRED.as_bytes(),
    ]
    .concat();
    // The key of its one chunk of records (lane 0, from item 0).
    let chunk_records = [&prefixed[..], &[0; 12]].concat();
    // The metadata records a version with truncation pairs left: stream counters, a lane, a
    // chunk and an open lease.
    let records_of_retired = [
        (
            [&b"S"[..], RETIRED.as_bytes()].concat(),
            u64s(&[24, 100, 40, 0, 5]),
        ),
        ([&b"N"[..], &prefixed, &[0; 4]].concat(), u64s(&[100])),
        ([&b"C"[..], &chunk_records].concat(), u64s(&[100, 45])),
        (
            [&b"L"[..], &77u64.to_be_bytes()].concat(),
            [&5u64.to_le_bytes()[..], RETIRED.as_bytes()].concat(),
        ),
    ];

    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(dir.path());
    db.put(STREAM, 0, 0, &records(0, 0, 10)).expect("put");
    drop(db);
    {
        let raw = raw(dir.path());
        let meta = raw.cf_handle("meta").expect("meta");
        for (key, value) in &records_of_retired {
            raw.put_cf(meta, key, value).expect("write");
        }
        let chunks = raw.cf_handle("chunks").expect("chunks");
        raw.put_cf(chunks, &chunk_records, [7u8; 24 * 100])
            .expect("records");
    }
    let mut db = open(dir.path());
    let streams: Vec<String> = db.inventory().into_iter().map(|s| s.stream).collect();
    assert_eq!(streams, [STREAM]);
    assert_eq!(counts(&db), (10, 0, 0, 0, 10));
    assert_eq!(db.stored_bytes(), 10 * 9);
    db.put(STREAM, 0, 10, &records(0, 10, 5))
        .expect("put after");
    assert_adds_up(&db);
    assert!(db.put(RETIRED, 0, 100, &[0; 24]).is_err(), "no puts to it");
    let t = db.take(STREAM, 1, 1).expect("take").expect("stocked");
    assert!(
        t.lease > 77,
        "lease {} reuses a retired lease's id",
        t.lease
    );
    db.ack(t.lease).expect("ack");
    drop(db);
    {
        let raw = raw(dir.path());
        let meta = raw.cf_handle("meta").expect("meta");
        for (key, value) in &records_of_retired {
            let stored = raw.get_cf(meta, key).expect("read");
            assert_eq!(stored.as_ref(), Some(value), "left as it was");
        }
        let chunks = raw.cf_handle("chunks").expect("chunks");
        assert!(raw.get_cf(chunks, &chunk_records).expect("read").is_some());
    }
    // Dropping them deletes exactly their records, once.
    let mut db = open(dir.path());
    assert_eq!(db.drop_retired().expect("drop"), [RETIRED]);
    assert_eq!(db.drop_retired().expect("again"), Vec::<String>::new());
    assert_eq!(counts(&db), (15, 1, 0, 0, 14));
    drop(db);
    {
        let raw = raw(dir.path());
        let meta = raw.cf_handle("meta").expect("meta");
        for (key, _) in &records_of_retired {
            assert_eq!(raw.get_cf(meta, key).expect("read"), None, "deleted");
        }
        let chunks = raw.cf_handle("chunks").expect("chunks");
        assert_eq!(raw.get_cf(chunks, &chunk_records).expect("read"), None);
    }
    let mut db = open(dir.path());
    assert_eq!(db.drop_retired().expect("none left"), Vec::<String>::new());
    assert_eq!(counts(&db), (15, 1, 0, 0, 14));
}

/// One stream's audit, asserting it passed.
fn audit_passes(db: &mut Db) -> dyad_store::audit::StreamAudit {
    let audits = db.audit().expect("audit").expect("a ledger");
    let audit = audits
        .into_iter()
        .find(|a| a.stream == STREAM)
        .expect("stream");
    assert!(audit.ok(), "{audit:?}");
    audit
}

#[test]
fn the_ledger_accounts_for_every_item_across_takes_aligns_expiries_and_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open_with_instant_expiry(dir.path());
    db.start_audit().expect("ledger on an empty stockpile");
    for lane in [0, 1] {
        db.put(STREAM, lane, 0, &records(lane, 0, 300))
            .expect("put");
    }
    let t = db.take(STREAM, 100, 100).expect("take").expect("enough");
    db.ack(t.lease).expect("ack");
    // Items 100..150 of lane 0 are discarded as unpairable.
    let exact = [TagRange::new(0, 150, 20)];
    let t = db.take_exact(STREAM, &exact).expect("take").expect("put");
    db.ack(t.lease).expect("ack");
    // A lease left to expire, a tail discarded and numbers skipped by an alignment.
    db.take(STREAM, 30, 30).expect("take").expect("enough");
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(db.expire_leases(Instant::now()).expect("expire"), 1);
    db.align(STREAM, 1, 250, 400).expect("align");
    db.take(STREAM, 10, 10).expect("take").expect("enough"); // open at the restart
    drop(db);

    let mut db = open(dir.path());
    db.put(STREAM, 1, 400, &records(1, 400, 5))
        .expect("put at the new next");
    let audit = audit_passes(&mut db);
    assert_eq!(audit.skipped, 100);
    assert_eq!(audit.discarded, 50 + 50);
    assert_eq!(audit.handed_out, 100 + 20 + 30 + 10);
    // Lane 0: 210 gone; lane 1: below 250, and 5 from the new next.
    assert_eq!(audit.available, 90 + 255);
}

#[test]
fn the_ledger_must_start_with_the_stockpile_and_stays_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(dir.path());
    assert!(db.audit().expect("audit").is_none(), "no ledger by default");
    db.put(STREAM, 0, 0, &records(0, 0, 10)).expect("put");
    let err = db.start_audit().expect_err("items from before the ledger");
    assert!(matches!(err, StoreError::FailedPrecondition(_)), "{err}");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(dir.path());
    db.start_audit().expect("ledger");
    db.put(STREAM, 0, 0, &records(0, 0, 10)).expect("put");
    drop(db);
    let mut db = open(dir.path());
    db.take(STREAM, 4, 4).expect("take").expect("enough");
    assert_eq!(
        audit_passes(&mut db).handed_out,
        4,
        "still recording after a restart"
    );
}

/// A stream written before its kind's records were laid out anew (matrix triples, which now
/// hold a key in place of `U_i, V_i`) is set aside at open like a stream of a retired kind:
/// whether its records' size changed (4x5x3: 376 bytes then, 112 now) or not (1x1x1: 24
/// bytes either way, told apart only by the layout revision the stockpile keeps). Until
/// `drop_retired` deletes them (with their ledger entries) the streams refuse every request
/// that could write over their chunk keys; then they fill anew, are read again after a
/// restart, and the ledger's audit passes.
#[test]
fn streams_of_an_earlier_record_layout_are_set_aside_at_open() {
    let u64s = |v: &[u64]| -> Vec<u8> { v.iter().flat_map(|f| f.to_le_bytes()).collect() };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(dir.path());
    db.start_audit().expect("ledger on an empty stockpile");
    db.put(STREAM, 0, 0, &records(0, 0, 10)).expect("put");
    drop(db);
    let old = [("matrix-triple/4x5x3", 376u64), ("matrix-triple/1x1x1", 24)];
    {
        let raw = rocksdb::DB::open_cf(
            &rocksdb::Options::default(),
            dir.path(),
            ["chunks", "meta", "audit"],
        )
        .expect("raw open");
        let (meta, chunks) = (
            raw.cf_handle("meta").expect("meta"),
            raw.cf_handle("chunks").expect("chunks"),
        );
        for (name, bytes) in old {
            let prefixed = [&(name.len() as u16).to_be_bytes()[..], name.as_bytes()].concat();
            let chunk = [&prefixed[..], &[0; 12]].concat();
            // What a version before layout revisions wrote: five fields, two items.
            raw.put_cf(
                meta,
                [&b"S"[..], name.as_bytes()].concat(),
                u64s(&[bytes, 2, 0, 0, 0]),
            )
            .expect("stream");
            raw.put_cf(meta, [&b"N"[..], &prefixed, &[0; 4]].concat(), u64s(&[2]))
                .expect("lane");
            raw.put_cf(meta, [&b"C"[..], &chunk].concat(), u64s(&[2, 0]))
                .expect("chunk");
            raw.put_cf(chunks, &chunk, vec![7u8; 2 * bytes as usize])
                .expect("records");
        }
        // The old version handed out the 1x1x1 stream's two items, as its ledger says.
        let handed_out = dyad_store::audit::Entry {
            stream: "matrix-triple/1x1x1".into(),
            lane: 0,
            first: 0,
            count: 2,
            fate: dyad_store::audit::Fate::HandedOut,
        };
        let audit = raw.cf_handle("audit").expect("audit");
        raw.put_cf(audit, 1000u64.to_be_bytes(), handed_out.encode())
            .expect("ledger");
    }
    let mut db = open(dir.path());
    let streams: Vec<String> = db.inventory().into_iter().map(|s| s.stream).collect();
    assert_eq!(streams, [STREAM]);
    // Neither taken nor added to until the old records are gone (they hold the chunk keys).
    for err in [
        db.take("matrix-triple/1x1x1", 1, 1).err(),
        db.put("matrix-triple/1x1x1", 0, 0, &[9u8; 24]).err(),
        db.align("matrix-triple/1x1x1", 0, 0, 5).err(),
        db.lane_status("matrix-triple/1x1x1", 0).err(),
    ] {
        let err = err.expect("refused").to_string();
        assert!(err.contains("--drop-retired"), "{err}");
    }
    let mut dropped = db.drop_retired().expect("drop");
    dropped.sort();
    assert_eq!(dropped, ["matrix-triple/1x1x1", "matrix-triple/4x5x3"]);
    // Written now: kept across a restart.
    db.put("matrix-triple/1x1x1", 0, 0, &[9u8; 48])
        .expect("put");
    drop(db);
    let mut db = open(dir.path());
    let streams: Vec<String> = db.inventory().into_iter().map(|s| s.stream).collect();
    assert_eq!(streams, ["dabit", "matrix-triple/1x1x1"]);
    assert_eq!(db.drop_retired().expect("none"), Vec::<String>::new());
    let t = db
        .take("matrix-triple/1x1x1", 2, 2)
        .expect("take")
        .expect("stocked");
    assert_eq!(t.payload, [9u8; 48]);
    db.ack(t.lease).expect("ack");
    let audits = db.audit().expect("audit").expect("ledger on");
    assert!(audits.iter().all(|a| a.ok()), "{audits:?}");
}
