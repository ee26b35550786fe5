//! DReLU on 10^5 elements over loopback QUIC, the bitwise comparison and both CheckZero
//! variants with both comparison primes (67: one byte per element; 40961: two): elements per second, rounds, and bytes per
//! element each way. Correlated randomness comes from the in-process
//! fixture but is generated before the clock starts, as a prefetching stockpile client would
//! have it ready, so only the online phase is timed.
//!
//! `cargo bench -p dyad-online --features test-fixture --bench drelu`

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use dyad_link::loopback_pair;
use dyad_online::protocols::{CheckZeroVariant, drelu};
use dyad_online::{Config, Party, Prime, Z64};
use dyad_randomness::*;
use dyad_testing::fixture::{self, Fixture};
use ndarray::Array1;

const N: usize = 100_000;
const REPS: usize = 3;

/// Batches generated ahead of time, handed out in request order.
#[derive(Default)]
struct Stocked {
    masks: VecDeque<Batch<ComparisonMasks>>,
    bits: VecDeque<Batch<ComparisonBits>>,
    modp: VecDeque<Batch<ModpTriples>>,
    scaled: VecDeque<Batch<ScaledModpTriples>>,
}

fn next<T>(queue: &mut VecDeque<T>, what: &str) -> Result<T, RandomnessError> {
    queue.pop_front().ok_or_else(|| RandomnessError::Exhausted {
        kind: what.into(),
        detail: "the benchmark stocked too little".into(),
    })
}

fn unused<T>() -> Result<T, RandomnessError> {
    Err(RandomnessError::Source(
        "DReLU does not use this kind".into(),
    ))
}

impl Randomness for Stocked {
    async fn matrix_triple(
        &mut self,
        _: usize,
        _: usize,
        _: usize,
    ) -> Result<Batch<MatrixTriple>, RandomnessError> {
        unused()
    }
    async fn elementwise_triples(
        &mut self,
        _: usize,
    ) -> Result<Batch<ElementwiseTriples>, RandomnessError> {
        unused()
    }
    async fn comparison_masks(
        &mut self,
        _: Prime,
        _: usize,
    ) -> Result<Batch<ComparisonMasks>, RandomnessError> {
        next(&mut self.masks, "comparison masks")
    }
    async fn comparison_bits(
        &mut self,
        _: usize,
    ) -> Result<Batch<ComparisonBits>, RandomnessError> {
        next(&mut self.bits, "comparison bits")
    }
    async fn dabits(&mut self, _: usize) -> Result<Batch<DaBits>, RandomnessError> {
        unused()
    }
    async fn bit_triples(&mut self, _: usize) -> Result<Batch<BitTriples>, RandomnessError> {
        unused()
    }
    async fn modp_triples(
        &mut self,
        _: Prime,
        _: usize,
    ) -> Result<Batch<ModpTriples>, RandomnessError> {
        next(&mut self.modp, "mod-p triples")
    }
    async fn scaled_modp_triples(
        &mut self,
        _: Prime,
        _: usize,
    ) -> Result<Batch<ScaledModpTriples>, RandomnessError> {
        next(&mut self.scaled, "scaled mod-p triples")
    }
}

/// Generates, in DReLU's request order, what `REPS + 1` runs consume.
async fn stock(source: &mut Fixture, config: Config) -> Stocked {
    let p = config.prime;
    let mut stocked = Stocked::default();
    for _ in 0..=REPS {
        if config.checkzero == CheckZeroVariant::Bits {
            let bits = source.comparison_bits(N).await.expect("fixture");
            stocked.bits.push_back(bits);
            continue;
        }
        stocked
            .masks
            .push_back(source.comparison_masks(p, N).await.expect("fixture"));
        match config.checkzero {
            CheckZeroVariant::Product => {
                for width in [32, 16, 8, 4, 2] {
                    stocked
                        .modp
                        .push_back(source.modp_triples(p, N * width).await.expect("fixture"));
                }
                stocked
                    .scaled
                    .push_back(source.scaled_modp_triples(p, N).await.expect("fixture"));
            }
            CheckZeroVariant::Paper => {
                stocked
                    .modp
                    .push_back(source.modp_triples(p, N * 32).await.expect("fixture"));
            }
            CheckZeroVariant::Bits => unreachable!("stocked above"),
        }
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
