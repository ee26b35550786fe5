//! Offline throughput: raw CryProt random OTs (IKNP and silent) against our generators in the
//! same run, with the bytes each item puts on the wire (all loopback traffic: OT extension,
//! corrections, ciphertexts, garbled tables, QUIC and TLS overhead) and the CPU seconds of the
//! process (both parties); matrix triples by RLWE against the OT baseline for the shapes of
//! Network-A's training and serving; and the time to stock one Network-A training iteration
//! and one served request of each network asked for, with every kind made as the worker makes
//! it (matrix triples by RLWE).
//!
//! `cargo bench -p dyad-offline --bench offline [-- net-a net-b ... [--skip-ot] [--step-only]
//! [--kind KIND] [--plan FILE] [--ots]]` (`--step-only`: only the training steps of the previous
//! default configuration (CheckZero, p = 40961) and the default (bitwise comparison), then the
//! default's on two lanes; `--kind modp-triple/p40961`: only that kind's throughput line;
//! both for profiling; `--plan FILE`: how long a worker pair takes to stock a plan, as `dyad
//! plan` writes it, on one lane and on two, in the worker's batches; `--ots`: only CryProt's
//! raw random OTs, IKNP and silent, at several sizes, with the CPU per OT of both parties).

use std::time::Instant;

use cryprot_ot::extension::{SemiHonestOtExtensionReceiver, SemiHonestOtExtensionSender};
use cryprot_ot::silent_ot::{SemiHonestSilentOtReceiver, SemiHonestSilentOtSender};
use cryprot_ot::{RandChoiceRotReceiver, RotReceiver, RotSender, random_choices};
use dyad_link::{PartyLink, loopback_pair};
use dyad_offline::{Generator, MatrixTripleMethod, batch_items};
use dyad_online::cost;
use dyad_online::model::Network;
use dyad_online::protocols::{CheckZeroVariant, Comparison, Exp, REQUESTS_PER_TRIPLE};
use dyad_online::{Config, FixedPoint, Prime};
use dyad_randomness::Kind;
use dyad_randomness::Plan;

/// Bytes sent on the loopback interface so far (both parties, everything).
fn loopback_bytes() -> u64 {
    let text = std::fs::read_to_string("/proc/net/dev").unwrap_or_default();
    text.lines()
        .find(|l| l.trim_start().starts_with("lo:"))
        .and_then(|l| l.split_whitespace().nth(9)?.parse().ok())
        .unwrap_or(0)
}

/// CPU seconds this process has used (user + system; `/proc/self/stat` counts in ticks of
/// 1/100 s on Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

struct Measured {
    seconds: f64,
    bytes: u64,
    cpu: f64,
}

async fn measure<F: Future>(f: F) -> (F::Output, Measured) {
    let (b, c, t) = (loopback_bytes(), cpu_seconds(), Instant::now());
    let out = f.await;
    (
        out,
        Measured {
            seconds: t.elapsed().as_secs_f64(),
            bytes: loopback_bytes() - b,
            cpu: cpu_seconds() - c,
        },
    )
}

/// One matrix triple of `m x n x k` by both parties with their current method.
async fn triple(
    g0: &mut Generator,
    g1: &mut Generator,
    (m, n, k): (usize, usize, usize),
) -> Measured {
    let (r, measured) =
        measure(async { tokio::join!(g0.matrix_triple(m, n, k), g1.matrix_triple(m, n, k)) }).await;
    r.0.expect("P0");
    r.1.expect("P1");
    measured
}

/// One line of raw OT throughput: wall rate, CPU per OT (both parties) and bytes per OT.
fn ot_line(what: &str, count: usize, m: &Measured) {
    println!(
        "{:<34} {:>12.2} M/s {:>10.1} B/OT {:>8.1} ns CPU/OT",
        what,
        count as f64 / m.seconds / 1e6,
        m.bytes as f64 / count as f64,
        m.cpu * 1e9 / count as f64
    );
}

