//! The training loop, once for every backend: SGD steps over the public batch schedule, with
//! the test accuracy revealed as one number after each step of [`Job::evaluation_steps`] (the
//! end of every epoch, and every `--eval-every` steps if asked). With `--loss`, each epoch's
//! end also reveals the mean training loss of that epoch: the loss stays per epoch, whatever
//! the evaluation interval, so it keeps its meaning (a mean over the whole epoch's batches).
//! The secure job and the plaintext references all run this.

use dyad_online::nn::{Backend, Hyper, Params, evaluate as evaluate_batch, train_step};
use num_traits::Zero;

use super::TrainingError;
use super::job::Job;
use super::schedule::{epoch_order, gather};
use crate::Examples;

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

/// An evaluation: what was revealed, and the cost so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// The epoch it falls in (1 for the first; an evaluation at an epoch's end belongs to
    /// that epoch).
    pub epoch: usize,
    /// SGD steps done.
    pub step: u64,
    /// Test accuracy.
    pub accuracy: f64,
    /// Mean training loss over the epoch, if revealed (only at an epoch's end).
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
    /// The moments the optimizer keeps of each parameter: none for SGD, the velocity with
    /// momentum, Adam's two (shares for the secure job).
    pub moments: Vec<Params<E>>,
    /// The summed loss of this epoch's steps so far (unrevealed).
    pub loss: E,
    /// One point per evaluation done, in step order.
    pub curve: Vec<Point>,
    /// Cost so far.
    pub stats: Stats,
}

impl Point {
    /// Where it was taken, for a line of output: `epoch N` at the end of epoch `N`, otherwise
    /// `step S`.
    pub fn place(&self, per_epoch: u64) -> String {
        match self.step.is_multiple_of(per_epoch) {
            true => format!("epoch {}", self.epoch),
            false => format!("step {}", self.step),
        }
    }
}

