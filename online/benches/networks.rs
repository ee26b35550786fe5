//! Networks A–D over loopback QUIC against plaintext `f64` in the same run: one SGD step
//! (training), and one single-image inference (serving: the forward pass plus the argmax of
//! the logits, as `dyad serve` answers a class-only request); time, communication and rounds.
//!
//! Correlated randomness comes from the in-process fixture, generated before the clock starts
//! (a first, untimed run records what the computation asks for; the timed runs are served from
//! batches prepared for exactly those requests), so only the online phase is timed.
//!
//! Serving opens `W - V` once per weight-bound triple, with the first of every
//! `REQUESTS_PER_TRIPLE` requests, and the timed inference runs reuse one triple; so as many
//! runs again start with fresh triples, and the difference of the two medians, divided by
//! `REQUESTS_PER_TRIPLE`, is printed beside the median as what a request pays for it.
//!
//! `cargo bench -p dyad-online --features test-fixture --bench networks [-- net-a ... FILE ... training|inference] [momentum] [adam]`
//! (`momentum`, `adam`: also a training step with momentum or Adam, against plain SGD in the
//! same run)
//! (a `FILE` is a model description, `dyad_online::model`'s text format, with random weights)
//! (`DYAD_BENCH_BATCH` sets the training batch, default 128; `DYAD_BENCH_CHECKZERO` the
//! comparison, `bits` by default, `product` for the CheckZero over `Z_40961`).

use std::time::{Duration, Instant};

