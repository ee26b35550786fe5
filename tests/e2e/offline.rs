//! Offline worker pairs as real processes feeding real stockpiles.

use std::time::{Duration, Instant};

use crate::deployment::Deployment;
use crate::support::*;

const PLAN: &str = "\
comparison-mask        3000
dabit                  20000
elementwise-triple     5000
matrix-triple/4x5x3    3
modp-triple            40000
modp-triple/p40961     20000
scaled-modp-triple     2000
";

/// A plan's streams and their targets (its comment lines left out).
pub fn targets(plan: &str) -> Vec<(&str, u64)> {
    plan.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?, w.next()?.parse().ok()?))
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The lines a worker prints at pairing for its RLWE settings (issue 26): one per setting the
/// plan uses, each key and ciphertext modulus within the HE Standard's 128-bit table for its
/// degree, and the flooding budget stated per key.
fn assert_rlwe_settings_inside_the_he_standard(log: &str, expected: &[&str]) {
    let field = |line: &str, name: &str| -> f64 {
        let at = line.find(&format!(" {name}=")).expect(name) + name.len() + 2;
        let value = line[at..].split_whitespace().next().expect(name);
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} in {line}"))
    };
    for setting in expected {
        let prefix = format!("rlwe setting {setting}: ");
        let line = log
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no line for {setting}: {log}"));
        let bound = match field(line, "N") as usize {
            4096 => 109.0,
            8192 => 218.0,
            n => panic!("N = {n} outside the settings in use: {line}"),
        };
        for modulus in ["log2Q(key)", "log2Q(ct)"] {
            let log2_q = field(line, modulus);
            assert!(log2_q <= bound, "{modulus} = {log2_q} > {bound}: {line}");
        }
        assert!(line.contains("budget=2^-40 per key"), "{line}");
        println!("{line}");
    }
}

#[test]
fn a_worker_pair_stocks_both_stockpiles_with_matching_halves_and_stops_cleanly() {
    let rt = runtime();
    let d = Deployment::start();
    let plan = d.plan("plan", PLAN);
    let link = free_udp_addr().to_string();
    let metrics = free_tcp_addr().to_string();
    let w0 = d.worker_with(0, &link, 0, &plan, &d.certs(), &["--metrics", &metrics]);
    let w1 = d.worker(1, &link, 0, &plan, &d.certs());
    d.wait_paired(0);
    rt.block_on(d.wait_for(&targets(PLAN), Duration::from_secs(240)));
    // Progress shows in the log and on the metrics endpoint.
    let log = std::fs::read_to_string(d.worker_log(0, 0)).unwrap_or_default();
    assert!(log.contains("items/s") && log.contains("MB/s"), "{log}");
    let page = http_get(&metrics);
    assert!(
        page.contains("dyad_offline_items_total{pool=\"\",kind=\"comparison-mask\"}"),
        "{page}"
    );
    w1.signal("TERM");
    for (party, out) in [(1, w1.finish()), (0, w0.finish())] {
        let log = std::fs::read_to_string(d.worker_log(party, 0)).unwrap_or_default();
        assert!(out.status.success(), "P{party}: {log}");
        assert!(log.contains("stopped cleanly"), "P{party}: {log}");
        assert_rlwe_settings_inside_the_he_standard(&log, &["matrix", "simd-40961"]);
    }
    rt.block_on(async {
        for (stream, target) in targets(PLAN) {
            let n = d.drain_and_check(stream).await;
            assert!(n >= target, "{stream}: {n} of {target}");
        }
    });
}

