//! The stockpile's ceiling (issue 27): how many Network-A training steps per second one
//! stockpile takes in from many offline lanes at once over gRPC while a job takes them out, and
//! so at how many worker pairs it saturates.
//!
//! Each of N lanes (1, 4, 16, 64 clients, each its own gRPC connection) puts one Network-A
//! step (batch 128, the default configuration: `dyad plan --model net-a --batch 128
//! --iterations 1`) per stream per round, as a worker puts its batches; one consumer at the
//! same time takes and acknowledges step after step, each stream in one Take, as a training
//! job does. It prints items/s and MB/s put and taken, and the steps per second the stockpile
//! absorbs. From a worker pair's measured cost of a step, `X` core-seconds per party
//! (`DYAD_BENCH_CORE_SECONDS`; measure it with the offline bench, `--plan` of a one-step plan,
//! which prints the CPU seconds of both parties together), a 16-core worker pair stocks `16 /
//! X` steps per second, and the stockpile saturates at `steps/s / (16 / X)` such pairs.
//!
//! Each configuration also runs with a party's streams sharded over S stockpiles (issue 27;
//! `dyad_store_client::shard`): lane `L` puts into shard `L mod S`, and the consumer takes as a job's
//! P0 does over shards, each stream's Take from the shard after the one that served its last,
//! passing a dry shard's turn on. It prints the steps per second per stockpile and the gain over
//! one stockpile with as many lanes. On one machine the shards share its cores with the lanes
//! and the consumer, so the gain is bounded by the cores, not by the stockpiles.
//!
//! `cargo bench -p dyad-store --bench ceiling` (`DYAD_BENCH_STEPS`: steps put per
//! configuration, default 64; `DYAD_BENCH_LANES=1,4,16,64`; `DYAD_BENCH_SHARDS=1,2`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dyad_online::Config;
use dyad_online::model::Network;
use dyad_online::nn::Optimizer;
use dyad_store_client::shard::shard_of;
use dyad_store_client::{StoreClient, Taken};
use dyad_vocabulary::Kind;
use support::{BenchStore, TOKEN};

mod support;

/// Cores per party of the worker pairs the ceiling is stated in.
const CORES: f64 = 16.0;
/// A worker pair's core-seconds per party for one Network-A step, measured on 2026-12-06 with
/// the offline bench on a one-step plan: 4.52 and 4.61 CPU seconds for both parties together,
/// in two runs (11.2 s and 4.7 s of wall time on a loaded and a quieter machine).
const CORE_SECONDS_PER_STEP: f64 = 2.3;
/// The most bytes one Put carries (the store's message limit is 64 MiB).
const MAX_PUT: usize = 16 << 20;
/// How long a Take waits on a dry shard after a first sweep found none ready (as the job's
/// runtime does with several shards).
const SHARD_WAIT: Duration = Duration::from_millis(500);

fn env<T: std::str::FromStr>(key: &str) -> Option<T> {
    std::env::var(key).ok().and_then(|v| v.parse().ok())
}

/// One Network-A training step's items, per kind.
fn network_a_step() -> Vec<(Kind, u64)> {
    let net = Network::by_name("net-a").expect("Network-A");
    let c = Config::default();
    let demand = net
        .training_demand(
            128,
            false,
            &Optimizer::sgd(0),
            (c.fixed, c.comparison(), c.exp),
        )
        .expect("demand");
    demand.0.into_iter().collect()
}

/// Puts `steps` steps of `step` into `lane`, each stream's items in Puts of at most
/// [`MAX_PUT`] bytes.
async fn lane(addr: String, lane: u32, step: Vec<(Kind, u64)>, steps: u64) {
    let mut client = StoreClient::connect(&addr, TOKEN).await.expect("connects");
    let mut next: BTreeMap<Kind, u64> = BTreeMap::new();
    let records: BTreeMap<Kind, Bytes> = step
        .iter()
        .map(|(k, n)| (*k, Bytes::from(vec![0x5au8; k.item_bytes() * *n as usize])))
        .collect();
    for _ in 0..steps {
        for (kind, count) in &step {
            let per_put = (MAX_PUT / kind.item_bytes()).max(1) as u64;
            let mut done = 0;
            while done < *count {
                let n = per_put.min(count - done);
                let first = next.entry(*kind).or_default();
                let bytes = kind.item_bytes();
                let payload = records[kind].slice(..bytes * n as usize);
                client
                    .put(&kind.to_string(), lane, *first, payload)
                    .await
                    .expect("put");
                *first += n;
                done += n;
            }
        }
    }
}

/// Takes `steps` steps from the shards at `addrs`, one Take per stream each, as a training
/// job does (waiting for what is not there yet): each stream's Take goes to the shard after the
/// one that served its last.
async fn consumer(addrs: Vec<String>, step: Vec<(Kind, u64)>, steps: u64) {
    let mut shards = Vec::new();
    for addr in &addrs {
        shards.push(StoreClient::connect(addr, TOKEN).await.expect("connects"));
    }
    let mut next: BTreeMap<Kind, usize> = BTreeMap::new();
    for _ in 0..steps {
        for (kind, count) in &step {
            let first = next.get(kind).copied().unwrap_or(0);
            let (shard, taken) = take_from_any(&mut shards, first, &kind.to_string(), *count).await;
            shards[shard].ack(taken.lease).await.expect("ack");
            next.insert(*kind, (shard + 1) % shards.len());
        }
    }
}