use dyad_link::LinkCounters;
use dyad_online::model::Network;
use dyad_online::nn::{
    Adam, Backend, Hyper, Mark, Optimizer, Params, PlainFloat, Profile, Secure, predict, train_step,
};
use dyad_online::protocols::{REQUESTS_PER_TRIPLE, WeightMasks, argmax_rows};
use dyad_online::testing::{Prepared, pair_with};
use dyad_online::{Config, FixedPoint, Party, Z64};
use dyad_testing::fixture;
use ndarray::{Array2, ArrayD, IxDyn};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Timed inference runs per network (the median is reported), unless `DYAD_BENCH_RUNS` says
/// otherwise (a deep network's fresh weight-bound triples for as many runs take gigabytes).
fn inference_runs() -> usize {
    std::env::var("DYAD_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(20)
}

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

/// What one party runs.
#[derive(Clone, Copy)]
enum Work {
    Training(Hyper),
    Inference,
}

/// One party with its state: its shares of the weights (made once, as a server loads its model
/// once, outside the timed region) and the weight-bound triples, which persist from run to run
/// as they do from request to request in `dyad serve`.
type Server = (Party<Prepared>, Option<(Params<Z64>, WeightMasks)>);

/// One party's run (P0 holds the data and the weights; P1's shares are zero, which costs the
/// same); hands the party back with what the run cost and where its time went.
async fn secure_run(
    (mut party, masks): Server,
    net: Network,
    (x, y): (ArrayD<f64>, Array2<f64>),
    work: Work,
) -> (Server, LinkCounters, Profile) {
    let examples = x.shape()[0];
    let (mut params, mut masks) = masks.unwrap_or_else(|| {
        let params = Params::initial(&net, 1, FixedPoint::default())
            .expect("params")
            .import(&Secure::new(&mut party));
        let masks = WeightMasks::new(params.weights());
        (params, masks)
    });
    let before = party.counters();
    let mut secure = match work {
        Work::Training(_) => Secure::new(&mut party),
        Work::Inference => Secure::serving(&mut party, examples, &mut masks),
    };
    let x = secure.import(&x);
    match work {
        Work::Training(hyper) => {
            let y = secure
                .import(&y.into_dyn())
                .into_dimensionality()
                .expect("2-d");
            let mut moments = hyper.initial_moments(&params);
            let weights = (&mut params, moments.as_mut_slice());
            train_step(&mut secure, &net, weights, (x, &y), hyper.rule(0), false)
                .await
                .expect("secure step");
        }
        Work::Inference => {
            let logits = predict(&mut secure, &net, &params, x)
                .await
                .expect("secure inference");
            let mark = Mark::now(secure.party.counters());
            argmax_rows(secure.party, &logits).await.expect("argmax");
            let link = secure.party.counters();
            secure.profile.record("argmax", mark, link);
        }
    }
    let profile = std::mem::take(&mut secure.profile);
    let cost = party.counters() - before;
    ((party, Some((params, masks))), cost, profile)
}

/// Both parties' runs at once, in their own tasks; the wall time, P0's and P1's costs, and
/// P0's profile.
async fn both(
    servers: [Server; 2],
    net: &Network,
    data: &(ArrayD<f64>, Array2<f64>),
    work: Work,
) -> ([Server; 2], Duration, [LinkCounters; 2], Profile) {
    let [p0, p1] = servers;
    let zeros = (data.0.mapv(|_| 0.0), data.1.mapv(|_| 0.0));
    let start = Instant::now();
    let t0 = tokio::spawn(secure_run(p0, net.clone(), data.clone(), work));
    let t1 = tokio::spawn(secure_run(p1, net.clone(), zeros, work));
    let ((p0, c0, profile), (p1, c1, _)) = (t0.await.expect("P0"), t1.await.expect("P1"));
    ([p0, p1], start.elapsed(), [c0, c1], profile)
}

/// What the secure runs cost: the median time of the timed runs, the costs of one of them,
/// and the costs of the very first run (for inference, it also takes the weight-bound triples
/// and opens `W - V`, once per `REQUESTS_PER_TRIPLE` requests).
struct SecureCost {
    median: f64,
    run: [LinkCounters; 2],
    first: [LinkCounters; 2],
    /// P0's profile of the run whose time was the median.
    profile: Profile,
    /// Inference: the median time of runs that take fresh weight-bound triples and open
    /// `W - V`, as the first request of every `REQUESTS_PER_TRIPLE` does.
    opening: Option<f64>,
}

/// Drops both parties' weight-bound triples, so that the next request takes fresh ones.
fn fresh_triples(servers: &mut [Server; 2]) {
    for (_, state) in servers {
        if let Some((params, masks)) = state {
            *masks = WeightMasks::new(params.weights());
        }
    }
}

/// The median of `times`, and where it sits in them.
fn median_of<T>(mut times: Vec<(f64, T)>) -> (f64, T) {
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    times.swap_remove(times.len() / 2)
}

/// `runs` timed runs after the untimed ones that record their requests.
async fn secure(
    net: &Network,
    data: &(ArrayD<f64>, Array2<f64>),
    work: Work,
    runs: usize,
) -> SecureCost {
    let [f0, f1] = fixture::pair(1);
    let config = Config {
        checkzero: std::env::var("DYAD_BENCH_CHECKZERO")
            .ok()
            .map(|v| {
                v.parse()
                    .expect("DYAD_BENCH_CHECKZERO: bits, product or paper")
            })
            .unwrap_or_default(),
        ..Config::default()
    };
    let pair = pair_with([config; 2], [Prepared::new(f0), Prepared::new(f1)])
        .await
        .expect("parties");
    let (p0, p1) = pair.parties.into();
    let (mut servers, _links) = ([(p0, None), (p1, None)], pair.links);
    // Untimed: the first run (which also warms up the link), then, for inference, a second
    // one with the weight-bound triples in place, whose requests the timed runs repeat.
    let first;
    (servers, _, first, _) = both(servers, net, data, work).await;
    if matches!(work, Work::Inference) {
        for (p, _) in &mut servers {
            p.randomness_mut().forget();
        }
        (servers, _, _, _) = both(servers, net, data, work).await;
    }
    for (p, _) in &mut servers {
        p.randomness_mut().prepare(runs).await.expect("fixture");
    }
    let mut times = Vec::new();
    let mut run = [LinkCounters::default(); 2];
    for _ in 0..runs {
        let (elapsed, profile);
        (servers, elapsed, run, profile) = both(servers, net, data, work).await;
        times.push((elapsed.as_secs_f64(), profile));
    }
    let (median, profile) = median_of(times);
    let mut opening = None;
    if matches!(work, Work::Inference) {
        // The request that opens W - V: with fresh triples, one untimed run records what it
        // takes (the triples too), then as many timed runs as above.
        fresh_triples(&mut servers);
        (servers, _, _, _) = both(servers, net, data, work).await;
        for (p, _) in &mut servers {
            p.randomness_mut().prepare(runs).await.expect("fixture");
        }
        let mut times = Vec::new();
        for _ in 0..runs {
            fresh_triples(&mut servers);
            let elapsed;
            (servers, elapsed, _, _) = both(servers, net, data, work).await;
            times.push((elapsed.as_secs_f64(), ()));
        }
        opening = Some(median_of(times).0);
    }
    SecureCost {
        median,
        run,
        first,
        profile,
        opening,
    }
}

/// The fastest of a few plaintext `f64` runs.
async fn plain(net: &Network, data: &(ArrayD<f64>, Array2<f64>), work: Work) -> f64 {
    let mut backend = PlainFloat {
        fixed: FixedPoint::default(),
        exp: Default::default(),
    };
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let mut params = Params::initial(net, 1, backend.fixed)
            .expect("params")
            .import(&backend);
        let start = Instant::now();
        match work {
            Work::Training(hyper) => {
                let mut moments = hyper.initial_moments(&params);
                let weights = (&mut params, moments.as_mut_slice());
                let batch = (data.0.clone(), &data.1);
                train_step(&mut backend, net, weights, batch, hyper.rule(0), false)
                    .await
                    .expect("float step");
            }
            Work::Inference => {
                predict(&mut backend, net, &params, data.0.clone())
                    .await
                    .expect("float inference");
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    best
}

/// The paper's Table 4 (LAN, one image): seconds and MB.
fn paper_inference(net: &Network) -> Option<(f64, f64)> {
    match net.name.as_str() {
        "net-a" => Some((0.005, 0.94)),
        "net-b" => Some((0.027, 1.08)),
        "net-d" => Some((0.011, 0.88)),
        _ => None,
    }
}

fn row(net: &Network, examples: usize, cost: &SecureCost, plain: f64, paper: Option<(f64, f64)>) {
    let [c0, c1] = cost.run;
    let paper = paper.map_or("-".to_string(), |(s, mb)| format!("{s} s, {mb} MB"));
    println!(
        "{:<7} {examples:>5} {:>11.4} {:>9.1} {:>11.6} {:>8.0} {:>11.3} {:>11.3} {:>7} {:>11.3}   {paper}",
        net.name,
        cost.median,
        examples as f64 / cost.median,
        plain,
        cost.median / plain,
        c0.bytes_sent as f64 / 1e6,
        c1.bytes_sent as f64 / 1e6,
        c0.rounds,
        cost.first[0].bytes_sent as f64 / 1e6,
    );
    if let Some(opening) = cost.opening {
        let ms = |s: f64| s * 1e3;
        let share = (opening - cost.median) / REQUESTS_PER_TRIPLE as f64;
        let amortised = cost.median + share;
        println!(
            "{:<7} median {:.2} ms + W - V opening {:.2} ms / {REQUESTS_PER_TRIPLE} = {:.2} ms \
             amortised ({:.1} requests/s; {:.0}x float)",
            "",
            ms(cost.median),
            ms(opening - cost.median),
            ms(amortised),
            1.0 / amortised,
            amortised / plain,
        );
    }
}

/// Where P0's time went in the median run, per operation: wall time, the part inside the
/// link's calls (waiting for P1 and the link's own work), the rest (computing and taking
/// randomness), rounds and bytes sent.
fn breakdown(net: &Network, profile: &Profile) {
    println!(
        "  {:<7} {:<17} {:>5} {:>9} {:>9} {:>9} {:>7} {:>10}",
        net.name, "operation", "calls", "ms", "link ms", "other ms", "rounds", "KB sent"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let total = profile.total();
    for (op, c) in profile.0.iter().chain([(&"total", &total)]) {
        println!(
            "  {:<7} {:<17} {:>5} {:>9.2} {:>9.2} {:>9.2} {:>7} {:>10.1}",
            "",
            op,
            c.calls,
            ms(c.time),
            ms(c.waiting),
            ms(c.computing()),
            c.rounds,
            c.bytes_sent as f64 / 1e3
        );
    }
}

fn header(what: &str) {
    println!("\n{what}");
    println!(
        "{:<7} {:>5} {:>11} {:>9} {:>11} {:>8} {:>11} {:>11} {:>7} {:>11}   paper (Table 4)",
        "network",
        "batch",
        "secure s",
        "per s",
        "float s",
        "ratio",
        "MB P0->P1",
        "MB P1->P0",
        "rounds",
        "first MB",
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let size: usize = std::env::var("DYAD_BENCH_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(128);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let is_file = |a: &str| std::path::Path::new(a).is_file();
    let asked: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| a.starts_with("net-") || is_file(a))
        .collect();
    let names = match asked.is_empty() {
        true => Network::NAMES.to_vec(),
        false => asked,
    };
    let only = |what: &str| {
        !args.iter().any(|a| a == "training" || a == "inference") || args.iter().any(|a| a == what)
    };
    let networks: Vec<Network> = names
        .iter()
        .map(|n| match is_file(n) {
            true => {
                let text = std::fs::read_to_string(n).expect("a readable description");
                let name = std::path::Path::new(n).file_stem().expect("a file name");
                Network::parse(&name.to_string_lossy(), &text).expect("a model description")
            }
            false => Network::by_name(n).unwrap_or_else(|| panic!("no network {n}")),
        })
        .collect();
    println!("loopback QUIC, online phase only (randomness prepared beforehand)");
    let mut profiles = Vec::new();
    if only("inference") {
        header(&format!(
            "inference of one image (forward pass and argmax), median of {runs} runs; \
             the first request of every {REQUESTS_PER_TRIPLE} also opens W - V (first MB; its \
             time from {runs} runs with fresh triples, amortised below each row)",
            runs = inference_runs()
        ));
        for net in &networks {
            let data = batch(net, 1);
            let cost = secure(net, &data, Work::Inference, inference_runs()).await;
            let plain = plain(net, &data, Work::Inference).await;
            row(net, 1, &cost, plain, paper_inference(net));
            profiles.push((net.clone(), cost.profile));
        }
    }
    if only("training") {
        let plain_sgd = Optimizer::sgd(7);
        let momentum = Optimizer {
            lr: 0.05,
            momentum: 0.9,
            ..plain_sgd
        };
        let adam = Optimizer {
            lr: 0.001,
            adam: Some(Adam::default()),
            ..plain_sgd
        };
        let mut optimizers = vec![("one SGD step", plain_sgd)];
        if args.iter().any(|a| a == "momentum") {
            optimizers.push(("one step of SGD at 0.05 with momentum 0.9", momentum));
        }
        if args.iter().any(|a| a == "adam") {
            optimizers.push(("one step of Adam at 0.001", adam));
        }
        for (what, optimizer) in optimizers {
            header(what);
            for net in &networks {
                let optimizer = match optimizer == plain_sgd {
                    true => Optimizer::sgd(net.paper_lr_shift()),
                    false => optimizer,
                };
                let work = Work::Training(Hyper {
                    optimizer,
                    batch_shift: size.trailing_zeros(),
                });
                let data = batch(net, size);
                let cost = secure(net, &data, work, 1).await;
                row(net, size, &cost, plain(net, &data, work).await, None);
                profiles.push((net.clone(), cost.profile));
            }
        }
    }
    println!("\nwhere P0's time goes (the median run; link: inside the link's calls)");
    for (net, profile) in &profiles {
        breakdown(net, profile);
    }
}
