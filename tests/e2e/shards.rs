//! A party's streams over two stockpiles (shards, issue 27) as real processes: worker pairs on
//! lanes 0 and 1 each fill their lane's shard (lane L on shard L mod 2), and a Network-A
//! training job takes from both shards of each party.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use dyad_store_client::StoreClient;

use crate::deployment::Deployment;
use crate::offline::targets;
use crate::support::*;
use crate::training::{TEST, TRAIN, finish_ok, prepare, trainer};

/// Network-A for one epoch of two steps (batch 128 on [`TRAIN`] examples), evaluated at its
/// end (the model is given as `net-a` to [`trainer`]).
const JOB: &[&str] = &["--batch", "128", "--epochs", "1"];

/// Items of each stream `client`'s stockpile has handed out: taken, leased or discarded.
async fn handed_out(client: &mut StoreClient) -> BTreeMap<String, u64> {
    let inventory = client.inventory().await.expect("inventory");
    inventory
        .streams
        .into_iter()
        .map(|s| (s.stream, s.taken + s.in_flight + s.discarded))
        .collect()
}

/// Items taken from the stockpile at `addr`, summed over its streams, as `dyad inventory`
/// prints them; checks it is `party`'s.
fn taken_per_inventory(d: &Deployment, party: usize, addr: &str) -> u64 {
    let token = s(&d.tokens[party]);
    let out = run(&["inventory", "--store", addr, "--token-file", token]);
    let table = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        table.starts_with(&format!("P{party} stockpile at {addr}")),
        "{table}"
    );
    // Rows: stream, bytes, available, MiB, put, taken, discarded, in flight.
    table
        .lines()
        .skip(2)
        .take_while(|row| !row.starts_with("stored "))
        .map(|row| {
            let taken = row.split_whitespace().nth(5);
            taken.and_then(|t| t.parse::<u64>().ok()).expect(row)
        })
        .sum()
}

#[test]
fn a_training_job_takes_from_both_shards_of_each_party() {
    let d = Deployment::start_sharded(2, &["--audit"]);
    prepare(&d);
    let mut plan_args = vec!["--model", "net-a", "--train", TRAIN, "--test", TEST];
    plan_args.extend_from_slice(JOB);
    let plan = d.job_plan("plan", &plan_args);
    let plan_text = std::fs::read_to_string(&plan).expect("the plan");
    let targets = targets(&plan_text);
    // A worker pair per lane, each stocking the whole job into its lane's shard.
    let workers = [0, 1].map(|lane| {
        let link = d.link_addr(0);
        [0, 1].map(|party| d.worker(party, &link, lane, &plan, &d.certs()))
    });
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // Both shards full before the job starts, so that every Take finds both able to serve.
    runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(900);
        for party in [0, 1] {
            for addr in d.shard_addrs(party) {
                let mut client = d.client_of(party, &addr).await;
                loop {
                    let inventory = client.inventory().await.expect("inventory");
                    let available: BTreeMap<String, u64> = inventory
                        .streams
                        .into_iter()
                        .map(|s| (s.stream, s.available))
                        .collect();
                    let stocked = targets
                        .iter()
                        .all(|(stream, target)| available.get(*stream) >= Some(target));
                    if stocked {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "P{party}'s shard {addr} not stocked: {available:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    });

    let link = d.link_addr(0);
    let [t0, t1] = [0, 1].map(|party| {
        let log = format!("train{party}.log");
        trainer(&d, party, &link, Path::new("net-a"), JOB, &log)
    });
    let summary = finish_ok(&d, t0, "train0.log");
    finish_ok(&d, t1, "train1.log");
    assert!(summary.contains("epoch   1: test accuracy"), "{summary}");
    d.stop(workers.into_iter().flatten());

    // Both shards of each party served the job.
    for party in [0, 1] {
        for addr in d.shard_addrs(party) {
            let taken = taken_per_inventory(&d, party, &addr);
            assert!(taken > 0, "nothing taken from P{party}'s shard {addr}");
        }
    }
    runtime.block_on(async {
        let shards = [0, 1].map(|party| d.shard_addrs(party));
        for (shard, lane) in [(0, 0u32), (1, 1u32)] {
            let mut clients = Vec::new();
            for party in [0, 1] {
                clients.push(d.client_of(party, &shards[party][shard]).await);
            }
            // A shard holds its own lane's items and none of the other lane's.
            for client in &mut clients {
                for (stream, _) in &targets {
                    let own = client.lane_status(stream, lane).await.expect("status");
                    let other = client.lane_status(stream, 1 - lane).await.expect("status");
                    assert!(
                        own.next > 0,
                        "shard {shard} holds no {stream} of lane {lane}"
                    );
                    assert_eq!(
                        other.next,
                        0,
                        "shard {shard} holds {stream} of lane {}",
                        1 - lane
                    );
                }
            }
            // P1 took from each shard exactly what P0 took from its shard of that number.
            let p0 = handed_out(&mut clients[0]).await;
            let p1 = handed_out(&mut clients[1]).await;
            assert_eq!(
                p0, p1,
                "shard {shard}: P0 and P1 handed out different items"
            );
        }
    });
    // No item left any shard twice, and every item is accounted for.
    d.stop_stores();
    for party in [0, 1] {
        for data in [format!("store{party}"), format!("store{party}-1")] {
            let data = d.path(&data);
            let out = run(&["audit", "--party", &party.to_string(), "--data", s(&data)]);
            assert!(
                out.status.success(),
                "{}: {}{}",
                data.display(),
                text(&out.stdout),
                text(&out.stderr)
            );
        }
    }
}