impl<E: num_traits::Zero + Clone> State<E> {
    /// The start of a run from `params`, trained with `hyper`'s optimizer.
    pub fn start(params: Params<E>, hyper: &Hyper) -> State<E> {
        State {
            step: 0,
            moments: hyper.initial_moments(&params),
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
    fn save(&mut self, state: &State<B::E>) -> Result<Flow, TrainingError>;
}

/// Runs `job` from `state` to its end (or until a hook says stop). Where to go on is read
/// from the state alone (its step, and whether its last point is at that step), so a run
/// resumed from any checkpoint takes the same steps and evaluations as one never stopped.
pub async fn run<B: Backend>(
    backend: &mut B,
    job: &Job,
    train: &Examples<B::E>,
    test: &Examples<B::E>,
    state: &mut State<B::E>,
    hooks: &mut impl Hooks<B>,
) -> Result<Ended, TrainingError> {
    let per_epoch = job.steps_per_epoch();
    let evaluations = job.evaluation_steps();
    let shape = {
        let s = job.network.input;
        (s.channels, s.height, s.width)
    };
    // The current epoch and its batch order, made once per epoch.
    let mut order = (usize::MAX, Vec::new());
    loop {
        let evaluated = state.curve.last().is_some_and(|p| p.step == state.step);
        if !evaluated && evaluations.binary_search(&state.step).is_ok() {
            let (accuracy, loss) = evaluate(backend, job, test, state, shape).await?;
            hooks.account(backend, &mut state.stats);
            state.curve.push(Point {
                epoch: state.step.div_ceil(per_epoch) as usize,
                step: state.step,
                accuracy,
                loss,
                stats: state.stats,
            });
            if hooks.save(state)? == Flow::Stop {
                return Ok(Ended::Stopped);
            }
        }
        if state.step >= job.total_steps() {
            return Ok(Ended::Finished);
        }
        let epoch = (state.step / per_epoch) as usize;
        if order.0 != epoch {
            order = (epoch, epoch_order(job.seed, epoch, train.len()));
        }
        let i = (state.step % per_epoch) as usize;
        let rows = &order.1[i * job.batch..(i + 1) * job.batch];
        let (x, y) = gather(train, rows, job.batch, shape);
        let weights = (&mut state.params, state.moments.as_mut_slice());
        let rule = job.hyper().rule(state.step);
        let step = train_step(backend, &job.network, weights, (x, &y), rule, job.loss).await?;
        if let Some(loss) = step.loss {
            state.loss = state.loss + loss;
        }
        state.step += 1;
        hooks.account(backend, &mut state.stats);
        if hooks.save(state)? == Flow::Stop {
            return Ok(Ended::Stopped);
        }
    }
}

/// Reveals the test accuracy at `state.step` and, at an epoch's end with `--loss`, the epoch's
/// mean training loss (then starts the next epoch's sum).
async fn evaluate<B: Backend>(
    backend: &mut B,
    job: &Job,
    test: &Examples<B::E>,
    state: &mut State<B::E>,
    shape: (usize, usize, usize),
) -> Result<(f64, Option<f64>), TrainingError> {
    let per_epoch = job.steps_per_epoch();
    let mut correct = B::E::zero();
    let all: Vec<usize> = (0..test.len()).collect();
    for rows in all.chunks(job.batch) {
        let (x, y) = gather(test, rows, job.batch, shape);
        correct = correct
            + evaluate_batch(backend, &job.network, &state.params, x, &y, rows.len()).await?;
    }
    let accuracy = backend.reveal(correct).await? / test.len() as f64;
    let loss = match job.loss && state.step.is_multiple_of(per_epoch) {
        true => {
            let examples = (per_epoch * job.batch as u64) as f64;
            let mean = backend.reveal(state.loss).await? / examples;
            state.loss = B::E::zero();
            Some(mean)
        }
        false => None,
    };
    Ok((accuracy, loss))
}

#[cfg(test)]
mod tests {
    use dyad_online::FixedPoint;
    use dyad_online::model::Network;
    use dyad_online::nn::{Optimizer, PlainFloat};
    use dyad_online::protocols::{Comparison, Exp};
    use ndarray::Array2;

    use super::*;

    /// 4 steps per epoch, 2 epochs.
    fn job(eval_every: Option<u64>) -> Job {
        Job {
            network: Network::parse("tiny", "input 1 2 2\nflatten\ndense 3\n").expect("network"),
            batch: 4,
            optimizer: Optimizer::sgd(2),
            epochs: 2,
            eval_every,
            seed: 5,
            init: Default::default(),
            loss: true,
            fixed: FixedPoint::default(),
            comparison: Comparison::default(),
            exp: Exp::default(),
            dataset: "test".into(),
            train: 16,
            test: 6,
        }
    }

    /// `n` made-up examples of 4 pixels and 3 classes.
    fn examples(n: usize, salt: usize) -> Examples<f64> {
        Examples {
            x: Array2::from_shape_fn((n, 4), |(i, j)| ((i * 7 + j * 3 + salt) % 11) as f64 / 10.0),
            y: Array2::from_shape_fn((n, 3), |(i, c)| f64::from(u8::from((i + salt) % 3 == c))),
        }
    }

    /// Counts saves and stops at the `stop_at`-th.
    struct Counting {
        saves: usize,
        stop_at: Option<usize>,
    }

    impl<B: Backend> Hooks<B> for Counting {
        fn account(&mut self, _: &B, _: &mut Stats) {}

        fn save(&mut self, _: &State<B::E>) -> Result<Flow, TrainingError> {
            self.saves += 1;
            Ok(match Some(self.saves) == self.stop_at {
                true => Flow::Stop,
                false => Flow::Continue,
            })
        }
    }

    fn backend(job: &Job) -> PlainFloat {
        PlainFloat {
            fixed: job.fixed,
            exp: job.exp,
        }
    }

    fn start(job: &Job) -> State<f64> {
        let initial = job.initial_params().expect("params");
        State::start(initial.import(&backend(job)), &job.hyper())
    }

    /// Runs `job` from `state`, stopping at the `stop_at`-th save; returns how it ended and
    /// the saves made.
    async fn train(job: &Job, state: &mut State<f64>, stop_at: Option<usize>) -> (Ended, usize) {
        let mut hooks = Counting { saves: 0, stop_at };
        let (train, test) = (examples(job.train, 0), examples(job.test, 1));
        let ended = run(&mut backend(job), job, &train, &test, state, &mut hooks)
            .await
            .expect("run");
        (ended, hooks.saves)
    }

    #[tokio::test]
    async fn evaluates_exactly_where_the_job_and_its_demand_say() {
        for every in [None, Some(1), Some(3), Some(4), Some(100)] {
            let job = job(every);
            let mut state = start(&job);
            let (ended, saves) = train(&job, &mut state, None).await;
            assert_eq!(ended, Ended::Finished);
            let steps: Vec<u64> = state.curve.iter().map(|p| p.step).collect();
            assert_eq!(steps, job.evaluation_steps(), "every {every:?}");
            assert_eq!(saves as u64, job.total_steps() + steps.len() as u64);
            for p in &state.curve {
                // The loss at epoch ends only; a point belongs to the epoch it ends or is in.
                assert_eq!(p.loss.is_some(), p.step % 4 == 0, "{p:?}");
                assert_eq!(p.epoch as u64, p.step.div_ceil(4), "{p:?}");
            }
        }
    }

    #[tokio::test]
    async fn a_run_resumed_after_any_save_ends_as_one_never_stopped() {
        let plain = job(Some(3));
        // With momentum the velocity must come back too, with Adam both moments (`State`'s
        // equality compares them).
        let optimized = Job {
            optimizer: Optimizer {
                lr: 0.1,
                momentum: 0.9,
                nesterov: true,
                weight_decay: 0.01,
                schedule: dyad_online::nn::Schedule::Cosine {
                    total: plain.total_steps(),
                },
                warmup: 2,
                adam: None,
            },
            ..plain.clone()
        };
        let adam = Job {
            optimizer: Optimizer {
                lr: 0.01,
                weight_decay: 0.01,
                adam: Some(dyad_online::nn::Adam::default()),
                ..Optimizer::sgd(0)
            },
            ..plain.clone()
        };
        for job in [plain, optimized, adam] {
            resumes_as_never_stopped(&job).await;
        }
    }

    async fn resumes_as_never_stopped(job: &Job) {
        let job = job.clone();
        let mut whole = start(&job);
        let (_, saves) = train(&job, &mut whole, None).await;
        for stop_at in 1..saves {
            let mut state = start(&job);
            let (ended, _) = train(&job, &mut state, Some(stop_at)).await;
            assert_eq!(ended, Ended::Stopped);
            // As if restarted from the checkpoint of that save.
            let mut resumed = state.clone();
            let (ended, more) = train(&job, &mut resumed, None).await;
            assert_eq!(ended, Ended::Finished);
            assert_eq!(stop_at + more, saves, "stopped at save {stop_at}");
            assert_eq!(resumed, whole, "stopped at save {stop_at}");
        }
    }
}