/// One Take of `count` items of `stream` from whichever shard can serve it, asking them in
/// turn from `first`: the first sweep without waiting, later ones waiting up to [`SHARD_WAIT`]
/// on each (the job's runtime, `StockpileRandomness`, sweeps the same way).
async fn take_from_any(
    shards: &mut [StoreClient],
    first: usize,
    stream: &str,
    count: u64,
) -> (usize, Taken) {
    let n = shards.len();
    let mut wait = Duration::ZERO;
    loop {
        for shard in (first..first + n).map(|i| i % n) {
            match shards[shard].take(stream, count, wait).await {
                Ok(taken) => return (shard, taken),
                Err(s) if s.is_exhausted() => {}
                Err(s) => panic!("take: {s}"),
            }
        }
        wait = SHARD_WAIT;
    }
}

/// One configuration: `lanes` lanes putting `steps` steps in all into `shards` fresh
/// stockpiles (lane `L` into shard `L mod S`) while one consumer takes them. Returns the steps
/// and the seconds they took.
async fn run(lanes: u32, shards: usize, step: &[(Kind, u64)], steps: u64) -> (u64, f64) {
    let mut dirs = Vec::new();
    let mut addrs = Vec::new();
    let mut running = Vec::new();
    for _ in 0..shards {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BenchStore::start(dir.path()).await;
        addrs.push(store.addr.clone());
        running.push(store);
        dirs.push(dir);
    }
    let per_lane = steps.div_ceil(u64::from(lanes));
    let total = per_lane * u64::from(lanes);
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for l in 0..lanes {
        let addr = addrs[shard_of(l, shards)].clone();
        set.spawn(lane(addr, l, step.to_vec(), per_lane));
    }
    set.spawn(consumer(addrs, step.to_vec(), total));
    while let Some(done) = set.join_next().await {
        done.expect("a lane or the consumer failed");
    }
    let seconds = start.elapsed().as_secs_f64();
    // Closed before the next configuration, so that they do not compact under it.
    for store in running {
        store.close().await;
    }
    (total, seconds)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let steps: u64 = env("DYAD_BENCH_STEPS").unwrap_or(64);
    let lanes: Vec<u32> = std::env::var("DYAD_BENCH_LANES")
        .unwrap_or_else(|_| "1,4,16,64".into())
        .split(',')
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let shard_counts: Vec<usize> = std::env::var("DYAD_BENCH_SHARDS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|s| *s > 0)
        .collect();
    let core_seconds: f64 = env("DYAD_BENCH_CORE_SECONDS").unwrap_or(CORE_SECONDS_PER_STEP);
    let step = network_a_step();
    let items: u64 = step.iter().map(|(_, n)| n).sum();
    let bytes: u64 = step.iter().map(|(k, n)| k.item_bytes() as u64 * n).sum();
    let mib = |b: f64| b / (1 << 20) as f64;
    println!(
        "one Network-A step (batch 128, default configuration): {items} items, {:.2} MiB, in {} \
         streams",
        mib(bytes as f64),
        step.len()
    );
    let pair_steps = CORES / core_seconds;
    println!(
        "a {CORES}-core worker pair: {core_seconds} core-seconds per step per party, so \
         {pair_steps:.2} steps/s ({:.0} MiB/s into each party's stockpile)",
        pair_steps * mib(bytes as f64)
    );
    println!(
        "{:>6} {:>7} {:>8} {:>12} {:>10} {:>10} {:>14} {:>12} {:>14}",
        "lanes",
        "shards",
        "steps",
        "items/s",
        "MB/s",
        "steps/s",
        "per stockpile",
        "vs 1 shard",
        "16-core pairs"
    );
    // The last row's steps per second per stockpile (the most lanes and shards, when listed in
    // ascending order), for the sizing below.
    let mut per_stockpile = None;
    for n in lanes {
        let mut one_shard = None;
        for &shards in &shard_counts {
            let (total, seconds) = run(n, shards, &step, steps).await;
            let rate = total as f64 / seconds;
            let single = *one_shard.get_or_insert(rate);
            let gain = match shards {
                1 => String::new(),
                _ => format!("{:.2}x", rate / single),
            };
            per_stockpile = Some(rate / shards as f64);
            println!(
                "{n:>6} {shards:>7} {total:>8} {:>12.0} {:>10.1} {rate:>10.2} {:>14.2} {gain:>12} \
                 {:>14.1}",
                rate * items as f64,
                rate * bytes as f64 / 1e6,
                rate / shards as f64,
                rate / pair_steps
            );
        }
    }
    println!(
        "(each step is put once and taken once: MB/s counts it once; each stockpile wrote and \
         read its share; `vs 1 shard` is against the first row of the same lanes, whose shard \
         count is the first of DYAD_BENCH_SHARDS)"
    );
    if let Some(per_stockpile) = per_stockpile {
        println!(
            "at the last row's {per_stockpile:.2} steps/s per stockpile, a party fed by P such \
             pairs needs P x {pair_steps:.2} / {per_stockpile:.2} shards: {:.0} for 8 pairs, \
             {:.0} for 64",
            (8.0 * pair_steps / per_stockpile).ceil(),
            (64.0 * pair_steps / per_stockpile).ceil()
        );
    }
}
