//! The serving engine in process: two engines over a loopback party link, with the test
//! fixture for randomness, answer requests sent to both with shares of the plaintext
//! fixed-point logits and class, and refuse what cannot be paired.

mod fixture_source;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dyad_link::{PartyId, loopback_pair};
use dyad_online::model::Network;
use dyad_online::nn::{Backend, Params, PlainFixed, predict};
use dyad_online::protocols::Comparison;
use dyad_online::{FixedPoint, Z64, sharing};
use dyad_server::serving::{Answer, Engine, Model, Output, Refusal, Reply, Requests, ServingEvent};
use fixture_source::FixtureSource;
use ndarray::{Array2, ArrayD, IxDyn};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tokio::sync::{oneshot, watch};

/// The two engines' request queues, a stop switch, and what the engines reported.
struct Pair {
    requests: [Arc<Requests>; 2],
    stop: watch::Sender<bool>,
    batches: Arc<Mutex<Vec<usize>>>,
    runs: Vec<tokio::task::JoinHandle<Result<(), dyad_server::serving::ServeError>>>,
}

impl Pair {
    /// Stops both engines; each must end cleanly.
    async fn stop(self) {
        self.stop.send(true).expect("engines listen");
        for run in self.runs {
            run.await
                .expect("joins")
                .expect("a stop ends serving cleanly");
        }
    }
}

async fn start(network: &Network, shares: [Params<Z64>; 2], pair_timeout: Duration) -> Pair {
    let (link0, link1) = loopback_pair().await.expect("loopback link");
    let (stop, stopped) = watch::channel(false);
    let batches = Arc::new(Mutex::new(Vec::new()));
    let requests = [0, 1].map(|_| Arc::new(Requests::new(pair_timeout)));
    let mut runs = Vec::new();
    for ((party, link), params) in PartyId::BOTH.into_iter().zip([link0, link1]).zip(shares) {
        let batches = batches.clone();
        let engine = Engine {
            party,
            model: Model {
                network: network.clone(),
                fixed: FixedPoint::default(),
                params,
            },
            requests: requests[party.index()].clone(),
            max_batch: 4,
            comparison: Comparison::default(),
            source: FixtureSource(11),
            events: Arc::new(move |event| {
                if let (PartyId::P0, ServingEvent::Batch(size)) = (party, event) {
                    batches.lock().expect("lock").push(size);
                }
            }),
        };
        let stopped = stopped.clone();
        runs.push(tokio::spawn(async move { engine.run(link, stopped).await }));
    }
    Pair {
        requests,
        stop,
        batches,
        runs,
    }
}

