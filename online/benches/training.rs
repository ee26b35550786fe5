//! One SGD step of Networks A–D: the two parties over loopback QUIC against one plaintext
//! `f64` step of the same network in the same run; communication and rounds per step.
//!
//! Correlated randomness comes from the in-process fixture, generated before the clock starts
//! (a first, untimed step records what the step asks for; the timed step is served from
//! batches prepared for exactly those requests), so only the online phase is timed.
//!
//! `cargo bench -p dyad-online --features test-fixture --bench training [-- net-a ...]`
//! (`DYAD_BENCH_BATCH` sets the batch size, default 128).

use std::time::Instant;

use dyad_link::LinkCounters;
use dyad_online::model::Network;
use dyad_online::nn::{Backend, Hyper, Params, PlainFloat, Secure, train_step};
use dyad_online::randomness::fixture;
use dyad_online::testing::{Prepared, pair_with};
use dyad_online::{Config, FixedPoint, Party};
use ndarray::{Array2, ArrayD, IxDyn};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// A batch of random images and one-hot labels.
fn batch(net: &Network, size: usize) -> (ArrayD<f64>, Array2<f64>) {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let i = net.input;
    let x = ArrayD::from_shape_simple_fn(IxDyn(&[size, i.channels, i.height, i.width]), || {
        rng.random::<f64>()
    });
    let classes = net.classes();
    let mut y = Array2::zeros((size, classes));
    for mut row in y.rows_mut() {
        row[rng.random_range(0..classes)] = 1.0;
    }
    (x, y)
}

/// One party's step (P0 holds the data and the weights; P1's shares are zero, which costs the
/// same); hands the party back with what the step cost.
async fn secure_step(
    mut party: Party<Prepared>,
    net: Network,
    (x, y): (ArrayD<f64>, Array2<f64>),
    hyper: Hyper,
) -> (Party<Prepared>, LinkCounters) {
    let before = party.counters();
    let mut secure = Secure::new(&mut party);
    let fixed = FixedPoint::default();
    let mut params = Params::initial(&net, 1, fixed)
        .expect("params")
        .import(&secure);
    let (x, y) = (
        secure.import(&x),
        secure
            .import(&y.into_dyn())
            .into_dimensionality()
            .expect("2-d"),
    );
    train_step(&mut secure, &net, &mut params, x, &y, hyper, false)
        .await
        .expect("secure step");
    let cost = party.counters() - before;
    (party, cost)
}

/// Both parties' steps at once, in their own tasks.
async fn both(
    parties: [Party<Prepared>; 2],
    net: &Network,
    data: &(ArrayD<f64>, Array2<f64>),
    hyper: Hyper,
) -> ([Party<Prepared>; 2], [LinkCounters; 2]) {
    let [p0, p1] = parties;
    let zeros = (data.0.mapv(|_| 0.0), data.1.mapv(|_| 0.0));
    let t0 = tokio::spawn(secure_step(p0, net.clone(), data.clone(), hyper));
    let t1 = tokio::spawn(secure_step(p1, net.clone(), zeros, hyper));
    let ((p0, c0), (p1, c1)) = (t0.await.expect("P0"), t1.await.expect("P1"));
    ([p0, p1], [c0, c1])
}

async fn run(net: Network, size: usize) {
    let hyper = Hyper {
        lr_shift: net.paper_lr_shift(),
        batch_shift: size.trailing_zeros(),
    };
    let data = batch(&net, size);

    let float = PlainFloat {
        fixed: FixedPoint::default(),
    };
    let mut plain_seconds = f64::INFINITY;
    for _ in 0..3 {
        let mut params = Params::initial(&net, 1, float.fixed)
            .expect("params")
            .import(&float);
        let mut backend = PlainFloat { fixed: float.fixed };
        let start = Instant::now();
        train_step(
            &mut backend,
            &net,
            &mut params,
            data.0.clone(),
            &data.1,
            hyper,
            false,
        )
        .await
        .expect("float step");
        plain_seconds = plain_seconds.min(start.elapsed().as_secs_f64());
    }

    let [f0, f1] = fixture::pair(1);
    let pair = pair_with(
        [Config::default(); 2],
        [Prepared::new(f0), Prepared::new(f1)],
    )
    .await
    .expect("parties");
    let (mut parties, _links) = (pair.parties, pair.links);
    // Untimed: records the requests (and warms up the link).
    (parties, _) = both(parties, &net, &data, hyper).await;
    for p in &mut parties {
        p.randomness_mut().prepare().await.expect("fixture");
    }
    let start = Instant::now();
    let (_, [c0, c1]) = both(parties, &net, &data, hyper).await;
    let secure_seconds = start.elapsed().as_secs_f64();
    println!(
        "{:<7} {size:>5} {secure_seconds:>10.3} {plain_seconds:>10.4} {:>8.0} {:>11.1} {:>11.1} {:>7}",
        net.name,
        secure_seconds / plain_seconds,
        c0.bytes_sent as f64 / 1e6,
        c1.bytes_sent as f64 / 1e6,
        c0.rounds
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let size: usize = std::env::var("DYAD_BENCH_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(128);
    let asked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a.starts_with("net-"))
        .collect();
    let names: Vec<&str> = match asked.is_empty() {
        true => Network::NAMES.to_vec(),
        false => asked.iter().map(String::as_str).collect(),
    };
    println!("one SGD step, loopback QUIC, online phase only (randomness prepared beforehand)");
    println!(
        "{:<7} {:>5} {:>10} {:>10} {:>8} {:>11} {:>11} {:>7}",
        "network", "batch", "secure s", "float s", "ratio", "MB P0->P1", "MB P1->P0", "rounds"
    );
    for name in names {
        let net = Network::by_name(name).unwrap_or_else(|| panic!("no network {name}"));
        run(net, size).await;
    }
}
