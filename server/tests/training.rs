//! The training job in process: both servers' jobs over a loopback party link, with the test
//! fixture for randomness, train to the end, agree on every revealed accuracy, end with shares
//! of the model the plaintext fixed-point runner trains, and a rerun resumes at the last
//! checkpoint both hold instead of training again.

mod fixture_source;

use dyad_link::{PartyId, loopback_pair};
use dyad_online::model::Network;
use dyad_online::nn::{Backend, Optimizer, PlainFixed, Schedule};
use dyad_online::protocols::{Comparison, Exp};
use dyad_online::{FixedPoint, Z64, sharing};
use dyad_server::training::checkpoint::Position;
use dyad_server::training::{
    self, Ended, Flow, Hooks, Job, Observer, Outcome, Setup, State, Stats, TrainingError,
};
use dyad_server::{DatasetShare, Examples};
use fixture_source::FixtureSource;
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tokio::sync::watch;

/// What a session told its observer.
#[derive(Default)]
struct Record {
    started: Vec<Option<Position>>,
    steps: usize,
    evaluations: usize,
}

impl Observer for Record {
    fn started(&mut self, resume: Option<Position>, _: &State<Z64>) {
        self.started.push(resume);
    }

    fn saved(&mut self, _: &State<Z64>, step_seconds: Option<f64>) {
        match step_seconds {
            Some(_) => self.steps += 1,
            None => self.evaluations += 1,
        }
    }

    fn peer_lost(&mut self, why: &str) {
        panic!("no link breaks in this test: {why}");
    }
}

/// The plaintext runner's hooks: nothing to account or save.
struct Plain;

impl Hooks<PlainFixed> for Plain {
    fn account(&mut self, _: &PlainFixed, _: &mut Stats) {}

    fn save(&mut self, _: &State<Z64>) -> Result<Flow, TrainingError> {
        Ok(Flow::Continue)
    }
}

fn job(train: usize, test: usize) -> Job {
    let network = Network::by_name("net-a").expect("net-a");
    Job {
        optimizer: Optimizer::sgd(network.paper_lr_shift()),
        network,
        batch: 8,
        epochs: 2,
        eval_every: Some(1),
        seed: 4,
        init: Default::default(),
        loss: true,
        fixed: FixedPoint::default(),
        comparison: Comparison::default(),
        exp: Exp::default(),
        dataset: "00".repeat(16),
        train,
        test,
    }
}

/// Random images in `[0, 1]` with one-hot labels, in fixed point.
fn examples(n: usize, fixed: FixedPoint, rng: &mut ChaCha20Rng) -> Examples<Z64> {
    let x = Array2::from_shape_simple_fn((n, 784), || rng.random_range(0.0..1.0));
    let mut y = Array2::zeros((n, 10));
    for mut row in y.rows_mut() {
        row[rng.random_range(0..10)] = 1.0;
    }
    let plain = PlainFixed::new(fixed);
    Examples {
        x: plain
            .import(&x.into_dyn())
            .into_dimensionality()
            .expect("2-d"),
        y: plain
            .import(&y.into_dyn())
            .into_dimensionality()
            .expect("2-d"),
    }
}

fn shares(data: &Examples<Z64>, rng: &mut ChaCha20Rng) -> [Examples<Z64>; 2] {
    let ([x0, x1], [y0, y1]) = (sharing::split(&data.x, rng), sharing::split(&data.y, rng));
    [Examples { x: x0, y: y0 }, Examples { x: x1, y: y1 }]
}

/// Runs both servers' jobs to their outcome.
async fn train_both(setups: &[Setup<FixtureSource>; 2]) -> [(Outcome, Record); 2] {
    let (link0, link1) = loopback_pair().await.expect("loopback link");
    let (_stop, stopped) = watch::channel(false);
    let (mut r0, mut r1) = (Record::default(), Record::default());
    let (o0, o1) = tokio::join!(
        training::train(link0, &setups[0], &mut r0, &stopped),
        training::train(link1, &setups[1], &mut r1, &stopped),
    );
    [(o0.expect("P0 trains"), r0), (o1.expect("P1 trains"), r1)]
}

