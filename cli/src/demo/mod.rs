//! `dyad demo`: the whole system on one machine. Both servers' stockpiles, the offline worker
//! pair and both training jobs run as separate processes on loopback, with freshly generated
//! certificates; the data owner's split of the bundled digits is the only plaintext, and the
//! demo itself plays data owner and result reader. Training starts at once and consumes the
//! randomness as the workers make it, so the demo shows both halves running in parallel. Then
//! the two servers serve the model they trained, still secret-shared, to a client.

mod serving;
mod watch;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use dyad_online::FixedPoint;
use dyad_orchestrate::command::{self, Link, Store};
use dyad_orchestrate::{OfflineRates, Ports, Processes, fresh_dir, readiness};
use dyad_randomness::Plan;
use dyad_server::training::{Job, StockMonitor, curve};
use dyad_store_client::StoreClient;
use dyad_store_client::token::read_token;

use crate::comparison_args::ComparisonArgs;
use crate::data_args::DataArgs;
use crate::optimizer_args::OptimizerArgs;
use crate::train::JobArgs;
use crate::train_plain::print_point;
use dyad_online::nn::Init;
use dyad_server::training::reference::{Arithmetic, Reference, references};
use watch::Watch;

/// The demo's learning rate without `--lr` or `--lr-shift`: `2^-2`.
const DEFAULT_LR_SHIFT: u32 = 2;

/// The defaults train Network-A on 2,048 digits for 4 epochs of 16 steps (batch 128, learning
/// rate 2^-2) and test on 256: above 90% test accuracy, as the plaintext float reference
/// (91.8%), in about 1.5 minutes on 2 cores (2026-12-02, the bitwise comparison; 3 minutes
/// with `--checkzero product`), two thirds of it waiting for the offline generation. Batches of 128 need the
/// fewest steps; a step's offline cost is mostly its matrix triples and comparisons. Smaller
/// sizes (`--train 256 --test 128 --epochs 2 --batch 16 --lr-shift 3`: about 70%) take about
/// 2 minutes.
#[derive(clap::Args)]
pub struct Args {
    /// `net-a` .. `net-d`, or a model description file.
    #[arg(long, default_value = "net-a")]
    model: String,
    /// Training examples (from the bundled digits unless `--data` or `--images` is given).
    #[arg(long, default_value_t = 2048)]
    train: usize,
    /// Held-out test examples.
    #[arg(long, default_value_t = 256)]
    test: usize,
    /// A CSV file of examples (as `dyad train-plain --data`) instead of the bundled digits.
    #[arg(long, conflicts_with_all = ["images", "labels"])]
    data: Option<PathBuf>,
    /// An IDX image file (MNIST's format, optionally gzipped; Debian's
    /// `dataset-fashion-mnist` has Fashion-MNIST in it) instead of the bundled digits; needs
    /// `--labels`.
    #[arg(long, requires = "labels")]
    images: Option<PathBuf>,
    /// The IDX label file matching `--images`.
    #[arg(long, requires = "images")]
    labels: Option<PathBuf>,
    /// Passes over the training examples.
    #[arg(long, default_value_t = 4)]
    epochs: usize,
    /// Examples per SGD step.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// How the initial weights are drawn: `he` or `pytorch` (as `dyad train --init`).
    #[arg(long, default_value = "he")]
    init: Init,
    /// The optimizer (the demo's default learning rate is 2^-2).
    #[command(flatten)]
    optimizer: OptimizerArgs,
    #[command(flatten)]
    comparison: ComparisonArgs,
    /// Working directory for certificates, stockpiles, logs, model shares and curves. It is
    /// made afresh; an existing one is replaced only if an earlier demo made it.
    #[arg(long, default_value = "dyad-demo")]
    dir: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // One thread: the demo mostly waits on its children.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(demo(args))
}

