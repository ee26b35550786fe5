//! The training loop, once for every backend: epochs of SGD steps over the public batch
//! schedule, each epoch ending with the test accuracy (and, if asked, the mean training loss)
//! revealed as one number each. The secure job and the plaintext references all run this.

use dyad_online::nn::{Backend, Params, evaluate, train_step};
use num_traits::Zero;

use super::job::Job;
use super::schedule::{epoch_order, gather};
use crate::data::Examples;

/// Cumulative cost of a run so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// Wall-clock seconds of the online phase (store waits included).
    pub seconds: f64,
    /// Of those, seconds spent getting correlated randomness.
    pub store_seconds: f64,
    /// Bytes sent to the peer.
    pub bytes_sent: u64,
    /// Bytes received from the peer.
    pub bytes_received: u64,
    /// Message rounds.
    pub rounds: u64,
}

/// The end of an epoch: what was revealed, and the cost so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Epochs done (1 for the first).
    pub epoch: usize,
    /// SGD steps done.
    pub step: u64,
    /// Test accuracy.
    pub accuracy: f64,
    /// Mean training loss over the epoch, if revealed.
    pub loss: Option<f64>,
    /// Cost so far.
    pub stats: Stats,
}

/// Where a run stands: enough to resume it.
#[derive(Debug, Clone, PartialEq)]
pub struct State<E> {
    /// SGD steps done.
    pub step: u64,
    /// The model (this backend's values: shares for the secure job).
    pub params: Params<E>,
    /// The summed loss of this epoch's steps so far (unrevealed).
    pub loss: E,
    /// One point per evaluated epoch.
    pub curve: Vec<Point>,
    /// Cost so far.
    pub stats: Stats,
}

impl<E: num_traits::Zero> State<E> {
    /// The start of a run from `params`.
    pub fn start(params: Params<E>) -> State<E> {
        State {
            step: 0,
            params,
            loss: E::zero(),
            curve: Vec::new(),
            stats: Stats::default(),
        }
    }
}

/// Whether to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// Stop here (the state is saved).
    Stop,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// All epochs done.
    Finished,
    /// A hook stopped it early.
    Stopped,
}

/// What a run does between steps.
pub trait Hooks<B: Backend> {
    /// Brings `stats` up to date.
    fn account(&mut self, backend: &B, stats: &mut Stats);
    /// After every step and every evaluation: save, report, and say whether to go on.
    fn save(&mut self, state: &State<B::E>) -> anyhow::Result<Flow>;
}

/// Runs `job` from `state` to its end (or until a hook says stop).
pub async fn run<B: Backend>(
    backend: &mut B,
    job: &Job,
    train: &Examples<B::E>,
    test: &Examples<B::E>,
    state: &mut State<B::E>,
    hooks: &mut impl Hooks<B>,
) -> anyhow::Result<Ended> {
    let per_epoch = job.steps_per_epoch();
    let shape = {
        let s = job.network.input;
        (s.channels, s.height, s.width)
    };
    while state.curve.len() < job.epochs {
        let epoch = state.curve.len();
        let order = epoch_order(job.seed, epoch, train.len());
        while state.step < (epoch as u64 + 1) * per_epoch {
            let i = (state.step % per_epoch) as usize;
            let rows = &order[i * job.batch..(i + 1) * job.batch];
            let (x, y) = gather(train, rows, job.batch, shape);
            let step = train_step(
                backend,
                &job.network,
                &mut state.params,
                x,
                &y,
                job.hyper(),
                job.loss,
            )
            .await?;
            if let Some(loss) = step.loss {
                state.loss = state.loss + loss;
            }
            state.step += 1;
            hooks.account(backend, &mut state.stats);
            if hooks.save(state)? == Flow::Stop {
                return Ok(Ended::Stopped);
            }
        }
        let mut correct = B::E::zero();
        let all: Vec<usize> = (0..test.len()).collect();
        for rows in all.chunks(job.batch) {
            let (x, y) = gather(test, rows, job.batch, shape);
            correct =
                correct + evaluate(backend, &job.network, &state.params, x, &y, rows.len()).await?;
        }
        let accuracy = backend.reveal(correct).await? / test.len() as f64;
        let loss = match job.loss {
            true => {
                let examples = (per_epoch * job.batch as u64) as f64;
                Some(backend.reveal(state.loss).await? / examples)
            }
            false => None,
        };
        state.loss = B::E::zero();
        hooks.account(backend, &mut state.stats);
        state.curve.push(Point {
            epoch: epoch + 1,
            step: state.step,
            accuracy,
            loss,
            stats: state.stats,
        });
        if hooks.save(state)? == Flow::Stop {
            return Ok(Ended::Stopped);
        }
    }
    Ok(Ended::Finished)
}
