//! A real `dyad store` process killed with SIGKILL in the middle of a stream of Puts and
//! Takes, then restarted, many times: no item is ever served twice, records always match
//! their tags, and every committed item is accounted for.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dyad_store_client::StoreClient;
use dyad_store_client::token::read_token;
use rand::RngExt;

use crate::support::{Running, free_tcp_addr};

const STREAM: &str = "dabit"; // 9-byte records
const ROUNDS: usize = 15;

/// A record that names its own tag.
fn record(seq: u64) -> [u8; 9] {
    let mut r = [0u8; 9];
    r[1..].copy_from_slice(&seq.to_le_bytes());
    r
}

/// What the clients observed, across all rounds.
#[derive(Default)]
struct Observed {
    received: HashSet<u64>,
    acked_items: u64,
    /// Items received whose acknowledgement failed: the store may count them either way.
    unacked_items: u64,
    /// Requested items of Takes that failed: the store may have leased them before dying.
    uncertain_items: u64,
}

fn start(data: &Path, addr: &str, token: &Path) -> Running {
    Running::spawn(&[
        "store",
        "--party",
        "0",
        "--data",
        data.to_str().expect("utf-8"),
        "--listen",
        addr,
        "--token-file",
        token.to_str().expect("utf-8"),
        "--lease-seconds",
        "2",
    ])
}

async fn connect(addr: &str, token_file: &Path) -> StoreClient {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(token) = read_token(token_file)
            && let Ok(mut c) = StoreClient::connect(addr, &token).await
            && c.inventory().await.is_ok()
        {
            return c;
        }
        assert!(Instant::now() < deadline, "the store did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Puts random-sized batches, continuing the lane wherever the store says it stands.
async fn putter(mut c: StoreClient) {
    let Ok(status) = c.lane_status(STREAM, 0).await else {
        return;
    };
    let mut next = status.next;
    loop {
        let n = rand::rng().random_range(1..3000u64);
        let payload: Vec<u8> = (next..next + n).flat_map(record).collect();
        match c.put(STREAM, 0, next, Bytes::from(payload)).await {
            Ok(_) => next += n,
            Err(_) => return, // the store died; the next round resumes from its lane status
        }
    }
}

/// Takes random amounts, checks every record against its tag, and acknowledges.
async fn taker(mut c: StoreClient, seen: Arc<Mutex<Observed>>) {
    loop {
        let n = rand::rng().random_range(1..4000u64);
        let wait = Duration::from_millis(rand::rng().random_range(0..50));
        let taken = match c.take(STREAM, n, wait).await {
            Ok(t) => t,
            Err(s) if s.is_exhausted() => continue,
            Err(_) => {
                seen.lock().expect("lock").uncertain_items += n;
                return;
            }
        };
        let mut tags = Vec::new();
        for r in &taken.ranges {
            tags.extend(r.seqs.clone());
        }
        assert_eq!(tags.len() as u64, n, "never a partial batch");
        let expected: Vec<u8> = tags.iter().copied().flat_map(record).collect();
        assert_eq!(
            taken.payload.as_ref(),
            expected.as_slice(),
            "records match their tags"
        );
        let acked = c.ack(taken.lease).await.is_ok();
        let mut seen = seen.lock().expect("lock");
        for t in tags {
            assert!(seen.received.insert(t), "item {t} was served twice");
        }
        match acked {
            true => seen.acked_items += n,
            false => {
                seen.unacked_items += n;
                return;
            }
        }
    }
}

#[test]
fn kill_9_during_puts_and_takes_never_serves_twice_and_loses_nothing() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, token) = (dir.path().join("data"), dir.path().join("token"));
    let addr = free_tcp_addr().to_string();
    let seen = Arc::new(Mutex::new(Observed::default()));

    for round in 0..ROUNDS {
        let store = start(&data, &addr, &token);
        runtime.block_on(async {
            let c = connect(&addr, &token).await;
            let put = tokio::spawn(putter(c.clone()));
            // Let the first rounds build a stock before taking, so takes interleave with puts.
            if round > 0 {
                tokio::spawn(taker(c.clone(), seen.clone()));
            }
            let lifetime = rand::rng().random_range(100..400);
            tokio::time::sleep(Duration::from_millis(lifetime)).await;
            store.kill();
            let _ = put.await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        });
    }

    // A last start: drain what is left and check the books.
    let store = start(&data, &addr, &token);
    runtime.block_on(async {
        let mut c = connect(&addr, &token).await;
        let next = c.lane_status(STREAM, 0).await.expect("status").next;
        let inventory = c.inventory().await.expect("inventory");
        let s = inventory.streams.iter().find(|s| s.stream == STREAM).expect("stream");
        assert_eq!(s.in_flight, 0, "a restart resolves every lease");
        if s.available > 0 {
            taker_drain(&mut c, s.available, &seen).await;
        }
        let inventory = c.inventory().await.expect("inventory");
        let s = inventory.streams.iter().find(|s| s.stream == STREAM).expect("stream");
        let seen = seen.lock().expect("lock");
        println!(
            "{ROUNDS} kills: {} items put, {} taken, {} discarded; client saw {} (acked {}, unacked {}), {} uncertain",
            s.put, s.taken, s.discarded, seen.received.len(), seen.acked_items, seen.unacked_items, seen.uncertain_items
        );
        assert!(s.put > 0 && s.taken > 0, "the workload ran");
        assert_eq!(s.put, next, "every committed item is counted as put");
        assert_eq!((s.available, s.in_flight), (0, 0));
        assert_eq!(s.put, s.taken + s.discarded, "counts add up");
        assert!(seen.received.iter().all(|&t| t < next), "only committed items were served");
        // Every acknowledged item is taken; only received items can be.
        assert!(s.taken >= seen.acked_items && s.taken <= seen.received.len() as u64);
        // Nothing was lost: an item never received was leased by a Take that died with the
        // store, and only such items and unacknowledged ones can be discarded.
        let unseen = next - seen.received.len() as u64;
        assert!(unseen <= seen.uncertain_items, "{unseen} items vanished");
        assert!(s.discarded <= seen.unacked_items + seen.uncertain_items, "too many discarded");
    });
    drop(store);
}

async fn taker_drain(c: &mut StoreClient, count: u64, seen: &Arc<Mutex<Observed>>) {
    let taken = c.take(STREAM, count, Duration::ZERO).await.expect("drain");
    let expected: Vec<u8> = taken
        .ranges
        .iter()
        .flat_map(|r| r.seqs.clone())
        .flat_map(record)
        .collect();
    assert_eq!(taken.payload.as_ref(), expected.as_slice());
    c.ack(taken.lease).await.expect("ack");
    let mut seen = seen.lock().expect("lock");
    for r in &taken.ranges {
        for t in r.seqs.clone() {
            assert!(seen.received.insert(t), "item {t} was served twice");
        }
    }
    seen.acked_items += count;
}
