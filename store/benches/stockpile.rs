//! Stockpile throughput through gRPC against raw RocksDB on the same bytes in the same run,
//! and the latency of taking what one Network-A inference consumes.
//!
//! `cargo bench -p dyad-store --bench stockpile`

use std::time::{Duration, Instant};

use bytes::Bytes;
use dyad_store::{Budget, StoreClient, StoreConfig, serve};
use dyad_vocabulary::{Kind, Prime};
use rocksdb::{DB, Options, WriteBatch, WriteOptions};

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// Bytes per Put and per Take.
const BATCH: usize = 8 << 20;
const BATCHES: usize = 48;

fn mb_per_s(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / elapsed.as_secs_f64()
}

/// Raw RocksDB: the same 1 MiB chunks per batch, one synced write per batch; then reads.
fn raw_rocksdb(dir: &std::path::Path, payload: &[u8]) -> (f64, f64) {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.set_enable_blob_files(true);
    options.set_min_blob_size(4096);
    let db = DB::open(&options, dir).expect("open");
    let mut sync = WriteOptions::default();
    sync.set_sync(true);
    let start = Instant::now();
    for b in 0..BATCHES {
        let mut batch = WriteBatch::default();
        for (i, chunk) in payload.chunks(1 << 20).enumerate() {
            batch.put(format!("{b:08}-{i:04}"), chunk);
        }
        db.write_opt(batch, &sync).expect("write");
    }
    let write = mb_per_s(BATCHES * payload.len(), start.elapsed());
    let start = Instant::now();
    let mut read = 0;
    for b in 0..BATCHES {
        let mut out = Vec::with_capacity(payload.len());
        for i in 0..payload.len().div_ceil(1 << 20) {
            let v = db
                .get_pinned(format!("{b:08}-{i:04}"))
                .expect("get")
                .expect("present");
            out.extend_from_slice(&v);
        }
        let mut batch = WriteBatch::default();
        for i in 0..payload.len().div_ceil(1 << 20) {
            batch.delete(format!("{b:08}-{i:04}"));
        }
        db.write_opt(batch, &sync).expect("delete");
        read += out.len();
    }
    (write, mb_per_s(read, start.elapsed()))
}

async fn start_store(dir: &std::path::Path) -> String {
    let config = StoreConfig {
        party: 0,
        data_dir: dir.to_owned(),
        token: TOKEN.into(),
        budget: Budget {
            budget_bytes: 1 << 34,
            high_water_bytes: 1 << 33,
        },
        lease_ttl: Duration::from_secs(60),
        drop_retired: false,
        audit: false,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(serve(config, listener, std::future::pending()));
    addr
}

/// What one Network-A inference (batch 1, CheckZero `product`) consumes: three matrix
/// triples, a daBit per output for its truncation, and per ReLU a comparison mask, 62 mod-p
/// triples, a scaled triple, a daBit and an elementwise triple.
fn network_a_inference() -> Vec<(Kind, u64)> {
    let relus = 128 + 128 + 10;
    let p = Prime::default();
    vec![
        (
            Kind::MatrixTriple {
                m: 1,
                n: 784,
                k: 128,
            },
            1,
        ),
        (
            Kind::MatrixTriple {
                m: 1,
                n: 128,
                k: 128,
            },
            1,
        ),
        (
            Kind::MatrixTriple {
                m: 1,
                n: 128,
                k: 10,
            },
            1,
        ),
        (Kind::ComparisonMask { p }, relus),
        (Kind::ModpTriple { p }, 62 * relus),
        (Kind::ScaledModpTriple { p }, relus),
        (Kind::DaBit, relus + 266),
        (Kind::ElementwiseTriple, relus),
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = Kind::ComparisonMask {
        p: Prime::default(),
    }
    .item_bytes();
    let payload: Vec<u8> = (0..BATCH / record * record)
        .map(|i| (i * 31) as u8)
        .collect();
    let (raw_write, raw_read) = raw_rocksdb(&dir.path().join("raw"), &payload);

    let addr = start_store(&dir.path().join("store")).await;
    let mut client = StoreClient::connect(&addr, TOKEN).await.expect("connects");
    let items = (payload.len() / record) as u64;
    let bytes = Bytes::from(payload);
    let start = Instant::now();
    for b in 0..BATCHES as u64 {
        client
            .put("comparison-mask", 0, b * items, bytes.clone())
            .await
            .expect("put");
    }
    let put = mb_per_s(BATCHES * bytes.len(), start.elapsed());
    let start = Instant::now();
    for _ in 0..BATCHES {
        let taken = client
            .take("comparison-mask", items, Duration::ZERO)
            .await
            .expect("take");
        client.ack(taken.lease).await.expect("ack");
    }
    let take = mb_per_s(BATCHES * bytes.len(), start.elapsed());

    println!(
        "stockpile throughput, {BATCHES} batches of {} MiB, synced writes",
        bytes.len() >> 20
    );
    println!(
        "{:<6} {:>14} {:>14} {:>7}",
        "", "gRPC MB/s", "RocksDB MB/s", "ratio"
    );
    println!(
        "{:<6} {:>14.0} {:>14.0} {:>7.2}",
        "Put",
        put,
        raw_write,
        put / raw_write
    );
    println!(
        "{:<6} {:>14.0} {:>14.0} {:>7.2}",
        "Take",
        take,
        raw_read,
        take / raw_read
    );

    // Latency of taking one Network-A inference's items, one Take per stream.
    let inference = network_a_inference();
    let runs = 200u64;
    for (kind, count) in &inference {
        let stream = kind.to_string();
        let first = client.lane_status(&stream, 0).await.expect("status").next;
        let stock = vec![0u8; kind.item_bytes() * (*count * runs) as usize];
        client
            .put(&stream, 0, first, Bytes::from(stock))
            .await
            .expect("stock");
    }
    let inference_bytes: usize = inference
        .iter()
        .map(|(k, c)| k.item_bytes() * *c as usize)
        .sum();
    let (mut sequential, mut concurrent) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let start = Instant::now();
        if run % 2 == 0 {
            for (kind, count) in &inference {
                let t = client
                    .take(&kind.to_string(), *count, Duration::ZERO)
                    .await
                    .expect("take");
                client.ack(t.lease).await.expect("ack");
            }
            sequential.push(start.elapsed());
        } else {
            let takes = inference.clone().into_iter().map(|(kind, count)| {
                let mut c = client.clone();
                async move {
                    let t = c
                        .take(&kind.to_string(), count, Duration::ZERO)
                        .await
                        .expect("take");
                    c.ack(t.lease).await.expect("ack");
                }
            });
            futures_join_all(takes).await;
            concurrent.push(start.elapsed());
        }
    }
    sequential.sort();
    concurrent.sort();
    println!(
        "Network-A inference ({} streams, {:.0} KiB): sequential takes p50 {:.2} ms p99 {:.2} ms; \
         concurrent takes p50 {:.2} ms p99 {:.2} ms",
        inference.len(),
        inference_bytes as f64 / 1024.0,
        percentile(&sequential, 0.5),
        percentile(&sequential, 0.99),
        percentile(&concurrent, 0.5),
        percentile(&concurrent, 0.99)
    );
}

/// Runs the futures concurrently.
async fn futures_join_all<F: Future<Output = ()> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) {
    let mut set = tokio::task::JoinSet::new();
    for f in futures {
        set.spawn(f);
    }
    while set.join_next().await.is_some() {}
}
