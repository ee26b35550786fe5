//! Secure training as real processes: two stockpiles, an offline worker pair refilling them,
//! and both servers' `dyad train` jobs, one of them killed and restarted mid-epoch.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::deployment::Deployment;
use crate::support::*;

/// A network small enough to train in seconds (its offline stock is what takes the time).
pub const MODEL: &str = "\
input 1 28 28
conv 3 4 stride=4
relu
flatten
dense 10
relu
";

/// The job both servers run: 8 steps per epoch, 2 epochs, the test set evaluated every 3
/// steps and at the end of each epoch.
pub const JOB: &[&str] = &[
    "--epochs",
    "2",
    "--eval-every",
    "3",
    "--batch",
    "32",
    "--lr-shift",
    "1",
    "--loss",
];
/// [`JOB`] with PyTorch's optimizer options instead of plain SGD: the kill-and-resume test
/// runs it, so the velocities cross a crash in the checkpoints, and the plan, the agreement and
/// the reference all see the same optimizer.
pub fn optimized_job() -> Vec<&'static str> {
    let mut job: Vec<&str> = JOB.to_vec();
    let at = job
        .iter()
        .position(|a| *a == "--lr-shift")
        .expect("JOB sets the rate");
    job.splice(
        at..at + 2,
        [
            "--lr",
            "0.1",
            "--momentum",
            "0.9",
            "--nesterov",
            "--weight-decay",
            "0.001",
            "--schedule",
            "cosine",
            "--warmup",
            "2",
        ],
    );
    job
}
pub const TRAIN: &str = "256";
pub const TEST: &str = "64";

/// A job that trains until stopped (far longer than the soak or the kill sweep).
pub const ENDLESS_JOB: &[&str] = &["--batch", "32", "--lr-shift", "1", "--epochs", "1000000"];

/// The `dyad plan` arguments that stock one epoch of [`ENDLESS_JOB`] on `model`: its worker
/// pair keeps that much in stock and refills it as the job drains it.
pub fn endless_job_plan(model: &Path) -> Vec<&str> {
    let mut args = vec!["--model", s(model), "--train", TRAIN, "--test", TEST];
    args.extend_from_slice(&ENDLESS_JOB[..4]);
    args.extend(["--epochs", "1"]);
    args
}

/// The data owner's shares and the model file, in the deployment directory.
pub fn prepare(d: &Deployment) -> PathBuf {
    let model = d.path("small.model");
    std::fs::write(&model, MODEL).expect("model file");
    let data = d.path("data");
    let out = run(&["share", "--train", TRAIN, "--test", TEST, "--out", s(&data)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    model
}

/// `dyad train` for `party`, logging to `log`, with `job` options.
pub fn trainer(
    d: &Deployment,
    party: usize,
    link: &str,
    model: &Path,
    job: &[&str],
    log: &str,
) -> Running {
    let data = d.path(&format!("data/p{party}.data"));
    let out = d.path(&format!("train-p{party}"));
    let mut args = vec![
        "--timeout",
        "60",
        "--data",
        s(&data),
        "--model",
        s(model),
        "--out",
        s(&out),
    ];
    args.extend_from_slice(job);
    d.server_process("train", party, link, &d.certs(), &args, &d.path(log))
}

/// The latest step checkpointed in `dir`, from the file names `ckpt-<step>-<epochs>.dyad`.
pub fn latest_checkpoint(dir: &Path) -> Option<u64> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_prefix("ckpt-")?.split('-').next()?.parse().ok()
        })
        .max()
}

/// The `(epoch, step, accuracy, loss)` rows of a curve CSV (no loss where it was not revealed:
/// within an epoch).
pub fn curve(path: &Path) -> Vec<(u32, u64, f64, Option<f64>)> {
    let csv = std::fs::read_to_string(path).unwrap_or_else(|_| panic!("{}", path.display()));
    csv.lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (
                c[0].parse().expect("epoch"),
                c[1].parse().expect("step"),
                c[2].parse().expect("accuracy"),
                c[3].parse().ok(),
            )
        })
        .collect()
}