/// CryProt's random OTs as they come, IKNP against silent OT (expand-convolute code), at the
/// given sizes (`--ots` adds larger ones and silent correlated OT).
async fn raw_ots(links: &mut [PartyLink; 2], all_sizes: bool) {
    let [l0, l1] = links;
    let mut sender = SemiHonestOtExtensionSender::new(l0.sub_connection());
    let mut receiver = SemiHonestOtExtensionReceiver::new(l1.sub_connection());
    // Base OTs first, outside the measurement.
    let choices = random_choices(128, &mut rand::rng());
    let _ = tokio::join!(sender.send(128), receiver.receive(&choices));
    let iknp: &[u32] = if all_sizes { &[17, 20, 23] } else { &[23] };
    for &log in iknp {
        let count = 1 << log;
        let choices = random_choices(count, &mut rand::rng());
        let (_, m) =
            measure(async { tokio::join!(sender.send(count), receiver.receive(&choices)) }).await;
        ot_line(&format!("raw IKNP random OT (2^{log})"), count, &m);
    }
    let mut sender = SemiHonestSilentOtSender::new(l0.sub_connection());
    let mut receiver = SemiHonestSilentOtReceiver::new(l1.sub_connection());
    let silent: &[u32] = if all_sizes { &[17, 20, 22, 24] } else { &[21] };
    for &log in silent {
        let count = 1 << log;
        let (_, m) = measure(async {
            tokio::join!(
                sender.random_send(count),
                receiver.rand_choice_receive(count)
            )
        })
        .await;
        ot_line(&format!("raw silent random OT (2^{log})"), count, &m);
    }
    if all_sizes {
        for log in [20, 22] {
            let count = 1 << log;
            let delta = cryprot_core::Block::from(0x5eed_u128);
            let (_, m) = measure(async {
                tokio::join!(
                    sender.correlated_send(count, delta),
                    receiver.correlated_receive(count)
                )
            })
            .await;
            ot_line(&format!("raw silent correlated OT (2^{log})"), count, &m);
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (l0, l1) = loopback_pair().await.expect("link");
    let mut links = [l0, l1];
    // The generators first: setting them up sizes the compute pool every OT batch runs on.
    let [l0, l1] = &mut links;
    let (mut g0, mut g1) =
        tokio::try_join!(Generator::new(l0), Generator::new(l1)).expect("generators");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let only: Option<Kind> = match args.iter().position(|a| a == "--kind") {
        None => None,
        Some(i) => match args.get(i + 1).map(|name| (name, name.parse::<Kind>())) {
            Some((_, Ok(kind))) => Some(kind),
            Some((name, Err(e))) => {
                eprintln!("--kind {name}: {e}");
                std::process::exit(2);
            }
            None => {
                eprintln!("--kind takes a kind, e.g. modp-triple/p40961");
                std::process::exit(2);
            }
        },
    };
    let plan_file: Option<(String, Plan)> = match args.iter().position(|a| a == "--plan") {
        None => None,
        Some(i) => {
            let Some(file) = args.get(i + 1) else {
                eprintln!("--plan takes a plan file, as `dyad plan` writes it");
                std::process::exit(2);
            };
            match std::fs::read_to_string(file)
                .map_err(|e| e.to_string())
                .and_then(|t| Plan::parse(&t).map_err(|e| e.to_string()))
            {
                Ok(plan) => Some((file.clone(), plan)),
                Err(e) => {
                    eprintln!("--plan {file}: {e}");
                    std::process::exit(2);
                }
            }
        }
    };
    if only.is_some() && plan_file.is_some() {
        eprintln!("--kind and --plan: one or the other");
        std::process::exit(2);
    }
    let (skip_ot, step_only) = (
        flag("--skip-ot"),
        flag("--step-only") || only.is_some() || plan_file.is_some(),
    );
    println!("offline generation on this machine, both parties in one process, loopback QUIC");
    if !step_only || flag("--ots") {
        println!("{:<34} {:>16} {:>13}", "", "throughput", "wire");
        raw_ots(&mut links, flag("--ots")).await;
    }
    if flag("--ots") {
        return;
    }
    // Warm up (base OTs, the public-key exchange).
    let _ = tokio::join!(g0.dabits(1000), g1.dabits(1000));
    let _ = tokio::join!(g0.matrix_triple(1, 1, 1), g1.matrix_triple(1, 1, 1));

    let mut kinds: Vec<(Kind, usize)> = Vec::new();
    for p in [Prime::P67, Prime::P40961] {
        kinds.extend([
            (Kind::ComparisonMask { p }, 16384),
            (Kind::ModpTriple { p }, 1 << 18),
            (Kind::ScaledModpTriple { p }, 1 << 16),
        ]);
    }
    kinds.extend([
        (Kind::ComparisonBits, 32768),
        (Kind::DaBit, 1 << 20),
        (Kind::ElementwiseTriple, 32768),
        (
            Kind::MatrixTriple {
                m: 128,
                n: 128,
                k: 128,
            },
            1,
        ),
        (
            Kind::MatrixTriple {
                m: 1,
                n: 784,
                k: 128,
            },
            16,
        ),
    ]);
    if let Some(only) = only {
        // Eight times the usual count (or a worker's batch), so a profile sees the steady state.
        let usual = kinds.iter().find(|(k, _)| *k == only).map(|k| k.1);
        let count = 8 * usual.unwrap_or(dyad_offline::batch_items(only) as usize);
        kinds = vec![(only, count)];
    } else if step_only {
        kinds.clear();
    }
    let mut rates: Vec<(Kind, f64)> = Vec::new();
    for (kind, count) in kinds {
        let (r, m) =
            measure(async { tokio::join!(g0.produce(kind, count), g1.produce(kind, count)) }).await;
        r.0.expect("P0");
        r.1.expect("P1");
        let (rate, unit) = match kind {
            Kind::MatrixTriple { m: a, n: b, k: c } => {
                ((a * b * c * count) as f64 / m.seconds / 1e6, "M MAC/s")
            }
            _ => (count as f64 / m.seconds, "items/s"),
        };
        let per = match kind {
            Kind::MatrixTriple { m: a, n: b, k: c } => {
                format!(
                    "{:.0} bit/MAC",
                    m.bytes as f64 * 8.0 / (a * b * c * count) as f64
                )
            }
            _ => format!("{:.0} B/item", m.bytes as f64 / count as f64),
        };
        println!(
            "{:<34} {:>10.2} {unit:<7} {per:>13}",
            kind.to_string(),
            rate
        );
        rates.push((kind, count as f64 / m.seconds));
    }
    comparison_randomness(&rates);
    if only.is_some() {
        return;
    }

    // Matrix triples by RLWE against the correlated-OT baseline, shape by shape, in this run.
    let shapes = match step_only {
        true => Vec::new(),
        false => vec![
            (128, 784, 128),
            (784, 128, 128),
            (128, 128, 10),
            (16, 784, 128),
            (64, 784, 128),
        ],
    };
    if !step_only {
        println!(
            "\nmatrix triples: RLWE (he) against correlated OT (ot); M MAC/s, bits per MAC on the wire, CPU s of both parties"
        );
    }
    for shape in shapes {
        let (m, n, k) = shape;
        let macs = (m * n * k) as f64;
        let he = triple(&mut g0, &mut g1, shape).await;
        let line = |what: &str, r: &Measured| {
            format!(
                "{what} {:>8.2} M MAC/s {:>8.1} bit/MAC {:>7.2} s wall {:>7.2} s CPU",
                macs / r.seconds / 1e6,
                r.bytes as f64 * 8.0 / macs,
                r.seconds,
                r.cpu
            )
        };
        print!(
            "{:<28} {}",
            format!("matrix-triple/{m}x{n}x{k}"),
            line("he", &he)
        );
        if skip_ot {
            println!();
            continue;
        }
        g0.set_matrix_method(MatrixTripleMethod::Ot);
        g1.set_matrix_method(MatrixTripleMethod::Ot);
        let ot = triple(&mut g0, &mut g1, shape).await;
        g0.set_matrix_method(MatrixTripleMethod::He);
        g1.set_matrix_method(MatrixTripleMethod::He);
        println!(
            "   | {}   | he/ot: {:.0}x MAC/s, {:.0}x fewer bits",
            line("ot", &ot),
            ot.seconds / he.seconds,
            ot.bytes as f64 / he.bytes as f64
        );
    }

    // Stocking served requests (a weight-bound triple's worth, per request) of the networks
    // named on the command line (default Network-A), and one Network-A training iteration.
    let mut names: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| a.starts_with("net-"))
        .collect();
    if names.is_empty() {
        names.push("net-a");
    }
    let requests = REQUESTS_PER_TRIPLE as u64;
    let mut stock = Vec::new();
    // The paper's configuration (CheckZero with p = 67, exp by 16 chords), then the larger
    // prime, then exp by squaring, then the default (the bitwise comparison). Serving uses no
    // exp.
    let configs = [
        (CheckZeroVariant::Product, Prime::P67, Exp::Segments),
        (CheckZeroVariant::Product, Prime::P40961, Exp::Segments),
        (CheckZeroVariant::Product, Prime::P40961, Exp::Squaring),
        (CheckZeroVariant::Bits, Prime::P40961, Exp::Squaring),
    ];
    let configs = match (&plan_file, step_only) {
        (Some((file, plan)), _) => {
            stock.push((format!("plan ({file})"), plan.clone(), 1));
            &configs[..0]
        }
        (None, true) => &configs[2..],
        (None, false) => &configs[..],
    };
    for &(checkzero, prime, exp) in configs {
        let config = Config {
            fixed: FixedPoint::default(),
            checkzero,
            prime,
            exp,
        };
        let cmp = match checkzero {
            CheckZeroVariant::Bits => "bits".to_string(),
            _ => format!("p = {prime}"),
        };
        let serving = exp == Exp::Segments || checkzero == CheckZeroVariant::Bits;
        if serving && !step_only {
            for name in &names {
                let net = Network::by_name(name).unwrap_or_else(|| panic!("no network {name}"));
                let plan = plan_for(&net, 0, requests, config);
                stock.push((format!("{name} served request, {cmp}"), plan, requests));
            }
        }
        let net = Network::by_name("net-a").expect("known");
        let plan = plan_for(&net, 1, 0, config);
        let what = format!("net-a training iteration (batch 128), {cmp}, exp by {exp}");
        stock.push((what, plan, 1));
    }
    let mut last = Vec::new();
    for (what, plan, per) in stock {
        let mut parts = Vec::new();
        for (kind, count) in &plan.0 {
            let count = *count as usize;
            let ((), m) = measure(make(&mut g0, &mut g1, *kind, count)).await;
            parts.push((*kind, count, m));
        }
        let per = per as f64;
        let total = |f: &dyn Fn(&Measured) -> f64| parts.iter().map(|p| f(&p.2)).sum::<f64>() / per;
        println!(
            "\nstocking one {what}: {:.3} s ({:.2} s CPU), {:.2} MB on the wire, {:.3} MiB stored per party",
            total(&|m| m.seconds),
            total(&|m| m.cpu),
            total(&|m| m.bytes as f64) / 1e6,
            plan.bytes() as f64 / (1 << 20) as f64 / per
        );
        // Where the time goes, the slowest kinds first (matrix triples summed).
        let matrix: Vec<_> = parts
            .iter()
            .filter(|p| matches!(p.0, Kind::MatrixTriple { .. }))
            .collect();
        let matrix_seconds: f64 = matrix.iter().map(|p| p.2.seconds).sum();
        let matrix_cpu: f64 = matrix.iter().map(|p| p.2.cpu).sum();
        println!(
            "  {:<34} {:>8.3} s {:>6.2} s CPU  ({} shapes)",
            "matrix triples",
            matrix_seconds / per,
            matrix_cpu / per,
            matrix.len()
        );
        parts.sort_by(|a, b| b.2.seconds.total_cmp(&a.2.seconds));
        for (kind, count, m) in parts
            .iter()
            .filter(|p| !matches!(p.0, Kind::MatrixTriple { .. }))
        {
            println!(
                "  {:<34} {:>8.3} s {:>6.2} s CPU {:>9.1} items {:>8.2} MB",
                kind.to_string(),
                m.seconds / per,
                m.cpu / per,
                *count as f64 / per,
                m.bytes as f64 / 1e6 / per
            );
        }
        last = parts;
    }

    // The last plan (the default configuration's training step, or the plan file) again, on
    // two worker pairs at once as `dyad offline --lane 0` and `--lane 1` run them: the kinds
    // dealt out by their times above, longest first, each to the lane with less work so far.
    let (mut lanes, mut load) = ([Vec::new(), Vec::new()], [0.0f64; 2]);
    last.sort_by(|a, b| b.2.seconds.total_cmp(&a.2.seconds));
    for (kind, count, m) in &last {
        let lane = usize::from(load[1] < load[0]);
        lanes[lane].push((*kind, *count));
        load[lane] += m.seconds;
    }
    let (l2, l3) = loopback_pair().await.expect("second link");
    let [mut l2, mut l3] = [l2, l3];
    let (mut h0, mut h1) =
        tokio::try_join!(Generator::new(&mut l2), Generator::new(&mut l3)).expect("generators");
    let _ = tokio::join!(h0.matrix_triple(1, 1, 1), h1.matrix_triple(1, 1, 1));
    let [a, b] = &lanes;
    let (_, m) = measure(async {
        tokio::join!(
            stock_lane(&mut g0, &mut g1, a),
            stock_lane(&mut h0, &mut h1, b)
        )
    })
    .await;
    println!(
        "\nthe same on two lanes at once: {:.3} s ({:.2} s CPU; one lane: {:.3} s)",
        m.seconds,
        m.cpu,
        load[0] + load[1]
    );
}

/// The time to make all the randomness of one comparison (DReLU with the leak-free CheckZero
/// and a B2A: a mask, its mod-p and scaled triples, a daBit) for each prime, from the rates just
/// measured, and the ratio to the paper's prime.
fn comparison_randomness(rates: &[(Kind, f64)]) {
    let per_comparison = |checkzero: CheckZeroVariant, prime: Prime| -> Option<f64> {
        let cmp = Comparison { checkzero, prime };
        cost::drelu_ring(1, cmp)
            .0
            .iter()
            .map(|(kind, &count)| {
                let rate = rates.iter().find(|(k, _)| k == kind)?.1;
                Some(count as f64 / rate)
            })
            .sum()
    };
    let paper = per_comparison(CheckZeroVariant::Product, Prime::P67);
    for (what, checkzero, prime) in [
        (
            "CheckZero, p = 40961",
            CheckZeroVariant::Product,
            Prime::P40961,
        ),
        ("bits", CheckZeroVariant::Bits, Prime::P40961),
    ] {
        if let (Some(paper), Some(ours)) = (paper, per_comparison(checkzero, prime)) {
            println!(
                "{:<34} {:>10.1} us/cmp  p = 67: {:.1} us/cmp; {:.1}x as many per second",
                format!("comparison randomness, {what}"),
                ours * 1e6,
                paper * 1e6,
                paper / ours
            );
        }
    }
}

/// Stocks `kinds` one after another with one worker pair.
async fn stock_lane(g0: &mut Generator, g1: &mut Generator, kinds: &[(Kind, usize)]) {
    for &(kind, count) in kinds {
        make(g0, g1, kind, count).await;
    }
}

/// Makes `count` items of `kind` with one worker pair, in the batches the worker makes
/// (`batch_items`), and drops them.
async fn make(g0: &mut Generator, g1: &mut Generator, kind: Kind, count: usize) {
    let batch = batch_items(kind) as usize;
    let mut left = count;
    while left > 0 {
        let n = left.min(batch);
        let (r0, r1) = tokio::join!(g0.produce(kind, n), g1.produce(kind, n));
        r0.expect("P0");
        r1.expect("P1");
        left -= n;
    }
}

/// The stock of `iterations` training steps (batch 128) and `requests` served requests.
fn plan_for(net: &Network, iterations: u64, requests: u64, config: Config) -> Plan {
    let demand = net
        .stock_demand(
            (128, iterations),
            requests,
            &dyad_online::nn::Optimizer::sgd(net.paper_lr_shift()),
            config,
        )
        .expect("demand");
    Plan::from_demand(demand).expect("plan")
}