fn finished(outcome: Outcome) -> State<Z64> {
    match outcome {
        Outcome::Finished(state) => state,
        other => panic!("the job did not finish: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_jobs_train_to_the_reference_model_and_a_rerun_resumes_at_the_end() {
    trains_to_the_reference_and_resumes(|job| job).await;
}

/// The same with every optimizer option at once: the velocities, as the weights, are those of
/// the plaintext reference, and live in the checkpoints that the rerun resumes from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_with_momentum_weight_decay_and_a_schedule_train_to_the_reference_model() {
    trains_to_the_reference_and_resumes(|job| Job {
        // A rate like the plain job's (2^-7): larger steps let the secure and plaintext runs
        // drift further apart through the forward pass (0.05 left a weight 84 units off).
        optimizer: Optimizer {
            lr: 0.01,
            schedule: Schedule::Cosine {
                total: job.total_steps(),
            },
            warmup: 1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 0.01,
        },
        ..job
    })
    .await;
}

async fn trains_to_the_reference_and_resumes(adjust: impl Fn(Job) -> Job) {
    let fixed = FixedPoint::default();
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let (train, test) = (examples(16, fixed, &mut rng), examples(8, fixed, &mut rng));
    let job = adjust(job(train.len(), test.len()));
    job.validate().expect("a job that can run");
    let ([train0, train1], [test0, test1]) = (shares(&train, &mut rng), shares(&test, &mut rng));
    let dirs = [(); 2].map(|_| tempfile::tempdir().expect("tempdir"));
    let setups = [(train0, test0), (train1, test1)]
        .into_iter()
        .zip(PartyId::BOTH)
        .map(|((train, test), party)| Setup {
            job: job.clone(),
            data: DatasetShare {
                id: [0; 16],
                party: party.index() as u8,
                f: fixed.f,
                shape: (1, 28, 28),
                classes: 10,
                train,
                test,
            },
            party,
            source: FixtureSource(21),
            out: dirs[party.index()].path().to_owned(),
        })
        .collect::<Vec<_>>()
        .try_into()
        .unwrap_or_else(|_| unreachable!("two setups"));

    let [(o0, r0), (o1, r1)] = train_both(&setups).await;
    let (s0, s1) = (finished(o0), finished(o1));
    let total = job.total_steps();
    assert_eq!((s0.step, s1.step), (total, total));
    for record in [&r0, &r1] {
        assert_eq!(record.started, vec![None]);
        assert_eq!(record.steps as u64, total);
        // A save after every step, and another after every evaluation (one per step here).
        assert_eq!(record.evaluations as u64, total);
    }
    // Every step evaluates (eval_every = 1), and both servers saw the same reveals.
    assert_eq!(s0.curve.len() as u64, total);
    let revealed = |s: &State<Z64>| -> Vec<(u64, f64, Option<f64>)> {
        s.curve
            .iter()
            .map(|p| (p.step, p.accuracy, p.loss))
            .collect()
    };
    assert_eq!(revealed(&s0), revealed(&s1));
    assert!(s0.curve.iter().filter(|p| p.loss.is_some()).count() == job.epochs);

    // The plaintext fixed-point runner on the same data from the same start.
    let mut plain = PlainFixed::new(fixed);
    let initial = job.initial_params().expect("params").import(&plain);
    let mut reference = State::start(initial, &job.hyper());
    let ended = training::runner::run(&mut plain, &job, &train, &test, &mut reference, &mut Plain)
        .await
        .expect("the reference trains");
    assert_eq!(ended, Ended::Finished);
    // Each secure truncation is off by at most one unit; a few steps stay within a few.
    let tolerance = 1 << 6;
    let mut compared = vec![(
        &s0.params,
        &s1.params,
        &reference.params,
        "weights",
        tolerance,
    )];
    match (&s0.velocity, &s1.velocity, &reference.velocity) {
        // Velocities sum gradients before the rate scales them, so what the weights see times
        // the rate reaches them whole: the secure run's one-unit roundings, and a ReLU whose
        // input lies within them of 0 deciding the other way (its whole gradient row then
        // differs). A plain job's weights at 2^-7 within the tolerance above allow gradients
        // 2^13 units off; seen here: 473 and 1,544 units.
        (Some(v0), Some(v1), Some(v)) => compared.push((v0, v1, v, "velocities", 1 << 12)),
        (None, None, None) => assert!(!job.optimizer.has_velocity()),
        _ => panic!("a velocity on one side only"),
    }
    for (p0, p1, want, what, tolerance) in compared {
        for (layer, (a, b)) in p0.layers.iter().zip(&p1.layers).enumerate() {
            let (Some(a), Some(b)) = (a, b) else { continue };
            let want = want.layers[layer].as_ref().expect("same layers");
            let error = (&a.w + &b.w)
                .iter()
                .chain((&a.b + &b.b).iter())
                .zip(want.w.iter().chain(want.b.iter()))
                .map(|(g, w)| (*g - *w).signed().unsigned_abs())
                .max()
                .unwrap_or(0);
            assert!(error <= tolerance, "layer {layer}: {what} off by {error}");
        }
    }

    // Run again: both hold the last checkpoint, so both resume there and finish at once.
    let [(o0, r0), (o1, _)] = train_both(&setups).await;
    let again = finished(o0);
    finished(o1);
    assert_eq!(r0.started, vec![Some((total, total as usize))]);
    assert_eq!((r0.steps, again.step), (0, total));
    assert_eq!(revealed(&again), revealed(&s0));
    assert_eq!(again.velocity, s0.velocity);
}
