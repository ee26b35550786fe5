//! `dyad train-plain`: the plaintext references of a training job, in floating point and in
//! fixed point, from the same initial weights, over the same batches, with the same
//! approximations (piecewise-linear exp, Newton reciprocal) as the secure job.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use dyad_online::fixed::Headroom;
use dyad_online::nn::{Backend, Params, PlainFixed, PlainFloat};
use dyad_online::{FixedPoint, Z64};
use dyad_server::Examples;
use dyad_server::model_file::{Holder, ModelFile};
use dyad_server::training::{
    self as secure, Ended, Flow, Hooks, Job, Point, State, Stats, TrainingError,
};

use crate::data::{DataArgs, Dataset, shares};
use crate::train::{self, JobArgs};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    job: JobArgs,
    /// Which arithmetic: `float`, `fixed` or `both`.
    #[arg(long, default_value = "both")]
    arithmetic: Arithmetic,
    /// Fixed-point fractional bits (and the grid the float run's weights start on).
    #[arg(long, default_value_t = 16)]
    f: u32,
    /// Directory for `curve-float.csv`, `curve-fixed.csv`, `curve-plain.png` and the trained
    /// plaintext models `model-float.dyad` and `model-fixed.dyad` (for `dyad import`).
    #[arg(long, default_value = "train-plain")]
    out: PathBuf,
}

/// Which plaintext arithmetic a reference uses.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arithmetic {
    /// `f64`.
    Float,
    /// Fixed point with stochastic rounding, as the secure truncation behaves.
    Fixed,
    /// Both.
    Both,
}

/// Reports progress of a plaintext run.
struct Plain {
    started: Instant,
    reported: usize,
    name: &'static str,
    per_epoch: u64,
}

impl<B: Backend> Hooks<B> for Plain {
    fn account(&mut self, _: &B, stats: &mut Stats) {
        stats.seconds = self.started.elapsed().as_secs_f64();
    }

    fn save(&mut self, state: &State<B::E>) -> Result<Flow, TrainingError> {
        for p in &state.curve[self.reported..] {
            let loss = p.loss.map(|l| format!(", loss {l:.4}")).unwrap_or_default();
            eprintln!(
                "{}: {}: test accuracy {:.2}%{loss}",
                self.name,
                p.place(self.per_epoch),
                100.0 * p.accuracy
            );
        }
        self.reported = state.curve.len();
        Ok(Flow::Continue)
    }
}

/// Trains the job on plaintext data with `backend`; returns where it ended.
pub async fn run_plain<B: Backend>(
    backend: &mut B,
    job: &Job,
    train: &Examples<B::E>,
    test: &Examples<B::E>,
    name: &'static str,
) -> anyhow::Result<State<B::E>> {
    let initial = Params::initial(&job.network, job.seed, job.fixed).map_err(anyhow::Error::msg)?;
    let mut state = State::start(initial.import(backend));
    let mut hooks = Plain {
        started: Instant::now(),
        reported: 0,
        name,
        per_epoch: job.steps_per_epoch(),
    };
    let ended = secure::runner::run(backend, job, train, test, &mut state, &mut hooks).await?;
    debug_assert_eq!(ended, Ended::Finished);
    Ok(state)
}

/// A plaintext reference curve.
pub struct Reference {
    /// Its name in charts and tables.
    pub name: &'static str,
    /// Its CSV file name.
    pub file: &'static str,
    /// One point per evaluation.
    pub points: Vec<Point>,
    /// The trained model, in fixed point.
    pub model: Params<Z64>,
    /// For the fixed-point run: the largest magnitude any truncation saw, against the window
    /// the secure truncation needs (PROTOCOLS.md, "Accepted departures").
    pub headroom: Option<Headroom>,
}

impl Reference {
    /// The line that states the run's truncation headroom, if it has one.
    pub fn headroom_line(&self) -> Option<String> {
        let h = self.headroom?;
        let verdict = match h.inside() {
            true => "",
            false => " (OUTSIDE the window: a secure run would come out wrong)",
        };
        Some(format!("{}: truncations: {h}{verdict}", self.name))
    }
}

/// Runs the job in plaintext on `train_set` and `test_set`: in floating point, in (stochastically
/// rounded) fixed point, or both.
pub async fn references(
    job: &Job,
    train_set: &Dataset,
    test_set: &Dataset,
    arithmetic: Arithmetic,
) -> anyhow::Result<Vec<Reference>> {
    let fixed = job.fixed;
    let mut references = Vec::new();
    if arithmetic != Arithmetic::Fixed {
        let (train, test) = (train_set.examples(), test_set.examples());
        let mut backend = PlainFloat {
            fixed,
            exp: job.exp,
        };
        let state = run_plain(&mut backend, job, &train, &test, "float").await?;
        references.push(Reference {
            name: "plaintext float",
            file: "curve-float.csv",
            points: state.curve,
            model: state.params.import(&PlainFixed::new(fixed)),
            headroom: None,
        });
    }
    if arithmetic != Arithmetic::Float {
        let (train, test) = (
            shares::encode(train_set, fixed).context("the training set")?,
            shares::encode(test_set, fixed).context("the test set")?,
        );
        let mut backend = PlainFixed::stochastic(fixed, job.seed);
        backend.exp = job.exp;
        let state = run_plain(&mut backend, job, &train, &test, "fixed").await?;
        references.push(Reference {
            name: "plaintext fixed point",
            file: "curve-fixed.csv",
            points: state.curve,
            model: state.params,
            headroom: Some(backend.headroom()),
        });
    }
    Ok(references)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (train_set, test_set) = args.data.load()?;
    let fixed = FixedPoint::new(args.f).context("--f must be between 1 and 30")?;
    let job = args
        .job
        .job(fixed, "plaintext".into(), train_set.len(), test_set.len())?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let references = runtime.block_on(references(&job, &train_set, &test_set, args.arithmetic))?;
    let mut chart_curves = Vec::new();
    for r in &references {
        let text = train::csv(&r.points);
        dyad_server::files::write_atomically(&args.out.join(r.file), text.as_bytes())?;
        chart_curves.push((r.name, train::accuracies(&text)));
        let model = args
            .out
            .join(r.file.replace("curve", "model").replace(".csv", ".dyad"));
        ModelFile {
            holder: Holder::Plain,
            fixed,
            network: job.network.clone(),
            params: r.model.clone(),
        }
        .write(&model)?;
        let last = r.points.last().map_or(0.0, |p| p.accuracy);
        println!("{}: final test accuracy {:.2}%", r.name, 100.0 * last);
        if let Some(line) = r.headroom_line() {
            println!("{line}");
        }
    }
    let title = format!("{} in plaintext: test accuracy", job.network.name);
    let chart = args.out.join("curve-plain.png");
    train::chart(&chart, &title, &chart_curves)?;
    println!(
        "curves in {} (chart: {})",
        args.out.display(),
        chart.display()
    );
    Ok(())
}