async fn demo(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let stop = crate::signals::stop_flag();
    let dir = fresh_dir(&args.dir)?;
    let path = |name: &str| dir.join(name);

    // The data owner's part: split the bundled digits into the servers' shares.
    let fixed = FixedPoint::new(16).context("f = 16")?;
    let data = DataArgs {
        data: args.data.clone(),
        images: args.images.clone(),
        labels: args.labels.clone(),
        ..DataArgs::bundled(args.train, args.test)
    };
    let (train_set, test_set) = data.load()?;
    let (id, shares) = crate::share::write_shares(&train_set, &test_set, fixed, &path("data"))?;
    let steps_per_epoch = args.train.checked_div(args.batch).unwrap_or(0) as u64;
    let job = JobArgs {
        model: args.model.clone(),
        epochs: args.epochs,
        eval_every: Some(steps_per_epoch.div_ceil(POINTS_PER_EPOCH).max(1)),
        batch: args.batch,
        optimizer: OptimizerArgs {
            lr_shift: match args.optimizer.lr {
                Some(_) => None,
                // Adam's own default rate (PyTorch's) unless one is given.
                None if args.optimizer.adam => args.optimizer.lr_shift,
                None => args.optimizer.lr_shift.or(Some(DEFAULT_LR_SHIFT)),
            },
            ..args.optimizer.clone()
        },
        seed: 1,
        init: args.init,
        loss: true,
        comparison: args.comparison,
    }
    .job(fixed, id, args.train, args.test)?;
    println!(
        "Dyad demo: training {} on {} examples of {} ({} held out for testing), \
         {} epochs of {} steps (batch {}, {}), revealing the test accuracy \
         every {} steps. About 1.5 to 3 minutes on 2 cores at the default sizes{}; the offline \
         generation of the randomness is what takes the time.",
        job.network.name,
        job.train,
        data.source(),
        job.test,
        job.epochs,
        job.steps_per_epoch(),
        job.batch,
        job.optimizer,
        job.eval_every.unwrap_or(job.steps_per_epoch()),
        match job.optimizer.adam {
            Some(_) => " (with Adam about 30 times as long)",
            None => "",
        },
    );
    println!("Everything goes into {}.", dir.display());

    // The plaintext reference, which the data owner could compute but the servers cannot.
    let references =
        references(&job, &train_set, &test_set, Arithmetic::Both, &print_point).await?;

    // Certificates, and the plan: exactly what the job will consume.
    let certs = path("certs");
    for party in dyad_link::PartyId::BOTH {
        crate::certs::generate(&certs, party)?;
    }
    // The training job, then the served requests of the serving part.
    let plan = Plan::from_demand(job.demand_with_serving(serving::REQUESTS as u64)?)?;
    let plan_file = path("plan.txt");
    std::fs::write(&plan_file, plan.to_string())?;
    println!(
        "offline plan: {:.0} MiB of correlated randomness per server (see {})",
        plan.bytes() as f64 / (1u64 << 20) as f64,
        plan_file.display()
    );

    let mut children =
        Processes::new(std::env::current_exe().context("cannot find the dyad binary")?);
    let ports = Ports::pick(LANES)?;
    let (mut stores, mut workers) = (Vec::new(), Vec::new());
    for i in 0..2 {
        let args = command::store(i, &path(&format!("store{i}")), &ports.stores[i])?;
        let log = path(&format!("store{i}.log"));
        stores.push(children.spawn(&format!("stockpile of server {i}"), &args, &log)?);
    }
    let tokens = [0, 1].map(|i| path(&format!("store{i}/token")));
    for (addr, token) in ports.stores.iter().zip(&tokens) {
        readiness::store(addr, token, &mut children).await?;
    }
    let store = |i: usize| Store {
        addr: &ports.stores[i],
        token: &tokens[i],
    };
    for lane in 0..LANES {
        for i in 0..2 {
            let link = Link {
                party: i,
                certs: &certs,
                addr: &ports.offline_links[lane],
            };
            let metrics = (i == 0).then_some(ports.metrics[lane].as_str());
            let args = command::offline(&link, &store(i), lane, &plan_file, 200, metrics)?;
            let log = path(&format!("offline{i}-lane{lane}.log"));
            let name = format!("offline worker of server {i}, lane {lane}");
            workers.push(children.spawn(&name, &args, &log)?);
        }
    }
    println!("started both stockpiles and {LANES} offline worker pairs; training starts at once\n");
    let token = read_token(&tokens[0])?;
    let stock = StockMonitor::start(
        vec![
            StoreClient::connect(&ports.stores[0], &token)
                .await
                .map_err(anyhow::Error::msg)?,
        ],
        job.step_demand()?,
        Default::default(),
    );
    let mut watch = Watch::new(
        &job,
        stock,
        ports.training_metrics.clone(),
        ports.metrics.clone(),
    );
    let mut trainers = Vec::new();
    for (i, share) in shares.iter().enumerate() {
        let link = Link {
            party: i,
            certs: &certs,
            addr: &ports.training_link,
        };
        let out = path(&format!("train-p{i}"));
        // Server 0's metrics feed the demo's progress bar.
        let metrics = (i == 0).then_some(ports.training_metrics.as_str());
        let argv = command::train(&link, &store(i), &args.model, &job, share, &out, metrics)?;
        let log = path(&format!("train{i}.log"));
        trainers.push(children.spawn(&format!("training job of server {i}"), &argv, &log)?);
    }

    // Supervise until both training jobs are done.
    loop {
        if *stop.borrow() {
            bail!("interrupted; all demo processes were stopped");
        }
        for &t in &trainers {
            children.check_success(t)?;
        }
        children.check_running(&trainers)?;
        if children.all_exited(&trainers)? {
            break;
        }
        // A signal must not wait for a slow metrics endpoint.
        let mut stopping = stop.clone();
        tokio::select! {
            () = watch.poll() => {}
            _ = stopping.wait_for(|s| *s) => {}
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    watch.finish(&path("train-p0/curve.csv"));
    let online_done = started.elapsed();

    // Serving: each server loads its share of the model it just trained.
    let models = [0, 1].map(|i| path(&format!("train-p{i}/model.p{i}.dyad")));
    let setup = serving::Setup {
        dir: &dir,
        certs: &certs,
        stores: [store(0), store(1)],
        models: [0, 1].map(|i| models[i].as_path()),
        link: &ports.serving_link,
        clients: [0, 1].map(|i| ports.serving_clients[i].as_str()),
        comparison: job.comparison,
    };
    println!();
    serving::serve_and_predict(
        &mut children,
        &trainers,
        &setup,
        &test_set.images,
        &test_set.labels,
    )
    .await?;

    // What the offline side produced, then stop it and the stockpiles cleanly.
    let mut offline = OfflineRates::default();
    for metrics in &ports.metrics {
        offline.add(&OfflineRates::scrape(metrics).await?);
    }
    let grace = Duration::from_secs(30);
    for process in workers.into_iter().chain(stores) {
        children.stop(process, grace).await?;
    }

    report(
        &dir,
        &job,
        &references,
        &offline,
        online_done,
        started.elapsed(),
    )
}

/// The demo evaluates every `ceil(steps per epoch / POINTS_PER_EPOCH)` steps: with the
/// epoch's end, 2 or 3 evaluations an epoch (every 8 steps at the defaults). Enough for a
/// curve with a point every few steps, few enough that the evaluations (each a pass over the
/// test set, about a third of a training step's randomness per batch) cost little beside the
/// training steps.
const POINTS_PER_EPOCH: u64 = 2;

/// Offline worker pairs (lanes) feeding the two stockpiles. One pair leaves about a third of
/// the two cores idle (a round's generation, its store write and the pair's next decision do
/// not overlap); a second pair fills them.
const LANES: usize = 2;

/// Prints the results beside the plaintext reference and draws the chart.
fn report(
    dir: &Path,
    job: &Job,
    references: &[Reference],
    offline: &OfflineRates,
    online_done: Duration,
    total: Duration,
) -> anyhow::Result<()> {
    let read = |i: usize| -> anyhow::Result<String> {
        let p = dir.join(format!("train-p{i}/curve.csv"));
        std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))
    };
    let (curve0, curve1) = (read(0)?, read(1)?);
    ensure!(
        curve::accuracies(&curve0) == curve::accuracies(&curve1),
        "the two servers revealed different accuracies"
    );
    // One row per evaluation (the references evaluate at the same steps); the loss is
    // revealed at epoch ends only.
    let secure = curve::points(&curve0);
    let mut header = format!("\n{:>6}  {:>5}  {:>14}", "step", "epoch", "secure (MPC)");
    for r in references {
        header += &format!("  {:>22}", r.name);
    }
    println!("{header}   training loss (secure / float)");
    for (k, p) in secure.iter().enumerate() {
        let mut row = format!(
            "{:>6}  {:>5}  {:>13.2}%",
            p.step,
            p.epoch,
            100.0 * p.accuracy
        );
        for r in references {
            let a = r.points.get(k).map_or(f64::NAN, |q| q.accuracy);
            row += &format!("  {:>21.2}%", 100.0 * a);
        }
        if let Some(loss) = p.loss {
            let float_loss = references
                .first()
                .and_then(|r| r.points.get(k)?.loss)
                .unwrap_or(f64::NAN);
            row += &format!("   {loss:.4} / {float_loss:.4}");
        }
        println!("{row}");
    }
    for line in references.iter().filter_map(Reference::headroom_line) {
        println!("{line}");
    }

    if let Some(last) = secure.last() {
        let s = &last.stats;
        let steps = job.total_steps();
        println!(
            "\nonline (both servers computing together): {:.1} s for {steps} SGD steps and {} \
             evaluations, of which {:.1} s waiting for the offline phase; {:.2} s of protocol \
             work per step (evaluations included)",
            s.seconds,
            secure.len(),
            s.store_seconds,
            (s.seconds - s.store_seconds) / steps as f64
        );
        println!(
            "online communication per server: {:.1} MB sent, {:.1} MB received, {} rounds",
            s.bytes_sent as f64 / 1e6,
            s.bytes_received as f64 / 1e6,
            s.rounds
        );
    }
    let (bytes, seconds) = offline.totals();
    println!(
        "offline (dealer-free: RLWE, OT and garbled circuits): {:.0} MB of correlated randomness per \
         server in {:.0} s of generation by {LANES} worker pairs ({:.1} MB/s per pair); matrix triples {:.2} M multiply-adds/s, \
         comparison masks {:.0}/s; the workers' channels sent {:.0} MB and received {:.0} MB \
         (OT extension traffic not counted)",
        bytes / 1e6,
        seconds,
        bytes / 1e6 / seconds.max(1e-9),
        offline.matrix_macs_per_second().unwrap_or(0.0) / 1e6,
        offline
            .items_per_second(&job.comparison.mask_kind().to_string())
            .unwrap_or(0.0),
        offline.link.0 / 1e6,
        offline.link.1 / 1e6
    );

    let mut curves = vec![("secure (MPC)", curve::accuracies(&curve0))];
    for r in references {
        curves.push((r.name, curve::accuracies(&curve::csv(&r.points))));
    }
    let title = format!("{}: secure training vs plaintext", job.network.name);
    let chart = dir.join("curve.png");
    dyad_chart::accuracy::chart(&chart, &title, &curves)?;
    println!(
        "\ntraining finished after {:.0} s; everything stopped cleanly after {:.0} s in all",
        online_done.as_secs_f64(),
        total.as_secs_f64()
    );
    println!(
        "chart: {}; model shares: {}/train-p<i>/model.p<i>.dyad (reveal with `dyad \
         reveal-model`); logs: {}/*.log",
        chart.display(),
        dir.display(),
        dir.display()
    );
    Ok(())
}
