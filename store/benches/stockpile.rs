//! Stockpile throughput through gRPC against raw RocksDB on the same bytes in the same run,
//! and the latency of taking what one Network-A request served with today's defaults
//! consumes, as `dyad plan --model net-a --inferences N` stocks for it.
//!
//! `cargo bench -p dyad-store --bench stockpile` (`DYAD_BENCH_BATCHES` sets the number of
//! 8 MiB batches, default 48).

use std::time::{Duration, Instant};

use bytes::Bytes;
use dyad_online::Config;
use dyad_online::model::Network;
use dyad_online::protocols::REQUESTS_PER_TRIPLE;
use dyad_store_client::StoreClient;
use dyad_vocabulary::Kind;
use rocksdb::{DB, Options, WriteBatch, WriteOptions};
use support::{BenchStore, TOKEN};

mod support;

/// Bytes per Put and per Take.
const BATCH: usize = 8 << 20;
/// Requests whose takes are timed.
const REQUESTS: u64 = 200;
/// Takes of the weight-bound triples that are timed.
const TRIPLE_TAKES: u64 = 10;

fn mb_per_s(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / elapsed.as_secs_f64()
}

/// Raw RocksDB: the same 1 MiB chunks per batch, one synced write per batch; then reads.
fn raw_rocksdb(dir: &std::path::Path, payload: &[u8], batches: usize) -> (f64, f64) {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.set_enable_blob_files(true);
    options.set_min_blob_size(4096);
    let db = DB::open(&options, dir).expect("open");
    let mut sync = WriteOptions::default();
    sync.set_sync(true);
    let start = Instant::now();
    for b in 0..batches {
        let mut batch = WriteBatch::default();
        for (i, chunk) in payload.chunks(1 << 20).enumerate() {
            batch.put(format!("{b:08}-{i:04}"), chunk);
        }
        db.write_opt(batch, &sync).expect("write");
    }
    let write = mb_per_s(batches * payload.len(), start.elapsed());
    let start = Instant::now();
    let mut read = 0;
    for b in 0..batches {
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

/// Items to take: how many of each kind.
type Takes = Vec<(Kind, u64)>;

/// What one request to `dyad serve` takes for Network-A under the default online
/// configuration, from the cost model `dyad plan --inferences` stocks by: the items every
/// request takes, and those taken once per `REQUESTS_PER_TRIPLE` requests (the weight-bound
/// matrix triples). Both come out of the plan's demand: what grows with the requests is per
/// request, the rest is per triple.
fn network_a_request() -> (Takes, Takes) {
    let net = Network::by_name("net-a").expect("Network-A");
    let cmp = Config::default().comparison();
    let demand = |requests| net.serving_demand(requests, cmp).expect("demand").0;
    let q = REQUESTS_PER_TRIPLE as u64;
    let (one, full) = (demand(1), demand(q));
    let (mut per_request, mut per_triple) = (Vec::new(), Vec::new());
    for (kind, n1) in one {
        let each = (full[&kind] - n1) / (q - 1);
        if each > 0 {
            per_request.push((kind, each));
        }
        if n1 > each {
            per_triple.push((kind, n1 - each));
        }
    }
    (per_request, per_triple)
}

/// Puts `times` over what `demand` names into the stockpile.
async fn stock(client: &mut StoreClient, demand: &[(Kind, u64)], times: u64) {
    for (kind, count) in demand {
        let stream = kind.to_string();
        let first = client.lane_status(&stream, 0).await.expect("status").next;
        let records = vec![0u8; kind.item_bytes() * (count * times) as usize];
        client
            .put(&stream, 0, first, Bytes::from(records))
            .await
            .expect("stock");
    }
}

/// Takes (and acknowledges) what `demand` names, one Take per stream, one after the other.
async fn take_each(client: &mut StoreClient, demand: &[(Kind, u64)]) {
    for (kind, count) in demand {
        let t = client
            .take(&kind.to_string(), *count, Duration::ZERO)
            .await
            .expect("take");
        client.ack(t.lease).await.expect("ack");
    }
}

fn bytes_of(demand: &[(Kind, u64)]) -> usize {
    demand
        .iter()
        .map(|(k, c)| k.item_bytes() * *c as usize)
        .sum()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let batches: usize = std::env::var("DYAD_BENCH_BATCHES")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(48);
    let dir = tempfile::tempdir().expect("tempdir");
    // The bulk rates on the default comparison's masks, the most numerous records.
    let kind = Config::default().comparison().mask_kind();
    let (stream, record) = (kind.to_string(), kind.item_bytes());
    let payload: Vec<u8> = (0..BATCH / record * record)
        .map(|i| (i * 31) as u8)
        .collect();
    let (raw_write, raw_read) = raw_rocksdb(&dir.path().join("raw"), &payload, batches);

    let store = BenchStore::start(&dir.path().join("store")).await;
    let addr = store.addr.clone();
    let mut client = StoreClient::connect(&addr, TOKEN).await.expect("connects");
    let items = (payload.len() / record) as u64;
    let bytes = Bytes::from(payload);
    let start = Instant::now();
    for b in 0..batches as u64 {
        client
            .put(&stream, 0, b * items, bytes.clone())
            .await
            .expect("put");
    }
    let put = mb_per_s(batches * bytes.len(), start.elapsed());
    let start = Instant::now();
    for _ in 0..batches {
        let taken = client
            .take(&stream, items, Duration::ZERO)
            .await
            .expect("take");
        client.ack(taken.lease).await.expect("ack");
    }
    let take = mb_per_s(batches * bytes.len(), start.elapsed());

    println!(
        "stockpile throughput, {batches} batches of {:.1} MiB of {stream}, synced writes",
        bytes.len() as f64 / (1 << 20) as f64
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

    // Latency of taking one Network-A request's items, one Take per stream: sequentially and
    // concurrently in turns; and of the weight-bound triples taken once per
    // REQUESTS_PER_TRIPLE requests.
    let (request, triples) = network_a_request();
    stock(&mut client, &request, REQUESTS).await;
    stock(&mut client, &triples, TRIPLE_TAKES).await;
    let (mut sequential, mut concurrent) = (Vec::new(), Vec::new());
    for run in 0..REQUESTS {
        let start = Instant::now();
        if run % 2 == 0 {
            take_each(&mut client, &request).await;
            sequential.push(start.elapsed());
        } else {
            let takes = request.clone().into_iter().map(|(kind, count)| {
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
    let mut triple_takes = Vec::new();
    for _ in 0..TRIPLE_TAKES {
        let start = Instant::now();
        take_each(&mut client, &triples).await;
        triple_takes.push(start.elapsed());
    }
    for times in [&mut sequential, &mut concurrent, &mut triple_takes] {
        times.sort();
    }
    let kib = |bytes: usize| bytes as f64 / 1024.0;
    let streams = |d: &[(Kind, u64)]| {
        d.iter()
            .map(|(k, c)| format!("{k} x{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "Network-A request, default plan (per request: {}; per {REQUESTS_PER_TRIPLE} requests: {})",
        streams(&request),
        streams(&triples)
    );
    println!(
        "  per request, {:.1} KiB: sequential takes p50 {:.2} ms p99 {:.2} ms; concurrent takes \
         p50 {:.2} ms p99 {:.2} ms",
        kib(bytes_of(&request)),
        percentile(&sequential, 0.5),
        percentile(&sequential, 0.99),
        percentile(&concurrent, 0.5),
        percentile(&concurrent, 0.99)
    );
    // The runtime takes stream by stream as the protocols ask (ahead of them, with prefetch).
    let (each, triple) = (percentile(&sequential, 0.5), percentile(&triple_takes, 0.5));
    let amortised = each + triple / REQUESTS_PER_TRIPLE as f64;
    let amortised_bytes =
        bytes_of(&request) as f64 + bytes_of(&triples) as f64 / REQUESTS_PER_TRIPLE as f64;
    let rate = amortised_bytes / (1 << 20) as f64 / (amortised / 1e3);
    println!(
        "  weight-bound triples, {:.1} KiB: p50 {triple:.2} ms; amortised: sequential p50 {each:.2} ms + \
         {triple:.2} ms / {REQUESTS_PER_TRIPLE} = {amortised:.2} ms per request ({:.0} \
         requests/s, {rate:.1} MB/s, {:.2} of the bulk Take's)",
        kib(bytes_of(&triples)),
        1e3 / amortised,
        rate / take
    );
    store.close().await;
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
