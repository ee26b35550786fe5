//! DReLU on 10^5 elements over loopback QUIC, the bitwise comparison and both CheckZero
//! variants with both comparison primes (67: one byte per element; 40961: two): elements per second, rounds, and bytes per
//! element each way. Correlated randomness comes from the in-process
//! fixture but is generated before the clock starts, as a prefetching stockpile client would
//! have it ready, so only the online phase is timed.
//!
//! `cargo bench -p dyad-online --features test-fixture --bench drelu`

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use dyad_link::loopback_pair;
use dyad_online::protocols::{CheckZeroVariant, drelu};
use dyad_online::{Config, Party, Prime, Z64};
use dyad_randomness::*;
use dyad_testing::fixture::{self, Fixture};
use ndarray::Array1;

const N: usize = 100_000;
const REPS: usize = 3;

/// Batches generated ahead of time, handed out per kind in request order.
#[derive(Default)]
struct Stocked(HashMap<Kind, VecDeque<Batch<Items>>>);

impl Randomness for Stocked {
    async fn take_kind(&mut self, kind: Kind, _: usize) -> Result<Batch<Items>, RandomnessError> {
        let queue = self.0.get_mut(&kind);
        queue
            .and_then(VecDeque::pop_front)
            .ok_or_else(|| RandomnessError::Exhausted {
                kind: kind.to_string(),
                detail: "the benchmark stocked too little".into(),
            })
    }
}

/// Generates, in DReLU's request order, what `REPS + 1` runs consume.
async fn stock(source: &mut Fixture, config: Config) -> Stocked {
    let p = config.prime;
    let mut requests = Vec::new();
    for _ in 0..=REPS {
        match config.checkzero {
            CheckZeroVariant::Bits => requests.push((Kind::ComparisonBits, N)),
            CheckZeroVariant::Product => {
                requests.push((Kind::ComparisonMask { p }, N));
                for width in [32, 16, 8, 4, 2] {
                    requests.push((Kind::ModpTriple { p }, N * width));
                }
                requests.push((Kind::ScaledModpTriple { p }, N));
            }
            CheckZeroVariant::Paper => {
                requests.push((Kind::ComparisonMask { p }, N));
                requests.push((Kind::ModpTriple { p }, N * 32));
            }
        }
    }
    let mut stocked = Stocked::default();
    for (kind, n) in requests {
        let batch = source.take_kind(kind, n).await.expect("fixture");
        stocked.0.entry(kind).or_default().push_back(batch);
    }
    stocked
}

async fn run(config: Config) {
    let [mut f0, mut f1] = fixture::pair(1);
    let (s0, s1) = tokio::join!(stock(&mut f0, config), stock(&mut f1, config));
    let (mut l0, mut l1) = loopback_pair().await.expect("link");
    let (mut p0, mut p1) = tokio::try_join!(
        Party::new(&mut l0, s0, config),
        Party::new(&mut l1, s1, config)
    )
    .expect("parties");
    let mut a0: Array1<Z64> = (0..N as u64)
        .map(|i| Z64(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
        .collect();
    let mut a1: Array1<Z64> = (0..N as u64)
        .map(|i| Z64(i.wrapping_mul(0xc2b2_ae3d_27d4_eb4f)))
        .collect();

    let mut times = Vec::new();
    let mut cost = Default::default();
    for rep in 0..=REPS {
        let start = Instant::now();
        let t0 = tokio::spawn(timed(p0, a0));
        let t1 = tokio::spawn(timed(p1, a1));
        let (r0, r1) = tokio::join!(t0, t1);
        let elapsed = start.elapsed();
        let (c0, c1);
        ((p0, a0, c0), (p1, a1, c1)) = (r0.expect("P0 task"), r1.expect("P1 task"));
        // The first run warms up the link and the allocator.
        if rep > 0 {
            times.push(elapsed);
            cost = (c0, c1);
        }
    }
    report(config, &mut times, cost);
}

/// One party's DReLU; hands the party and its input back with what the run cost.
async fn timed(
    mut p: Party<Stocked>,
    a: Array1<Z64>,
) -> (Party<Stocked>, Array1<Z64>, dyad_link::LinkCounters) {
    let before = p.counters();
    drelu(&mut p, &a).await.expect("DReLU");
    let cost = p.counters() - before;
    (p, a, cost)
}

fn report(
    config: Config,
    times: &mut [Duration],
    (c0, c1): (dyad_link::LinkCounters, dyad_link::LinkCounters),
) {
    times.sort();
    let median = times[times.len() / 2].as_secs_f64();
    println!(
        "{:<8} {:>6} {:>12.0} {:>7} {:>12.1} {:>12.1} {:>10.1}",
        format!("{:?}", config.checkzero),
        config.prime.to_string(),
        N as f64 / median,
        c0.rounds,
        c0.bytes_sent as f64 / N as f64,
        c1.bytes_sent as f64 / N as f64,
        median * 1e3
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("DReLU, n = {N}, loopback QUIC, median of {REPS} runs");
    println!(
        "{:<8} {:>6} {:>12} {:>7} {:>12} {:>12} {:>10}",
        "variant", "p", "elements/s", "rounds", "B/elt P0->P1", "B/elt P1->P0", "ms"
    );
    run(Config {
        checkzero: CheckZeroVariant::Bits,
        ..Config::default()
    })
    .await;
    for checkzero in [CheckZeroVariant::Product, CheckZeroVariant::Paper] {
        for prime in [Prime::P67, Prime::P40961] {
            run(Config {
                checkzero,
                prime,
                ..Config::default()
            })
            .await;
        }
    }
}
