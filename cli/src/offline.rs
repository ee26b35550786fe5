//! `dyad offline` and `dyad plan`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use dyad_link::LinkMeter;
use dyad_offline::MatrixTripleMethod;
use dyad_offline::resume::{self, WorkerEvent};
use dyad_offline::worker::{Progress, WorkerConfig};
use dyad_online::FixedPoint;
use dyad_randomness::Plan;
use dyad_store_client::StoreClient;

use crate::comparison_args::ComparisonArgs;
use crate::link_args::LinkArgs;
use crate::optimizer_args::OptimizerArgs;
use crate::store_args::StoreArgs;
use dyad_server::endpoints::Health;
use dyad_server::endpoints::Render;
use dyad_server::training::Job;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    link: LinkArgs,
    #[command(flatten)]
    store: StoreArgs,
    /// The plan: items of each stream to keep in stock (see `dyad plan`).
    #[arg(long)]
    plan: PathBuf,
    /// This worker pair's lane; several pairs feeding the same stockpiles need distinct lanes.
    /// Default: `DYAD_LANE` from the environment if set, else 0.
    #[arg(long)]
    lane: Option<u32>,
    /// The lane is the number the host name ends in (a Kubernetes StatefulSet's pod
    /// `dyad-worker-3` is lane 3).
    #[arg(long, conflicts_with = "lane")]
    lane_from_hostname: bool,
    /// Serve progress as Prometheus metrics on this address.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Serve `/healthz` (alive) and `/readyz` (paired with the peer and the stockpile
    /// reachable) on this address; it may be the `--metrics` address, which then serves all
    /// three.
    #[arg(long)]
    health: Option<SocketAddr>,
    /// Milliseconds to wait before looking again when nothing is needed or a store is full.
    #[arg(long, default_value_t = 1000)]
    idle_ms: u64,
    /// How matrix triples are made: `he` (RLWE homomorphic encryption) or `ot` (correlated
    /// OT, the baseline). Both workers of a pair must agree.
    #[arg(long, default_value_t = MatrixTripleMethod::He)]
    matrix_triples: MatrixTripleMethod,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.plan)
        .with_context(|| format!("cannot read the plan {}", args.plan.display()))?;
    let plan = Plan::parse(&text)?;
    let (shards, token) = args.store.addresses_and_token()?;
    let lane = dyad_orchestrate::lane::lane(args.lane, args.lane_from_hostname)?;
    // The pair puts into its lane's shard only (both parties list as many: the hello checks).
    let store_addr = shards[dyad_store_client::shard::shard_of(lane, shards.len())].clone();
    let link_config = args.link.config(&format!("offline/{lane}"))?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        // First of all, so that a stop request is never lost.
        let mut stop = crate::signals::stop_flag();
        let health = Health::new(&[
            ("peer", "not paired with the peer yet"),
            ("stockpile", "not reached yet"),
        ]);
        health.stop_with(stop.clone());
        let progress = Arc::new(Progress::default());
        let meter = Arc::new(Mutex::new(None::<LinkMeter>));
        let render = {
            let (p, meter) = (progress.clone(), meter.clone());
            move || {
                let link = meter.lock().ok().and_then(|m| m.clone());
                let link = link.map(|m| {
                    dyad_server::endpoints::prometheus::link("dyad_offline", m.counters())
                });
                p.prometheus() + &link.unwrap_or_default()
            }
        };
        dyad_server::endpoints::endpoints(
            args.metrics.map(|a| (a, Arc::new(render) as Render)),
            args.health.map(|a| (a, health.clone())),
        )
        .await?;
        let store = StoreClient::connect(&store_addr, &token)
            .await
            .map_err(anyhow::Error::msg)?;
        health.watch_stockpile(store.clone());
        let link = tokio::select! {
            link = dyad_link::connect(link_config) => link?,
            _ = stop.changed() => {
                eprintln!("offline worker stopped before the peer connected");
                return Ok(());
            }
        };
        if let Ok(mut m) = meter.lock() {
            *m = Some(link.meter());
        }
        let meter = link.meter();
        let config = WorkerConfig {
            lane,
            shards: shards.len(),
            pool: args.store.pool.clone(),
            plan,
            idle: Duration::from_millis(args.idle_ms),
            matrix_method: args.matrix_triples,
        };
        let timeout = args.link.timeout;
        let mut report = |event: WorkerEvent| match event {
            WorkerEvent::Paired { peer, rlwe } => {
                health.met("peer", format!("paired with {peer}, generating"));
                eprintln!(
                    "offline worker {} (lane {lane}) paired with {peer}; generating",
                    args.link.party(),
                );
                for line in rlwe {
                    eprintln!("{line}");
                }
            }
            WorkerEvent::PeerLost { why } => {
                health.unmet("peer", format!("lost the peer ({why}); waiting for it"));
                eprintln!(
                    "lost the peer ({why}); waiting up to {timeout} s for it to come back, then \
                     resuming"
                )
            }
        };
        let Some(link) = resume::work(link, store, config, progress, stop, &mut report).await?
        else {
            eprintln!("offline worker stopped while waiting for the peer");
            return Ok(());
        };
        // A peer that is gone cannot acknowledge the goodbye: do not wait for it long.
        if tokio::time::timeout(Duration::from_secs(2), link.close())
            .await
            .is_err()
        {
            eprintln!("the peer did not acknowledge the goodbye; stopping anyway");
        }
        let moved = meter.counters();
        eprintln!(
            "offline worker stopped cleanly; its channels sent {:.1} MB and received {:.1} MB",
            moved.bytes_sent as f64 / 1e6,
            moved.bytes_received as f64 / 1e6
        );
        Ok(())
    })
}