#[test]
fn a_worker_whose_peer_was_killed_mid_batch_pairs_again_with_its_restart() {
    let rt = runtime();
    let d = Deployment::start();
    let plan_text =
        "comparison-mask 40000\nmodp-triple 600000\ndabit 2000000\nmatrix-triple/16x40x16 4\n";
    let plan = d.plan("plan", plan_text);
    let link = free_udp_addr().to_string();
    let mut workers = [0, 1].map(|party| d.worker(party, &link, 0, &plan, &d.certs()));
    for (round, victim) in [(0, 1), (1, 0), (2, 1)] {
        // Let it make progress, then kill one side in the middle of whatever it does and
        // start it again: the survivor (the same process throughout) takes it back.
        std::thread::sleep(Duration::from_millis(2500 + 700 * round));
        let survivor = 1 - victim;
        let survivor_log = d.worker_log(survivor, 0);
        let pairings = |log: &std::path::Path| {
            std::fs::read_to_string(log)
                .unwrap_or_default()
                .matches("; generating")
                .count()
        };
        let before = pairings(&survivor_log);
        let restarted = d.worker(victim, &link, 0, &plan, &d.certs());
        std::mem::replace(&mut workers[victim], restarted).kill();
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        while pairings(&survivor_log) <= before {
            let log = std::fs::read_to_string(&survivor_log).unwrap_or_default();
            assert!(
                std::time::Instant::now() < deadline,
                "round {round}: the survivor did not pair again: {log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(&survivor_log).unwrap_or_default();
        assert!(log.contains("lost the peer"), "round {round}: {log}");
    }
    let [w0, w1] = workers;
    // On to the end, then every item must pair up.
    rt.block_on(d.wait_for(&targets(plan_text), Duration::from_secs(300)));
    w0.signal("TERM");
    for (party, out) in [(0, w0.finish()), (1, w1.finish())] {
        let log = std::fs::read_to_string(d.worker_log(party, 0)).unwrap_or_default();
        assert!(out.status.success(), "P{party}: {log}");
    }
    rt.block_on(async {
        for (stream, _) in targets(plan_text) {
            d.drain_and_check(stream).await;
        }
    });
}

#[test]
fn workers_refuse_to_pair_with_another_plan_or_another_certificate() {
    let d = Deployment::start();
    let link = free_udp_addr().to_string();
    let mine = d.plan("mine", "dabit 1000\nmodp-triple 1000\n");
    let theirs = d.plan("theirs", "dabit 1000\nmodp-triple 2000\n");
    let w0 = d.worker(0, &link, 0, &mine, &d.certs());
    let w1 = d.worker(1, &link, 0, &theirs, &d.certs());
    for (party, out) in [(0, w0.finish()), (1, w1.finish())] {
        assert!(!out.status.success());
        let log = std::fs::read_to_string(d.worker_log(party, 0)).unwrap_or_default();
        assert!(log.contains("plan modp-triple: this server has"), "{log}");
    }

    // An impostor P1 with its own certificate.
    let impostor = d.path("impostor");
    let out = run(&[
        "certs",
        "--party",
        "1",
        "--out",
        impostor.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success());
    std::fs::copy(d.certs().join("p0.cert.pem"), impostor.join("p0.cert.pem")).expect("copy");
    let link = free_udp_addr().to_string();
    let w0 = d.worker(0, &link, 0, &mine, &d.certs());
    let w1 = d.worker(1, &link, 0, &mine, &impostor);
    for (party, out) in [(0, w0.finish()), (1, w1.finish())] {
        assert!(!out.status.success());
        let log = std::fs::read_to_string(d.worker_log(party, 0)).unwrap_or_default();
        assert!(log.contains("pinned certificate"), "{log}");
    }
}

/// Two worker pairs, lanes 0 and 1, feeding the same two stockpiles: both lanes contribute,
/// every item pairs up across the stockpiles (tags are unique per lane), and the aggregate rate
/// is printed.
fn two_pairs_feed_the_same_stockpiles(d: &Deployment) {
    let rt = runtime();
    // Enough batches that the second pair joins before the first has made them all.
    let plan_text = "comparison-mask 60000\nmodp-triple 2000000\n";
    let plan = d.plan("plan", plan_text);
    let (link_a, link_b) = (d.link_addr(0), d.link_addr(1));
    let pairs = [(0, &link_a), (1, &link_b)]
        .map(|(lane, link)| [0, 1].map(|party| d.worker(party, link, lane, &plan, &d.certs())));
    d.wait_paired(0);
    d.wait_paired(1);
    // The rate from both pairs working to the plan met (the stock made before counts too, so
    // it errs high by what lane 0 made while lane 1 paired).
    let started = Instant::now();
    rt.block_on(d.wait_for(&targets(plan_text), Duration::from_secs(300)));
    let elapsed = started.elapsed().as_secs_f64();
    for [w0, w1] in pairs {
        w0.signal("TERM");
        assert!(w0.finish().status.success());
        assert!(w1.finish().status.success());
    }
    rt.block_on(async {
        let mut c0 = d.client(0).await;
        let inventory = c0.inventory().await.expect("inventory");
        let bytes: u64 = inventory
            .streams
            .iter()
            .map(|s| s.put * u64::from(s.item_bytes))
            .sum();
        for (stream, _) in targets(plan_text) {
            let mut per_lane = Vec::new();
            for lane in [0, 1] {
                let status = c0.lane_status(stream, lane).await.expect("status");
                assert!(status.next > 0, "lane {lane} produced no {stream}");
                per_lane.push(status.next);
            }
            let total: u64 = per_lane.iter().sum();
            println!(
                "{stream}: lanes made {per_lane:?}, {:.0} items/s together",
                total as f64 / elapsed
            );
        }
        println!(
            "both lanes: {:.1} MB/s into each stockpile over {elapsed:.1} s",
            bytes as f64 / 1e6 / elapsed
        );
        for (stream, _) in targets(plan_text) {
            d.drain_and_check(stream).await;
        }
    });
}

#[test]
fn two_worker_pairs_on_different_lanes_feed_the_same_stockpiles() {
    two_pairs_feed_the_same_stockpiles(&Deployment::start());
}

#[test]
fn two_worker_pairs_on_hosts_of_their_own_feed_the_same_stockpiles_over_the_hosts_links() {
    // Four hosts: lane 0's pair, lane 1's pair; each reaches its party's stockpile over its
    // host's link.
    let Some(d) = Deployment::on_hosts(2, "the scale-out test (e2e offline.rs)") else {
        return;
    };
    two_pairs_feed_the_same_stockpiles(&d);
}

#[test]
fn a_worker_pair_pauses_at_the_high_water_mark_instead_of_failing() {
    let rt = runtime();
    // A 4 MiB budget with the high-water mark at half of it; the plan wants far more.
    let d = Deployment::start_with(&["--budget-gb", "0.00390625", "--high-water", "0.5"]);
    let plan = d.plan("plan", "dabit 100000000\n");
    let link = free_udp_addr().to_string();
    let w0 = d.worker(0, &link, 0, &plan, &d.certs());
    let w1 = d.worker(1, &link, 0, &plan, &d.certs());
    d.wait_paired(0);
    std::thread::sleep(Duration::from_secs(4));
    rt.block_on(async {
        for party in [0, 1] {
            let inventory = d.client(party).await.inventory().await.expect("inventory");
            // Filled until not one more 9-byte daBit record fits below the mark.
            let headroom = inventory
                .high_water_bytes
                .saturating_sub(inventory.stored_bytes);
            assert!(
                headroom < 9,
                "P{party} filled up to the mark ({headroom} bytes short)"
            );
            assert!(
                inventory.stored_bytes <= inventory.budget_bytes,
                "P{party} stayed within budget"
            );
        }
    });
    // Both workers are still there, waiting; they stop cleanly.
    w0.signal("TERM");
    for (party, out) in [(0, w0.finish()), (1, w1.finish())] {
        let log = std::fs::read_to_string(d.worker_log(party, 0)).unwrap_or_default();
        assert!(out.status.success(), "P{party}: {log}");
    }
}

#[test]
fn workers_stop_on_sigterm_while_their_stockpiles_are_gone() {
    let d = Deployment::start();
    // More than the pair makes in the test's time: it is mid-round or mid-retry when stopped.
    let plan = d.plan(
        "plan",
        "comparison-mask 10000000\nmodp-triple/p40961 100000000\n",
    );
    let link = free_udp_addr().to_string();
    let mut w0 = d.worker(0, &link, 0, &plan, &d.certs());
    let mut w1 = d.worker(1, &link, 0, &plan, &d.certs());
    d.wait_paired(0);
    wait_for_log(&d.worker_log(0, 0), "items/s", Duration::from_secs(120));
    d.kill_stores();
    // Let a Put fail and the retry wait begin at either worker (first retry after 100 ms, then
    // longer: `dyad_store_client::Retry`; the other waits for it). A worker between rounds when the stores die fails its
    // next inventory instead and ends on its own; that is a stop too.
    let deadline = Instant::now() + Duration::from_secs(60);
    let logs = || [0, 1].map(|p| std::fs::read_to_string(d.worker_log(p, 0)).unwrap_or_default());
    while !logs().iter().any(|l| l.contains("trying again in"))
        && !w0.exits_within(Duration::from_millis(50))
        && !w1.exits_within(Duration::from_millis(50))
    {
        assert!(
            Instant::now() < deadline,
            "neither worker retried nor ended: {:?}",
            logs()
        );
    }
    w0.signal_if_running("TERM");
    w1.signal_if_running("TERM");
    // Before, both ignored SIGTERM for as long as the stockpiles stayed away; a generous
    // bound only tells "stops" from "hangs".
    for (party, w) in [(0, &mut w0), (1, &mut w1)] {
        let log = || std::fs::read_to_string(d.worker_log(party, 0)).unwrap_or_default();
        assert!(
            w.exits_within(Duration::from_secs(30)),
            "P{party} ignored SIGTERM: {}",
            log()
        );
    }
}
