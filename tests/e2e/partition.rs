//! Partitions (issue 13): each server's processes on a host of its own (a network namespace),
//! the stockpiles reached over the hosts' links, and the party link between the two hosts cut
//! for longer than the link's idle timeout mid-training, mid-serving and mid-generation, then
//! restored. Each side must say it lost the peer, resume when it is back, use no item twice
//! and lose none from the books; the work done across the cut must still be right.

use std::time::{Duration, Instant};

use crate::deployment::Deployment;
use crate::serving::{owner_shares, predict, start_servers};
use crate::support::*;
use crate::training::*;

/// Longer than the link's idle timeout (20 s, `dyad-link`), so that both sides find the peer
/// gone instead of riding the cut out on retransmissions. QUIC waits at least three probe
/// timeouts before calling a connection idle, and under the whole suite's load a probe
/// timeout can reach several seconds: 25 s was once ridden out, so the cut lasts 45 s.
const CUT: Duration = Duration::from_secs(45);

/// Takes pair 0's party link down for [`CUT`], then brings it back.
fn cut_for_a_while(d: &Deployment) {
    let network = d.network.as_ref().expect("hosts");
    network.cut(0);
    std::thread::sleep(CUT);
    network.restore(0);
}

fn log(d: &Deployment, name: &str) -> String {
    std::fs::read_to_string(d.path(name)).unwrap_or_default()
}

/// After the cut: the workers said they lost the peer and paired again, they stop on SIGTERM,
/// the books balance at both stockpiles, and what is left pairs up item by item.
fn check_generation_resumed(d: &Deployment, workers: [Running; 2]) {
    // (A worker finds the peer gone at its own idle timeout and dials again on its own
    // schedule, so it may pair again after the jobs have: wait for it.)
    for party in [0, 1] {
        let log = || std::fs::read_to_string(d.worker_log(party, 0)).unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(90);
        while log().matches("; generating").count() < 2 {
            assert!(
                Instant::now() < deadline,
                "worker {party} did not pair again: {}",
                log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        assert!(log().contains("lost the peer"), "worker {party}: {}", log());
    }
    d.stop(workers);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        d.assert_books_balance().await;
        for stream in d.available(0).await.keys() {
            let items = d.drain_and_check(stream).await;
            println!("{stream}: {items} items left, all pair up");
        }
    });
}

#[test]
fn training_and_generation_resume_after_the_party_link_is_cut() {
    let Some(d) = Deployment::on_hosts(1, "the training partition test (e2e partition.rs)") else {
        return;
    };
    let model = prepare(&d);
    let mut plan_args = vec!["--model", s(&model), "--train", TRAIN, "--test", TEST];
    plan_args.extend_from_slice(JOB);
    let workers = d.stock(&plan_args);
    let link = d.link_addr(0);
    let t0 = trainer(&d, 0, &link, &model, JOB, "train0.log");
    let t1 = trainer(&d, 1, &link, &model, JOB, "train1.log");
    let checkpoints = d.path("train-p0/checkpoints");
    let deadline = Instant::now() + Duration::from_secs(600);
    while latest_checkpoint(&checkpoints).is_none_or(|s| s < 2) {
        assert!(Instant::now() < deadline, "no checkpoint at step 2");
        std::thread::sleep(Duration::from_millis(50));
    }
    cut_for_a_while(&d);

    let summary = finish_ok(&d, t0, "train0.log");
    finish_ok(&d, t1, "train1.log");
    for name in ["train0.log", "train1.log"] {
        let log = log(&d, name);
        assert!(log.contains("lost the peer"), "{name}: {log}");
        assert!(log.contains("resuming at step"), "{name}: {log}");
    }
    assert_tracks_the_plaintext_reference(&d, &model, JOB, &summary);
    check_generation_resumed(&d, workers);
}

#[test]
fn serving_and_generation_resume_after_the_party_link_is_cut() {
    let Some(d) = Deployment::on_hosts(1, "the serving partition test (e2e partition.rs)") else {
        return;
    };
    let (model, reference, shares) = owner_shares(&d);
    let workers = d.stock(&["--model", s(&model), "--inferences", "60"]);
    let link = d.link_addr(0);
    let clients = [d.client_addr(0), d.client_addr(1)];
    let common = ["--pair-timeout", "2", "--stock-wait", "60"];
    let servers = start_servers(&d, &shares, &link, &clients, [&common, &common]);
    let addrs = format!("{},{}", clients[0], clients[1]);
    let ask = |count: &str| {
        predict(
            &d,
            &addrs,
            &["--count", count, "--reference", s(&reference)],
        )
    };
    let out = ask("8");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("argmax agreement 8/8"));

    let network = d.network.as_ref().expect("hosts");
    network.cut(0);
    let cut_at = Instant::now();
    // A request while the servers cannot reach each other fails with a reason, in bounded
    // time, and is not answered wrongly.
    let out = ask("1");
    assert!(!out.status.success(), "answered across a cut link");
    println!("during the cut: {}", text(&out.stderr).trim());
    std::thread::sleep(CUT.saturating_sub(cut_at.elapsed()));
    network.restore(0);
    for i in 0..2 {
        wait_for_log(
            &d.path(&format!("serve{i}.log")),
            "the other server is back",
            Duration::from_secs(60),
        );
    }
    let out = ask("8");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("argmax agreement 8/8"));
    for i in 0..2 {
        let log = log(&d, &format!("serve{i}.log"));
        assert!(log.contains("lost the other server"), "server {i}: {log}");
    }
    d.stop(servers);
    check_generation_resumed(&d, workers);
}