#[derive(clap::Args)]
pub struct PlanArgs {
    /// `net-a` .. `net-d`, or a model description file.
    #[arg(long)]
    model: String,
    /// Training batch size (a power of two).
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Training iterations to stock for.
    #[arg(long, default_value_t = 0)]
    iterations: u64,
    /// Served inference requests to stock for (`dyad serve`; each includes its argmax).
    #[arg(long, default_value_t = 0)]
    inferences: u64,
    /// The optimizer as the job gives it: momentum, weight decay and a rate that is not a
    /// power of two each add a truncation per parameter and step (the rate's value does not
    /// matter: a truncation costs the same by any number of bits).
    #[command(flatten)]
    optimizer: OptimizerArgs,
    #[command(flatten)]
    comparison: ComparisonArgs,
    /// Fixed-point fractional bits.
    #[arg(long, default_value_t = 16)]
    f: u32,
    /// Also stock a whole training job of this many epochs, as `dyad train` runs it on
    /// `--train` and `--test` examples: its steps and its evaluations.
    #[arg(long)]
    epochs: Option<usize>,
    /// The job also evaluates the test set every this many steps (as `dyad train
    /// --eval-every`).
    #[arg(long, value_name = "STEPS", requires = "epochs")]
    eval_every: Option<u64>,
    /// The job's training examples.
    #[arg(long, default_value_t = 4000)]
    train: usize,
    /// The job's test examples.
    #[arg(long, default_value_t = 1000)]
    test: usize,
    /// The job reveals each epoch's training loss.
    #[arg(long)]
    loss: bool,
    /// The job trains on these uploaded datasets (`dyad train --dataset`): their examples, from
    /// the store in `--datasets`, replace `--train` and `--test`.
    #[arg(long, value_delimiter = ',', requires_all = ["datasets", "epochs"])]
    dataset: Vec<String>,
    /// The dataset service's directory holding `--dataset` (either server's: both hold the
    /// same sizes).
    #[arg(long, value_name = "DIR")]
    datasets: Option<std::path::PathBuf>,
}

pub fn plan(args: PlanArgs) -> anyhow::Result<()> {
    let network = dyad_server::load_network(&args.model)?;
    let fixed = FixedPoint::new(args.f).context("--f must be between 1 and 30")?;
    let comparison = args.comparison.comparison();
    let config = args.comparison.config(fixed);
    let (train, test) = match &args.datasets {
        Some(dir) if !args.dataset.is_empty() => union_sizes(dir, &args.dataset)?,
        _ => (args.train, args.test),
    };
    // A cosine schedule spans the job's steps, or the iterations stocked for.
    let steps = match args.epochs {
        Some(epochs) => (train.checked_div(args.batch).unwrap_or(0) * epochs) as u64,
        None => args.iterations.max(1),
    };
    let optimizer = args.optimizer.optimizer(&network, steps, fixed)?;
    let training = (args.batch, args.iterations);
    let mut demand = network.stock_demand(training, args.inferences, &optimizer, config)?;
    let mut what = Vec::new();
    if args.iterations > 0 {
        what.push(format!("{} training steps", args.iterations));
    }
    if args.inferences > 0 {
        what.push(format!("{} served requests", args.inferences));
    }
    if let Some(epochs) = args.epochs {
        let job = Job {
            network: network.clone(),
            batch: args.batch,
            optimizer,
            epochs,
            eval_every: args.eval_every,
            seed: 0,
            init: Default::default(),
            loss: args.loss,
            fixed,
            comparison,
            exp: args.comparison.exp,
            dataset: String::new(),
            train,
            test,
        };
        job.validate()?;
        demand += job.demand()?;
        what.push(format!(
            "a {epochs}-epoch job on {train} training and {test} test examples"
        ));
    }
    let plan = Plan::from_demand(demand)?;
    print!("{plan}");
    let training = match args.iterations > 0 || args.epochs.is_some() {
        true => format!(" (batch {}, {optimizer})", args.batch),
        false => String::new(),
    };
    println!(
        "# {} of {}{training}: {:.1} MiB per party",
        what.join(" and "),
        network.name,
        plan.bytes() as f64 / (1u64 << 20) as f64
    );
    Ok(())
}

/// The training and test examples of the uploaded datasets `names` together, from their
/// metadata in the dataset store at `dir` (no share is read).
fn union_sizes(dir: &std::path::Path, names: &[String]) -> anyhow::Result<(usize, usize)> {
    anyhow::ensure!(dir.is_dir(), "{} is not a dataset directory", dir.display());
    let store = dyad_server::dataset_store::DatasetStore::open(dir, 0)?;
    let (mut train, mut test) = (0, 0);
    for name in names {
        let stored = store.stored(name)?;
        train += stored.train as usize;
        test += stored.test as usize;
    }
    Ok((train, test))
}