pub fn finish_ok(d: &Deployment, run: Running, log: &str) -> String {
    let out = run.finish();
    let log = std::fs::read_to_string(d.path(log)).unwrap_or_default();
    assert!(out.status.success(), "{log}");
    text(&out.stdout)
}

/// Both servers' jobs (finished) revealed the same curve, evaluated at every step the plan
/// stocked for exactly once, and tracked the plaintext float reference on the same split,
/// weights and batch order.
pub fn assert_tracks_the_plaintext_reference(
    d: &Deployment,
    model: &Path,
    job: &[&str],
    summary: &str,
) {
    // Both servers revealed the same numbers, and training made progress.
    let secure = curve(&d.path("train-p0/curve.csv"));
    assert_eq!(secure, curve(&d.path("train-p1/curve.csv")), "{summary}");
    // Every evaluation the plan stocked for was made, once, resume or not.
    let steps: Vec<u64> = secure.iter().map(|p| p.1).collect();
    assert_eq!(steps, [3, 6, 8, 9, 12, 15, 16], "{secure:?}");
    let losses: Vec<f64> = secure.iter().filter_map(|p| p.3).collect();
    assert_eq!(
        losses.len(),
        2,
        "the loss is revealed at epoch ends: {secure:?}"
    );
    assert!(losses[1] < losses[0], "the loss did not fall: {secure:?}");

    // The plaintext float reference on the same split, weights and batch order.
    let mut plain_args = vec![
        "train-plain",
        "--model",
        s(model),
        "--train",
        TRAIN,
        "--test",
        TEST,
        "--arithmetic",
        "float",
        "--out",
    ];
    let plain_out = d.path("plain");
    plain_args.push(s(&plain_out));
    plain_args.extend_from_slice(job);
    let out = run(&plain_args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let float = curve(&plain_out.join("curve-float.csv"));
    assert_eq!(float.len(), secure.len(), "{float:?}");
    for (secure, float) in secure.iter().zip(&float) {
        assert_eq!(secure.1, float.1, "evaluated at other steps");
        // 64 test examples: allow a few predictions to differ, and little loss drift.
        assert!(
            (secure.2 - float.2).abs() <= 4.0 / 64.0,
            "{secure:?} vs {float:?}"
        );
        match (secure.3, float.3) {
            (Some(s), Some(f)) => assert!((s - f).abs() < 0.05, "{secure:?} vs {float:?}"),
            (None, None) => {}
            _ => panic!("the loss revealed at different steps: {secure:?} vs {float:?}"),
        }
    }
}

#[test]
fn a_training_job_with_momentum_resumes_after_a_killed_server_and_tracks_the_plaintext_reference() {
    let d = Deployment::start();
    let model = prepare(&d);
    // The offline workers stock exactly what the job consumes (and refill what a crash wastes).
    let mut plan_args = vec!["--model", s(&model), "--train", TRAIN, "--test", TEST];
    let job = optimized_job();
    plan_args.extend_from_slice(&job);
    let _workers = d.stock(&plan_args);

    let link = free_udp_addr().to_string();
    let metrics = free_tcp_addr().to_string();
    let mut job0 = job.clone();
    job0.extend(["--metrics", metrics.as_str()]);
    let t0 = trainer(&d, 0, &link, &model, &job0, "train0.log");
    let t1 = trainer(&d, 1, &link, &model, &job, "train1.log");
    // Kill server 1's job mid-epoch 1, once it has checkpointed step 3 or later.
    let checkpoints = d.path("train-p1/checkpoints");
    let deadline = Instant::now() + Duration::from_secs(600);
    while latest_checkpoint(&checkpoints).is_none_or(|s| s < 3) {
        assert!(Instant::now() < deadline, "no checkpoint at step 3");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Server 0's metrics show the steps, their time, the traffic and the stock.
    let page = loop {
        let page = http_get(&metrics);
        // (The stock is polled from the stockpile once a second.)
        if metric(&page, "dyad_train_steps").is_some_and(|s| s >= 3.0)
            && page.contains("dyad_train_stock{stream=")
        {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "no step 3 in the metrics:\n{page}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        metric(&page, "dyad_train_total_steps").is_some_and(|s| s >= 3.0),
        "{page}"
    );
    assert!(
        metric(&page, "dyad_train_step_seconds_count").is_some_and(|n| n >= 3.0),
        "{page}"
    );
    assert!(
        metric(&page, "dyad_train_link_rounds_total").is_some_and(|n| n > 0.0),
        "{page}"
    );
    assert!(page.contains("dyad_train_stock{stream="), "{page}");
    t1.kill();
    let t1 = trainer(&d, 1, &link, &model, &job, "train1-restarted.log");

    let summary0 = finish_ok(&d, t0, "train0.log");
    let summary1 = finish_ok(&d, t1, "train1-restarted.log");
    let log0 = std::fs::read_to_string(d.path("train0.log")).unwrap_or_default();
    let log1 = std::fs::read_to_string(d.path("train1-restarted.log")).unwrap_or_default();
    assert!(log0.contains("lost the peer"), "{log0}");
    for log in [&log0, &log1] {
        assert!(log.contains("resuming at step"), "{log}");
    }
    assert!(summary0.contains("epoch   2: test accuracy"), "{summary0}");

    assert_tracks_the_plaintext_reference(&d, &model, &job, &summary1);

    // Only both shares together give the model.
    let share = |i: usize| d.path(&format!("train-p{i}/model.p{i}.dyad"));
    let revealed = d.path("model.dyad");
    let out = reveal_model(&share(0), &share(1), &revealed);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(revealed.exists());
    let out = reveal_model(&share(1), &share(1), &d.path("wrong.dyad"));
    assert!(
        !out.status.success(),
        "two copies of one share revealed a model"
    );
}

#[test]
fn servers_with_different_jobs_refuse_to_start_and_say_why() {
    let d = Deployment::start();
    let model = prepare(&d);
    let link = free_udp_addr().to_string();
    let t0 = trainer(&d, 0, &link, &model, &["--batch", "32"], "train0.log");
    let t1 = trainer(&d, 1, &link, &model, &["--batch", "64"], "train1.log");
    for (party, run) in [(0, t0), (1, t1)] {
        let out = run.finish();
        let log = std::fs::read_to_string(d.path(&format!("train{party}.log"))).unwrap_or_default();
        assert!(!out.status.success(), "P{party} started: {log}");
        assert!(
            log.contains("refusing to start") && log.contains("batch size"),
            "P{party}: {log}"
        );
    }
}

#[test]
fn training_jobs_waiting_on_a_dry_stockpile_stop_on_sigterm() {
    let d = Deployment::start();
    let model = prepare(&d);
    // No offline workers: the first step waits for randomness that never comes.
    let link = free_udp_addr().to_string();
    let health = [0, 1].map(|_| free_tcp_addr().to_string());
    let mut jobs = [0, 1].map(|i| {
        let job: Vec<&str> = JOB
            .iter()
            .copied()
            .chain(["--health", &health[i]])
            .collect();
        trainer(&d, i, &link, &model, &job, &format!("train{i}.log"))
    });
    for (i, health) in health.iter().enumerate() {
        wait_for_log(
            &d.path(&format!("train{i}.log")),
            "in agreement with the peer",
            Duration::from_secs(60),
        );
        // Running a session (waiting for stock is part of it).
        let ready = wait_for_http(health, "/readyz", "200 OK", Duration::from_secs(30));
        assert!(ready.contains("session: training with the peer"), "{ready}");
    }
    std::thread::sleep(Duration::from_secs(2));
    for job in &jobs {
        job.signal("TERM");
    }
    for (i, job) in jobs.iter_mut().enumerate() {
        let log = || std::fs::read_to_string(d.path(&format!("train{i}.log"))).unwrap_or_default();
        assert!(
            job.exits_within(Duration::from_secs(15)),
            "server {i}'s job ignored SIGTERM while waiting for stock: {}",
            log()
        );
    }
}
