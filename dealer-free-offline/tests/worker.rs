//! The offline worker pair in process: two workers over a loopback party link fill two real
//! stockpiles (RocksDB behind gRPC, on loopback) to a plan; every item both stockpiles hold
//! pairs up under the same tag and reconstructs to randomness satisfying its relation; a
//! restarted pair goes on numbering where the first stopped.

use std::sync::Arc;
use std::time::Duration;

use dyad_link::loopback_pair;
use dyad_offline::worker::{Progress, Worker, WorkerConfig};
use dyad_offline::{MatrixTripleMethod, Plan};
use dyad_online::randomness::relation;
use dyad_store::{Budget, StoreClient, StoreConfig, serve};
use tokio::sync::watch;

const TOKEN: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// What the pair is asked to keep in stock: one stream of every family the generators make.
const PLAN: &str = "\
matrix-triple/2x16x3 3
elementwise-triple 300
comparison-bits 200
dabit 300
bit-triple 100
";

async fn start_store(party: u8, dir: &std::path::Path) -> String {
    let config = StoreConfig {
        party,
        data_dir: dir.to_owned(),
        token: TOKEN.into(),
        budget: Budget {
            budget_bytes: 1 << 30,
            high_water_bytes: 1 << 29,
        },
        lease_ttl: Duration::from_secs(60),
        drop_retired: false,
        audit: false,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(config, listener, std::future::pending()));
    addr.to_string()
}

async fn client(addr: &str) -> StoreClient {
    StoreClient::connect(addr, TOKEN).await.expect("store")
}

/// Items available per stream at one stockpile.
async fn stock(addr: &str) -> Vec<(String, u64)> {
    let inventory = client(addr).await.inventory().await.expect("inventory");
    let mut streams: Vec<(String, u64)> = inventory
        .streams
        .into_iter()
        .map(|s| (s.stream, s.available))
        .collect();
    streams.sort();
    streams
}

/// Runs a worker pair until both stockpiles hold the plan's targets, then stops it.
async fn stock_to_plan(addrs: &[String; 2], plan: &Plan) {
    let (mut link0, mut link1) = loopback_pair().await.expect("loopback link");
    let config = || WorkerConfig {
        lane: 0,
        pool: Default::default(),
        plan: plan.clone(),
        idle: Duration::from_millis(50),
        matrix_method: MatrixTripleMethod::He,
    };
    let progress = || Arc::new(Progress::default());
    let (w0, w1) = tokio::join!(
        Worker::start(&mut link0, client(&addrs[0]).await, config(), progress()),
        Worker::start(&mut link1, client(&addrs[1]).await, config(), progress()),
    );
    let (mut w0, mut w1) = (w0.expect("P0 starts"), w1.expect("P1 starts"));
    let (stop, stopped) = watch::channel(false);
    let full = async {
        loop {
            let levels = stock(&addrs[0]).await;
            let done = plan.0.iter().all(|(kind, target)| {
                levels
                    .iter()
                    .any(|(s, n)| *s == kind.to_string() && n >= target)
            });
            if done {
                let _ = stop.send(true);
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let (r0, r1, ()) = tokio::time::timeout(Duration::from_secs(300), async {
        tokio::join!(w0.run(stopped.clone()), w1.run(stopped.clone()), full)
    })
    .await
    .expect("the pair stocks the plan in time");
    r0.expect("P0 stops cleanly");
    r1.expect("P1 stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_pair_stocks_both_stockpiles_with_paired_items_that_satisfy_their_relations() {
    let dirs = [(); 2].map(|_| tempfile::tempdir().expect("tempdir"));
    let addrs = [
        start_store(0, dirs[0].path()).await,
        start_store(1, dirs[1].path()).await,
    ];
    let plan = Plan::parse(PLAN).expect("plan");
    stock_to_plan(&addrs, &plan).await;
    let first = stock(&addrs[0]).await;
    // A second run of the pair (a restart) with higher targets aligns and goes on numbering
    // where the first stopped.
    let doubled = Plan(plan.0.iter().map(|(k, t)| (*k, 2 * t)).collect());
    stock_to_plan(&addrs, &doubled).await;
    let (stock0, stock1) = (stock(&addrs[0]).await, stock(&addrs[1]).await);
    assert_eq!(stock0, stock1, "both stockpiles hold the same items");
    for ((stream, before), (_, after)) in first.iter().zip(&stock0) {
        assert!(after > before, "{stream}: the second run added nothing");
    }

    let mut clients = [client(&addrs[0]).await, client(&addrs[1]).await];
    for kind in plan.0.keys() {
        let stream = kind.to_string();
        let available = stock0
            .iter()
            .find(|(s, _)| *s == stream)
            .map(|(_, n)| *n)
            .expect("stocked");
        // P0 takes everything, both runs' items; P1 takes exactly the same tags, as the
        // online runtime does.
        let wait = Duration::from_secs(5);
        let taken0 = clients[0]
            .take(&stream, available, wait)
            .await
            .expect("P0 takes");
        let taken1 = clients[1]
            .take_exact(&stream, &taken0.ranges, wait)
            .await
            .expect("P1 takes the same tags");
        assert_eq!(taken0.ranges, taken1.ranges);
        relation::check(*kind, [&taken0.payload, &taken1.payload])
            .unwrap_or_else(|e| panic!("{stream}: {e}"));
        for (c, t) in clients.iter_mut().zip([taken0, taken1]) {
            c.ack(t.lease).await.expect("ack");
        }
    }
}
