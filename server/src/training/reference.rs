//! The plaintext references of a training job, in floating point and in fixed point, from the
//! same initial weights, over the same batches, with the same approximations (piecewise-linear
//! exp, Newton reciprocal) as the secure job: what `dyad train-plain` and the demo compare the
//! secure curve with.

use std::time::Instant;

use dyad_online::Z64;
use dyad_online::fixed::Headroom;
use dyad_online::nn::{Backend, Params, PlainFixed, PlainFloat};

use super::{Ended, Flow, Hooks, Job, Point, State, Stats, TrainingError, runner};
use crate::Examples;
use crate::datasets::{Dataset, DatasetError, shares};

/// Why a reference could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The dataset cannot be encoded in the job's fixed point.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// The network's initial weights cannot be made.
    #[error("the initial weights: {0}")]
    Initial(#[source] dyad_online::ModelError),
    /// The run failed.
    #[error(transparent)]
    Training(#[from] TrainingError),
}

/// Each evaluation of a run as it is revealed: the run's name, the point and the steps per
/// epoch (to place it).
pub type Report<'a> = &'a dyn Fn(&str, &Point, u64);

/// Which plaintext arithmetic a reference uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arithmetic {
    /// `f64`.
    Float,
    /// Fixed point with stochastic rounding, as the secure truncation behaves.
    Fixed,
    /// Both.
    Both,
}

/// A name that is not `float`, `fixed` or `both`.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an arithmetic: `float`, `fixed` or `both`")]
pub struct UnknownArithmetic(String);

impl std::str::FromStr for Arithmetic {
    type Err = UnknownArithmetic;

    fn from_str(s: &str) -> Result<Arithmetic, UnknownArithmetic> {
        match s {
            "float" => Ok(Arithmetic::Float),
            "fixed" => Ok(Arithmetic::Fixed),
            "both" => Ok(Arithmetic::Both),
            _ => Err(UnknownArithmetic(s.to_owned())),
        }
    }
}

/// Reports progress of a plaintext run.
struct Plain<'a> {
    started: Instant,
    reported: usize,
    name: &'static str,
    per_epoch: u64,
    report: Report<'a>,
}

impl<B: Backend> Hooks<B> for Plain<'_> {
    fn account(&mut self, _: &B, stats: &mut Stats) {
        stats.seconds = self.started.elapsed().as_secs_f64();
    }

    fn save(&mut self, state: &State<B::E>) -> Result<Flow, TrainingError> {
        for p in &state.curve[self.reported..] {
            (self.report)(self.name, p, self.per_epoch);
        }
        self.reported = state.curve.len();
        Ok(Flow::Continue)
    }
}

/// Trains the job on plaintext data with `backend`; returns where it ended.
async fn run_plain<B: Backend>(
    backend: &mut B,
    job: &Job,
    train: &Examples<B::E>,
    test: &Examples<B::E>,
    name: &'static str,
    report: Report<'_>,
) -> Result<State<B::E>, ReferenceError> {
    let initial = job.initial_params().map_err(ReferenceError::Initial)?;
    let mut state = State::start(initial.import(backend), &job.hyper());
    let mut hooks = Plain {
        started: Instant::now(),
        reported: 0,
        name,
        per_epoch: job.steps_per_epoch(),
        report,
    };
    let ended = runner::run(backend, job, train, test, &mut state, &mut hooks).await?;
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
    report: Report<'_>,
) -> Result<Vec<Reference>, ReferenceError> {
    let fixed = job.fixed;
    let mut references = Vec::new();
    if arithmetic != Arithmetic::Fixed {
        let (train, test) = (train_set.examples(), test_set.examples());
        let mut backend = PlainFloat {
            fixed,
            exp: job.exp,
        };
        let state = run_plain(&mut backend, job, &train, &test, "float", report).await?;
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
            shares::encode(train_set, fixed, "training set")?,
            shares::encode(test_set, fixed, "test set")?,
        );
        let mut backend = PlainFixed::stochastic(fixed, job.seed);
        backend.exp = job.exp;
        let state = run_plain(&mut backend, job, &train, &test, "fixed", report).await?;
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