async fn answer(reply: oneshot::Receiver<Reply>) -> Reply {
    tokio::time::timeout(Duration::from_secs(60), reply)
        .await
        .expect("answered in time")
        .expect("the engine answers every request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_sent_to_both_servers_get_shares_of_the_reference_answers() {
    let network = Network::by_name("net-a").expect("net-a");
    let fixed = FixedPoint::default();
    let mut plain = PlainFixed::new(fixed);
    let params = Params::initial(&network, 3, fixed)
        .expect("params")
        .import(&plain);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let pair = start(&network, params.split(&mut rng), Duration::from_secs(30)).await;

    // Ten requests, more than a batch, half asking for the class.
    let n = 10;
    let x: ArrayD<Z64> = plain.import(&ArrayD::from_shape_fn(IxDyn(&[n, 1, 28, 28]), |_| {
        rng.random_range(0.0..1.0)
    }));
    let want: Array2<Z64> = predict(&mut plain, &network, &params, x.clone())
        .await
        .expect("reference");
    let [x0, x1] = sharing::split(&x, &mut rng);
    let outputs: Vec<Output> = (0..n)
        .map(|r| [Output::Logits, Output::Class][r % 2])
        .collect();
    let mut replies = Vec::new();
    for (r, output) in outputs.iter().enumerate() {
        let id = format!("request-{r}");
        let input = |x: &ArrayD<Z64>| x.index_axis(ndarray::Axis(0), r).iter().copied().collect();
        replies.push([
            pair.requests[0]
                .submit(id.clone(), input(&x0), *output)
                .expect("queued at server 0"),
            pair.requests[1]
                .submit(id, input(&x1), *output)
                .expect("queued at server 1"),
        ]);
    }
    // Truncation is off by at most a unit per layer, spread by the next layers' weights.
    let tolerance = 1 << 10;
    for (r, [reply0, reply1]) in replies.into_iter().enumerate() {
        let ((a0, _), (a1, _)) = (
            answer(reply0).await.expect("server 0 answers"),
            answer(reply1).await.expect("server 1 answers"),
        );
        let reference = want.row(r);
        match (a0, a1) {
            (Answer::Logits(l0), Answer::Logits(l1)) => {
                for ((v0, v1), w) in l0.iter().zip(&l1).zip(reference) {
                    let error = (*v0 + *v1 - *w).signed().unsigned_abs();
                    assert!(error <= tolerance, "request {r}: logit off by {error}");
                }
            }
            (Answer::Class(c0), Answer::Class(c1)) => {
                let class = (c0 + c1).0 as usize;
                let best = reference.iter().map(|v| v.signed()).max().expect("logits");
                assert!(
                    best - reference[class].signed() <= 2 * tolerance as i64,
                    "request {r}: class {class} is not the reference's best"
                );
            }
            other => panic!("request {r}: answers of different kinds {other:?}"),
        }
    }
    let batches = pair.batches.lock().expect("lock").clone();
    assert_eq!(batches.iter().sum::<usize>(), n);
    assert!(batches.iter().all(|&b| (1..=4).contains(&b)), "{batches:?}");

    pair.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpairable_requests_are_refused_and_serving_goes_on() {
    let network = Network::by_name("net-a").expect("net-a");
    let fixed = FixedPoint::default();
    let params = Params::initial(&network, 3, fixed)
        .expect("params")
        .import(&PlainFixed::new(fixed));
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let pair = start(&network, params.split(&mut rng), Duration::from_millis(300)).await;
    let input = || vec![Z64(0); 784];

    // Only server 0 gets it: it expires there, naming server 1.
    let lonely = pair.requests[0]
        .submit("lonely".into(), input(), Output::Logits)
        .expect("queued");
    match answer(lonely).await {
        Err(Refusal::NotPaired { id, other, .. }) => {
            assert_eq!((id.as_str(), other), ("lonely", "server 1"))
        }
        other => panic!("expected NotPaired, got {other:?}"),
    }
    // Only server 1 gets it: the leader never proposes it, and the follower expires it.
    let unseen = pair.requests[1]
        .submit("unseen".into(), input(), Output::Class)
        .expect("queued");
    assert!(matches!(
        answer(unseen).await,
        Err(Refusal::NotPaired {
            other: "server 0",
            ..
        })
    ));
    // The servers were asked for different outputs: both refuse.
    let mismatched = [Output::Logits, Output::Class].map(|output| {
        let requests = &pair.requests[output as usize];
        requests
            .submit("mixed".into(), input(), output)
            .expect("queued")
    });
    for reply in mismatched {
        assert_eq!(
            answer(reply).await.map(|_| ()),
            Err(Refusal::OutputMismatch("mixed".into()))
        );
    }
    // An id already waiting is refused at once.
    let first = pair.requests[0]
        .submit("twice".into(), input(), Output::Logits)
        .expect("queued");
    assert_eq!(
        pair.requests[0]
            .submit("twice".into(), input(), Output::Logits)
            .map(|_| ()),
        Err(Refusal::Duplicate("twice".into()))
    );
    // And a proper request still gets its answer.
    let second = pair.requests[1]
        .submit("twice".into(), input(), Output::Logits)
        .expect("queued");
    assert!(answer(first).await.is_ok() && answer(second).await.is_ok());

    pair.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engines_with_different_models_refuse_to_serve() {
    let fixed = FixedPoint::default();
    let a = Network::by_name("net-a").expect("net-a");
    let d = Network::by_name("net-d").expect("net-d");
    let plain = PlainFixed::new(fixed);
    let shares = [
        Params::initial(&a, 1, fixed)
            .expect("params")
            .import(&plain),
        Params::initial(&d, 1, fixed)
            .expect("params")
            .import(&plain),
    ];
    // Each engine checks the other's model before anything else; a's network serves both.
    let (link0, link1) = loopback_pair().await.expect("loopback link");
    let (_stop, stopped) = watch::channel(false);
    let runs = PartyId::BOTH
        .into_iter()
        .zip([link0, link1])
        .zip(shares)
        .zip([a, d])
        .map(|(((party, link), params), network)| {
            let engine = Engine {
                party,
                model: Model {
                    network,
                    fixed,
                    params,
                },
                requests: Arc::new(Requests::new(Duration::from_secs(1))),
                max_batch: 1,
                comparison: Comparison::default(),
                source: FixtureSource(1),
                events: Arc::new(|_| {}),
            };
            let stopped = stopped.clone();
            tokio::spawn(async move { engine.run(link, stopped).await })
        })
        .collect::<Vec<_>>();
    for run in runs {
        let err = run.await.expect("joins").expect_err("refused");
        assert!(err.to_string().contains("serves another model"), "{err}");
        assert!(!err.peer_lost());
    }
}

/// How many inputs an agreement test serves: `DYAD_AGREEMENT_INPUTS`, else `default`.
fn agreement_inputs(default: usize) -> usize {
    std::env::var("DYAD_AGREEMENT_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// ResNet-20 as PyTorch exports it (`tests/onnx/make_fixtures.py`: three stages of three
/// residual blocks, 16/32/64 channels, stride-2 stage entries with 1x1 shortcuts, BatchNorm,
/// global average pooling, trained on the bundled digits), imported and served by the two
/// engines: each held-out digit's class (every fifth row from the fifth, which its training
/// left out) is the plaintext fixed-point model's. `DYAD_AGREEMENT_INPUTS` sets how many (8
/// by default; the 1,000 take about 14 minutes on two cores), and at least 99.5% must
/// agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resnet_from_pytorch_serves_the_classes_of_plaintext_fixed_point() {
    let digits = dyad_server::datasets::bundled().expect("the bundled digits");
    let rows: Vec<usize> = (4..digits.len())
        .step_by(5)
        .take(agreement_inputs(8))
        .collect();
    let images = digits.images.select(ndarray::Axis(0), &rows);
    let images = images
        .into_shape_with_order(IxDyn(&[rows.len(), 1, 28, 28]))
        .expect("28x28 digits");
    let labels: Vec<usize> = rows
        .iter()
        .map(|&r| usize::from(digits.labels[r]))
        .collect();
    let bytes = include_bytes!("onnx/resnet20_digits.onnx");
    served_classes_agree(bytes, "resnet20_digits", images, Some(labels)).await;
}

/// The same architecture for 3x32x32 inputs (random weights and BatchNorm statistics), on
/// random images in `[0, 1]` (4 by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resnet_for_colour_images_serves_the_classes_of_plaintext_fixed_point() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let n = agreement_inputs(4);
    let images =
        ArrayD::from_shape_simple_fn(IxDyn(&[n, 3, 32, 32]), || rng.random_range(0.0..1.0));
    let bytes = include_bytes!("onnx/resnet20_rgb.onnx");
    served_classes_agree(bytes, "resnet20_rgb", images, None).await;
}

/// Serves `images` to the ONNX model in `bytes` through both engines and checks that at least
/// 99.5% of the classes are the plaintext fixed-point model's; prints the agreement (and how
/// many are the `labels`).
async fn served_classes_agree(
    bytes: &[u8],
    name: &str,
    images: ArrayD<f64>,
    labels: Option<Vec<usize>>,
) {
    let fixed = FixedPoint::default();
    let (model, _) = dyad_server::onnx::import(bytes, name, fixed).expect("imports");
    let n = images.shape()[0];
    let mut plain = PlainFixed::new(fixed);
    let x = plain.import(&images);
    let want: Array2<Z64> = predict(&mut plain, &model.network, &model.params, x.clone())
        .await
        .expect("reference");
    let best = |row: ndarray::ArrayView1<Z64>| {
        (0..row.len())
            .max_by_key(|&c| row[c].signed())
            .expect("logits")
    };
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let pair = start(
        &model.network,
        model.params.split(&mut rng),
        Duration::from_secs(60),
    )
    .await;
    let [x0, x1] = sharing::split(&x, &mut rng);
    let started = std::time::Instant::now();
    let (mut agree, mut right) = (0, 0);
    // In waves, as clients would send them: a request waits at most the pairing timeout.
    for wave in (0..n).collect::<Vec<_>>().chunks(16) {
        let mut replies = Vec::new();
        for &r in wave {
            let id = format!("input-{r}");
            let input =
                |x: &ArrayD<Z64>| x.index_axis(ndarray::Axis(0), r).iter().copied().collect();
            replies.push([
                pair.requests[0]
                    .submit(id.clone(), input(&x0), Output::Class)
                    .expect("queued at server 0"),
                pair.requests[1]
                    .submit(id, input(&x1), Output::Class)
                    .expect("queued at server 1"),
            ]);
        }
        for (&r, [reply0, reply1]) in wave.iter().zip(replies) {
            let ((a0, _), (a1, _)) = (
                answer(reply0).await.expect("server 0 answers"),
                answer(reply1).await.expect("server 1 answers"),
            );
            let (Answer::Class(c0), Answer::Class(c1)) = (a0, a1) else {
                panic!("input {r}: not a class");
            };
            let class = (c0 + c1).0 as usize;
            agree += usize::from(class == best(want.row(r)));
            right += usize::from(labels.as_ref().is_some_and(|l| l[r] == class));
        }
    }
    let right = match labels {
        Some(_) => format!(", {right} right"),
        None => String::new(),
    };
    println!(
        "{name} served {n} inputs in {:.1} s: {agree} classes as plaintext fixed point's{right}",
        started.elapsed().as_secs_f64()
    );
    assert!(agree * 1000 >= n * 995, "{agree} of {n} agree");
    pair.stop().await;
}
