//! `dyad train`: one server's side of a secure training job.
//!
//! Both servers run it with the same job; each reads only its own share of the data and pulls
//! correlated randomness only from its own stockpile, while the offline workers refill it.
//! They agree on the job before starting, checkpoint after every step, and after a crash or a
//! lost link resume from the latest checkpoint both hold. Only the test accuracy at the end of
//! each epoch (and every `--eval-every` steps) and, with `--loss`, each epoch's mean training
//! loss are ever revealed; the model stays shared.

mod display;
mod progress;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use dyad_online::nn::Init;
use dyad_online::{FixedPoint, Z64};

use dyad_server::dataset_store::{DatasetStore, union};
use dyad_server::model_file::{Holder, ModelFile};
use dyad_server::training::{self, Job, Outcome, Setup, State, StockMonitor, TrainMetrics, curve};
use dyad_server::{DatasetShare, Stockpile};

pub use progress::Progress;

use crate::comparison_args::ComparisonArgs;
use crate::link_args::LinkArgs;
use crate::optimizer_args::OptimizerArgs;
use crate::store_args::StoreArgs;
use display::Display;
use dyad_server::endpoints::Health;

/// The job options both servers must give alike.
#[derive(clap::Args, Debug, Clone)]
pub struct JobArgs {
    /// `net-a` .. `net-d`, or a model description file.
    #[arg(long)]
    pub model: String,
    /// Passes over the training set.
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Also reveal the test accuracy after every this many SGD steps (besides each epoch's
    /// end), for a finer curve; each evaluation costs a pass over the test set.
    #[arg(long, value_name = "STEPS")]
    pub eval_every: Option<u64>,
    /// Examples per SGD step (a power of two).
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    #[command(flatten)]
    pub optimizer: OptimizerArgs,
    /// Seeds the public initial weights and the batch order.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How the initial weights are drawn: `he` (He/Kaiming-uniform, zero biases) or `pytorch`
    /// (PyTorch's default for its layers: weights and biases uniform in ±1/sqrt(fan-in)).
    #[arg(long, default_value = "he")]
    pub init: Init,
    /// Also reveal each epoch's mean training loss.
    #[arg(long)]
    pub loss: bool,
    #[command(flatten)]
    pub comparison: ComparisonArgs,
}

impl JobArgs {
    /// The job on a dataset with the given id and sizes.
    pub fn job(
        &self,
        fixed: FixedPoint,
        dataset: String,
        train: usize,
        test: usize,
    ) -> anyhow::Result<Job> {
        let network = dyad_server::load_network(&self.model)?;
        let steps = train.checked_div(self.batch).unwrap_or(0) * self.epochs;
        let job = Job {
            optimizer: self.optimizer.optimizer(&network, steps as u64, fixed)?,
            network,
            batch: self.batch,
            epochs: self.epochs,
            eval_every: self.eval_every,
            seed: self.seed,
            init: self.init,
            loss: self.loss,
            fixed,
            comparison: self.comparison.comparison(),
            exp: self.comparison.exp,
            dataset,
            train,
            test,
        };
        job.validate()?;
        Ok(job)
    }
}

/// Requests' worth of randomness a training job takes from its stockpile at a time.
const PREFETCH: u64 = 4;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    link: LinkArgs,
    #[command(flatten)]
    store: StoreArgs,
    /// This server's share of the dataset (from `dyad share`).
    #[arg(long, required_unless_present = "dataset", conflicts_with = "dataset")]
    data: Option<PathBuf>,
    /// Or datasets owners uploaded (`dyad upload`), by name: `NAME[,NAME...]`, trained on
    /// together (taken in the order of their names; both servers must name the same ones).
    #[arg(long, value_delimiter = ',', requires = "datasets")]
    dataset: Vec<String>,
    /// The dataset service's directory (`dyad datasets --dir`) holding `--dataset`.
    #[arg(long, value_name = "DIR")]
    datasets: Option<PathBuf>,
    #[command(flatten)]
    job: JobArgs,
    /// Where checkpoints, the model share and the curve go (default `train-p<i>`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seconds to wait for the stockpile when it runs dry before giving up.
    #[arg(long, default_value_t = 3600)]
    stock_wait: u64,
    /// Serve Prometheus metrics on this address: steps, seconds per step, the online cost so
    /// far, the latest test accuracy, the stock of each stream.
    #[arg(long)]
    metrics: Option<std::net::SocketAddr>,
    /// Serve `/healthz` (alive) and `/readyz` (running a session with the peer) on this
    /// address; it may be the `--metrics` address, which then serves all three.
    #[arg(long)]
    health: Option<std::net::SocketAddr>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let party = args.link.party();
    let (data, dataset) = match (&args.data, &args.datasets) {
        (Some(path), _) => {
            let data = DatasetShare::read(path)?;
            ensure!(
                usize::from(data.party) == party.index(),
                "{} holds P{}'s share of the data, and this is {party}",
                path.display(),
                data.party
            );
            let id = data.id_hex();
            (data, id)
        }
        (None, Some(dir)) => {
            let store = DatasetStore::open(dir, party.index() as u8)?;
            let union = union(&store, &args.dataset)?;
            (union.share, union.agreement)
        }
        (None, None) => anyhow::bail!("--data or --dataset with --datasets names the data"),
    };
    let fixed = FixedPoint::new(data.f).context("the data share's encoding")?;
    let job = args
        .job
        .job(fixed, dataset, data.train.len(), data.test.len())?;
    let input = job.network.input;
    ensure!(
        (input.channels, input.height, input.width) == data.shape
            && job.network.classes() == data.classes,
        "{} takes {}x{}x{} inputs and {} classes; the data has {:?} and {}",
        job.network.name,
        input.channels,
        input.height,
        input.width,
        job.network.classes(),
        data.shape,
        data.classes
    );
    let total_steps = job.total_steps();
    let step_demand = job.step_demand()?;
    let (addresses, token) = args.store.addresses_and_token()?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("train-p{}", party.index())));
    let setup = Setup {
        job,
        data,
        party,
        source: Stockpile {
            addresses,
            token,
            wait: Duration::from_secs(args.stock_wait),
            prefetch: PREFETCH,
            pool: args.store.pool.clone(),
        },
        out,
    };
    let metrics = Arc::new(TrainMetrics::new(total_steps));
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut stop = crate::signals::stop_flag();
        let health = Health::new(&[("session", "connecting to the stockpile and the peer")]);
        health.stop_with(stop.clone());
        let stockpile = &setup.source;
        let m = metrics.clone();
        dyad_server::endpoints::job_endpoints(
            args.metrics,
            Arc::new(move || m.render()),
            &metrics.stock,
            stockpile,
            args.health.map(|a| (a, health.clone())),
        )
        .await?;
        let stock = StockMonitor::start(
            stockpile.connect().await?,
            step_demand,
            stockpile.pool.clone(),
        );
        let mut display = Display::new(&setup.job, stock, metrics, health, args.link.timeout);
        let link = tokio::select! {
            link = args.link.connect("train") => link?,
            _ = stop.changed() => {
                eprintln!("training stopped before the peer connected");
                return Ok(());
            }
        };
        match training::train(link, &setup, &mut display, &stop).await? {
            Outcome::Finished(state) => {
                drop(display);
                finish(&setup, &state)
            }
            Outcome::Stopped { after } => {
                if let Some(step) = after {
                    eprintln!("stopped after step {step}; run the same command again to resume");
                }
                Ok(())
            }
        }
    })
}

