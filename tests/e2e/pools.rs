//! A training job and `dyad serve` on one stockpile pair, each taking from a pool of its own
//! stocked by a worker pair of its own. On one shared stream they broke each other: server 1's
//! stockpile discards the items below those server 0 names, which the other job still needed.

use std::time::Duration;

use crate::deployment::Deployment;
use crate::serving::{owner_shares, predict, start_servers};
use crate::support::*;
use crate::training::*;

#[test]
fn a_training_job_and_serving_share_a_stockpile_pair_through_pools() {
    let d = Deployment::start();
    // Both helpers write `small.model`: keep the training model apart first.
    let train_model = d.path("train.model");
    std::fs::rename(prepare(&d), &train_model).expect("rename");
    let (serve_model, reference, shares) = owner_shares(&d);

    let mut plan_args = vec!["--model", s(&train_model), "--train", TRAIN, "--test", TEST];
    plan_args.extend_from_slice(JOB);
    let train_plan = d.job_plan("train.plan", &plan_args);
    let serve_plan = d.job_plan(
        "serve.plan",
        &["--model", s(&serve_model), "--inferences", "40"],
    );
    // Lanes 0 and 1 only to keep the workers' logs apart: pools are streams of their own.
    let (train_link, serve_link) = (d.link_addr(0), d.link_addr(0));
    let metrics = [0, 1].map(|_| free_tcp_addr().to_string());
    let workers = [
        (0, &train_link, &train_plan, "train"),
        (1, &serve_link, &serve_plan, "serve"),
    ]
    .map(|(lane, link, plan, pool)| {
        [0, 1].map(|party| {
            let mut extra = vec!["--pool", pool];
            if pool == "serve" {
                extra.extend(["--metrics", &metrics[party]]);
            }
            d.worker_with(party, link, lane, plan, &d.certs(), &extra)
        })
    });

    let link = d.link_addr(0);
    let clients = [d.client_addr(0), d.client_addr(1)];
    let options = ["--pool", "serve", "--stock-wait", "60"];
    let servers = start_servers(&d, &shares, &link, &clients, [&options, &options]);
    let link = d.link_addr(0);
    let mut job = JOB.to_vec();
    job.extend(["--pool", "train"]);
    let trainers = [0, 1].map(|party| {
        let log = format!("train{party}.log");
        trainer(&d, party, &link, &train_model, &job, &log)
    });

    // Requests answered while the job trains, from the same stockpiles.
    let addrs = format!("{},{}", clients[0], clients[1]);
    for _ in 0..2 {
        let out = predict(&d, &addrs, &["--count", "8", "--reference", s(&reference)]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("argmax agreement 8/8"));
        std::thread::sleep(Duration::from_secs(1));
    }
    // Each serving worker reports every figure of a stream in one row, labelled by its pool.
    let plan_text = std::fs::read_to_string(&serve_plan).expect("the serving plan");
    let kinds: Vec<&str> = plan_text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for (party, addr) in metrics.iter().enumerate() {
        let page = http_get(addr);
        for kind in &kinds {
            for name in [
                "items_total",
                "bytes_total",
                "seconds_total",
                "stock",
                "target",
            ] {
                let series = format!("dyad_offline_{name}{{pool=\"serve\",kind=\"{kind}\"}}");
                assert!(
                    metric(&page, &series).is_some(),
                    "P{party}: no {series}:\n{page}"
                );
            }
        }
        let rows = page.lines().filter(|l| l.contains("kind=\"")).count();
        assert_eq!(
            rows,
            5 * kinds.len(),
            "P{party}: one row per stream:\n{page}"
        );
    }

    let [t0, t1] = trainers;
    let summary = finish_ok(&d, t0, "train0.log");
    finish_ok(&d, t1, "train1.log");
    assert_tracks_the_plaintext_reference(&d, &train_model, JOB, &summary);

    d.stop(servers);
    for pair in workers {
        d.stop(pair);
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        d.assert_books_balance().await;
        let streams: Vec<String> = d.available(0).await.into_keys().collect();
        for pool in ["train:", "serve:"] {
            assert!(
                streams.iter().any(|s| s.starts_with(pool)),
                "no {pool} streams: {streams:?}"
            );
        }
        assert!(
            streams.iter().all(|s| s.contains(':')),
            "only pooled streams: {streams:?}"
        );
        for stream in &streams {
            d.drain_and_check(stream).await;
        }
    });
}