/// Writes the model share and the curve, and prints the summary.
fn finish(setup: &Setup<Stockpile>, state: &State<Z64>) -> anyhow::Result<()> {
    let job = &setup.job;
    let i = setup.party.index();
    let model_path = setup.out.join(format!("model.p{i}.dyad"));
    ModelFile {
        holder: Holder::Party(i as u8),
        fixed: job.fixed,
        network: job.network.clone(),
        params: state.params.clone(),
    }
    .write(&model_path)?;
    let title = format!("{} under MPC: test accuracy", job.network.name);
    let text = curve::csv(&state.curve);
    dyad_server::files::write_atomically(&setup.out.join("curve.csv"), text.as_bytes())?;
    let secure = [("secure (MPC)", curve::accuracies(&text))];
    dyad_chart::accuracy::chart(&setup.out.join("curve.png"), &title, &secure)?;
    print_summary(job, state, &setup.out, &model_path);
    Ok(())
}

fn print_summary(job: &Job, state: &State<Z64>, out: &Path, model: &Path) {
    println!(
        "\ntrained {} for {} epochs of {} steps (batch {}, {}) on {} training examples",
        job.network.name,
        job.epochs,
        job.steps_per_epoch(),
        job.batch,
        job.optimizer,
        job.train
    );
    for p in &state.curve {
        let loss = p
            .loss
            .map(|l| format!("   loss {l:.4}"))
            .unwrap_or_default();
        // Epoch ends by their epoch, evaluations within an epoch by their step.
        let at = match p.step.is_multiple_of(job.steps_per_epoch()) {
            true => format!("epoch {:>3}", p.epoch),
            false => format!(" step {:>3}", p.step),
        };
        println!("  {at}: test accuracy {:6.2}%{loss}", 100.0 * p.accuracy);
    }
    let s = state.stats;
    println!(
        "online: {:.1} s ({:.2} s per step incl. evaluation), of which {:.1} s getting randomness",
        s.seconds,
        s.seconds / state.step.max(1) as f64,
        s.store_seconds
    );
    println!(
        "communication: {:.1} MB sent, {:.1} MB received, {} rounds",
        s.bytes_sent as f64 / 1e6,
        s.bytes_received as f64 / 1e6,
        s.rounds
    );
    println!(
        "model share: {} (reconstruct with `dyad reveal-model`); curve: {} and {}",
        model.display(),
        out.join("curve.csv").display(),
        out.join("curve.png").display()
    );
}
