//! The offline worker pair in process: two workers over a loopback party link fill two real
//! stockpiles (RocksDB behind gRPC, on loopback) to a plan; every item both stockpiles hold
//! pairs up under the same tag and reconstructs to randomness satisfying its relation; a
//! restarted pair goes on numbering where the first stopped. P0 puts a batch only after P1
//! stored its half, so P0's stockpile never holds an item P1's lacks, whichever side fails
//! between the two Puts (issue 26).

use std::sync::Arc;
use std::time::Duration;

use dyad_link::{PartyLink, loopback_pair};
use dyad_offline::MatrixTripleMethod;
use dyad_offline::worker::{Progress, Worker, WorkerConfig, WorkerError};
use dyad_randomness::Kind;
use dyad_randomness::Plan;
use dyad_randomness::relation;
use dyad_store::{Budget, StoreConfig, serve};
use dyad_store_client::StoreClient;
use dyad_vocabulary::{Pool, Stream};
use tokio::sync::{oneshot, watch};

const TOKEN: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// What the pair is asked to keep in stock: one stream of every family the generators make.
const PLAN: &str = "\
matrix-triple/2x16x3 3
elementwise-triple 300
comparison-bits 200
dabit 300
bit-triple 100
";

/// A stockpile's disk budget with room for every test here.
const ROOMY: u64 = 1 << 30;

/// A budget below any batch but under a high-water mark far above it: the stockpile reports
/// room yet refuses every Put as full, as one that another lane filled between P0's decision
/// and the Put.
const REFUSES_EVERY_PUT: u64 = 1;

/// A stockpile served on loopback until dropped (or stopped, to restart it on its directory).
struct Store {
    addr: String,
    shutdown: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<Result<(), dyad_store::ServerError>>,
}

impl Store {
    /// P`party`'s stockpile in `dir` with a disk budget of `budget_bytes`.
    async fn start(party: u8, dir: &std::path::Path, budget_bytes: u64) -> Store {
        let config = StoreConfig {
            party,
            data_dir: dir.to_owned(),
            token: TOKEN.into(),
            budget: Budget {
                budget_bytes,
                high_water_bytes: 1 << 29,
            },
            lease_ttl: Duration::from_secs(60),
            drop_retired: false,
            audit: false,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(serve(config, listener, async {
            let _ = stopped.await;
        }));
        Store {
            addr,
            shutdown: Some(shutdown),
            served,
        }
    }

    /// Stops serving and closes the database, so that its directory can be opened again.
    async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        (&mut self.served)
            .await
            .expect("the stockpile task")
            .expect("the stockpile stops cleanly");
    }
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

/// Items of `stream` one stockpile has discarded.
async fn discarded(addr: &str, stream: &str) -> u64 {
    let inventory = client(addr).await.inventory().await.expect("inventory");
    inventory
        .streams
        .iter()
        .find(|s| s.stream == stream)
        .map_or(0, |s| s.discarded)
}

/// Lane 0's `next` of `stream` at one stockpile: every item below it was put there.
async fn lane_next(addr: &str, stream: &str) -> u64 {
    let status = client(addr).await.lane_status(stream, 0).await;
    status.expect("lane status").next
}

/// The stockpile's name of `kind`'s stream in `pool`.
fn name(pool: &Pool, kind: Kind) -> String {
    Stream::new(pool, kind).to_string()
}

/// Checks that P0's stockpile holds no item P1's lacks: read P0's lane first, so that a Put
/// landing between the two reads can only raise P1's figure.
async fn assert_p0_holds_nothing_p1_lacks(addrs: &[String; 2], plan: &Plan, pool: &Pool) {
    for kind in plan.0.keys() {
        let stream = name(pool, *kind);
        let p0 = lane_next(&addrs[0], &stream).await;
        let p1 = lane_next(&addrs[1], &stream).await;
        assert!(
            p0 <= p1,
            "{stream}: P0's stockpile holds items up to {p0}, P1's only up to {p1}"
        );
    }
}

/// A worker pair on lane 0, paired (hello, alignment) and ready to run, with its link and
/// its progress.
async fn start_pair(
    addrs: &[String; 2],
    plan: &Plan,
    pool: &Pool,
) -> [(Worker, PartyLink, Arc<Progress>); 2] {
    let (mut link0, mut link1) = loopback_pair().await.expect("loopback link");
    let config = || WorkerConfig {
        lane: 0,
        shards: 1,
        pool: pool.clone(),
        plan: plan.clone(),
        idle: Duration::from_millis(50),
        matrix_method: MatrixTripleMethod::He,
    };
    let [p0, p1] = [(); 2].map(|()| Arc::new(Progress::default()));
    let (w0, w1) = tokio::join!(
        Worker::start(&mut link0, client(&addrs[0]).await, config(), p0.clone()),
        Worker::start(&mut link1, client(&addrs[1]).await, config(), p1.clone()),
    );
    [
        (w0.expect("P0 starts"), link0, p0),
        (w1.expect("P1 starts"), link1, p1),
    ]
}

/// Runs a worker pair until both stockpiles hold the plan's targets, then stops it; all the
/// while, P0's stockpile holds nothing P1's lacks. Returns the workers' progress.
async fn stock_to_plan(addrs: &[String; 2], plan: &Plan, pool: &Pool) -> [Arc<Progress>; 2] {
    let [(mut w0, _link0, p0), (mut w1, _link1, p1)] = start_pair(addrs, plan, pool).await;
    let (stop, stopped) = watch::channel(false);
    let full = async {
        loop {
            assert_p0_holds_nothing_p1_lacks(addrs, plan, pool).await;
            let levels = stock(&addrs[0]).await;
            let done = plan.0.iter().all(|(kind, target)| {
                levels
                    .iter()
                    .any(|(s, n)| *s == name(pool, *kind) && n >= target)
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
    [p0, p1]
}

/// Takes every item of the plan's streams as the online runtimes do (P0 the lowest available,
/// P1 exactly the same tags) and checks that the halves fit together.
async fn drain_and_check(addrs: &[String; 2], plan: &Plan, pool: &Pool) {
    let stock0 = stock(&addrs[0]).await;
    let mut clients = [client(&addrs[0]).await, client(&addrs[1]).await];
    for kind in plan.0.keys() {
        let stream = name(pool, *kind);
        let available = stock0
            .iter()
            .find(|(s, _)| *s == stream)
            .map(|(_, n)| *n)
            .expect("stocked");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_pair_stocks_both_stockpiles_with_paired_items_that_satisfy_their_relations() {
    let dirs = [(); 2].map(|_| tempfile::tempdir().expect("tempdir"));
    let stores = [
        Store::start(0, dirs[0].path(), ROOMY).await,
        Store::start(1, dirs[1].path(), ROOMY).await,
    ];
    let addrs = stores.each_ref().map(|s| s.addr.clone());
    let plan = Plan::parse(PLAN).expect("plan");
    stock_to_plan(&addrs, &plan, &Pool::default()).await;
    let first = stock(&addrs[0]).await;
    // A second run of the pair (a restart) with higher targets aligns and goes on numbering
    // where the first stopped.
    let doubled = Plan(plan.0.iter().map(|(k, t)| (*k, 2 * t)).collect());
    stock_to_plan(&addrs, &doubled, &Pool::default()).await;
    let (stock0, stock1) = (stock(&addrs[0]).await, stock(&addrs[1]).await);
    assert_eq!(stock0, stock1, "both stockpiles hold the same items");
    for ((stream, before), (_, after)) in first.iter().zip(&stock0) {
        assert!(after > before, "{stream}: the second run added nothing");
    }
    // Both runs' items pair up.
    drain_and_check(&addrs, &plan, &Pool::default()).await;
}

/// The one stream of the crash tests below: one batch of 300 daBits.
const DABITS: &str = "dabit 300\n";

/// P0 fails between P1's Put and its own: its stockpile refuses every Put, and P0 is killed
/// (its round dropped with its link) as soon as P1's stockpile holds the batch. The batch is
/// then at P1 only; the next pairing, with room at P0, discards it there, both go on after it,
/// and every item both hold pairs up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_p1_stored_before_p0_failed_is_discarded_at_p1_when_the_pair_realigns() {
    let dirs = [(); 2].map(|_| tempfile::tempdir().expect("tempdir"));
    let p0 = Store::start(0, dirs[0].path(), REFUSES_EVERY_PUT).await;
    let p1 = Store::start(1, dirs[1].path(), ROOMY).await;
    let addrs = [p0.addr.clone(), p1.addr.clone()];
    let plan = Plan::parse(DABITS).expect("plan");
    let [(mut w0, link0, _), (mut w1, _link1, _)] =
        start_pair(&addrs, &plan, &Pool::default()).await;
    let (stop, stopped) = watch::channel(false);
    let p0_stopped = stopped.clone();
    let p1_holds_it = async {
        while lane_next(&addrs[1], "dabit").await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let p0_dies = async move {
        tokio::select! {
            ended = w0.run(p0_stopped) => panic!("P0 ended by itself: {ended:?}"),
            () = p1_holds_it => {}
        }
        drop((w0, link0));
        // P1 waits for P0's next word: stop it (it may see the link go first).
        let _ = stop.send(true);
    };
    let ((), p1_ended) = tokio::time::timeout(Duration::from_secs(300), async {
        tokio::join!(p0_dies, w1.run(stopped))
    })
    .await
    .expect("P1 stores a batch in time");
    if let Err(e) = p1_ended {
        assert!(
            e.peer_lost(),
            "P1 ends only by the stop or the lost link: {e}"
        );
    }
    assert_eq!(lane_next(&addrs[0], "dabit").await, 0, "P0 stored nothing");
    assert_eq!(
        lane_next(&addrs[1], "dabit").await,
        300,
        "P1 stored the batch"
    );

    // P0's stockpile comes back with room: the pair aligns (P1 discards the orphan) and goes on.
    p0.stop().await;
    let p0 = Store::start(0, dirs[0].path(), ROOMY).await;
    let addrs = [p0.addr.clone(), p1.addr.clone()];
    stock_to_plan(&addrs, &plan, &Pool::default()).await;
    assert_eq!(
        discarded(&addrs[1], "dabit").await,
        300,
        "P1 discarded the orphan"
    );
    assert_eq!(discarded(&addrs[0], "dabit").await, 0);
    for addr in &addrs {
        assert_eq!(lane_next(addr, "dabit").await, 600, "both went on after it");
    }
    assert_eq!(stock(&addrs[0]).await, stock(&addrs[1]).await);
    drain_and_check(&addrs, &plan, &Pool::default()).await;
}

/// P1's stockpile refuses P1's half of a batch (its lane was moved on behind the pair's back,
/// so the batch does not start where the lane continues): P0 must not put its own. When both
/// put at once, P0's stockpile kept a batch P1's never would, and a job stalled on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p0_does_not_put_a_batch_p1_s_stockpile_refused() {
    let dirs = [(); 2].map(|_| tempfile::tempdir().expect("tempdir"));
    let stores = [
        Store::start(0, dirs[0].path(), ROOMY).await,
        Store::start(1, dirs[1].path(), ROOMY).await,
    ];
    let addrs = stores.each_ref().map(|s| s.addr.clone());
    let plan = Plan::parse(DABITS).expect("plan");
    let [(mut w0, _link0, _), (mut w1, link1, _)] =
        start_pair(&addrs, &plan, &Pool::default()).await;
    let moved = client(&addrs[1]).await.align("dabit", 0, 0, 1).await;
    assert_eq!(moved.expect("align").next, 1);
    let (stop, stopped) = watch::channel(false);
    let p1_stopped = stopped.clone();
    let p1_fails = async move {
        let ended = w1.run(p1_stopped).await;
        drop((w1, link1));
        let _ = stop.send(true);
        ended
    };
    let (p0_ended, p1_ended) = tokio::time::timeout(Duration::from_secs(300), async {
        tokio::join!(w0.run(stopped), p1_fails)
    })
    .await
    .expect("P1's stockpile refuses in time");
    assert!(
        matches!(p1_ended, Err(WorkerError::Store(_))),
        "P1's stockpile refused the batch: {p1_ended:?}"
    );
    if let Err(e) = p0_ended {
        assert!(
            e.peer_lost(),
            "P0 ends only by the stop or the lost link: {e}"
        );
    }
    assert_eq!(lane_next(&addrs[0], "dabit").await, 0, "P0 put nothing");

    // The next pairing aligns (P0 skips item 0, which P1 skipped) and stocks paired items.
    stock_to_plan(&addrs, &plan, &Pool::default()).await;
    assert_eq!(stock(&addrs[0]).await, stock(&addrs[1]).await);
    drain_and_check(&addrs, &plan, &Pool::default()).await;
}

/// A pooled worker pair's metrics, at both parties: every figure of a stream (items, bytes,
/// seconds, stock, target) in one row labelled by pool and kind. Before, a pooled stream's
/// stock and target sat under its pooled name and its items and bytes under its bare kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_worker_reports_each_stream_in_one_row_labelled_by_pool_and_kind() {
    let dirs = [(); 2].map(|_| tempfile::tempdir().expect("tempdir"));
    let stores = [
        Store::start(0, dirs[0].path(), ROOMY).await,
        Store::start(1, dirs[1].path(), ROOMY).await,
    ];
    let addrs = stores.each_ref().map(|s| s.addr.clone());
    let plan = Plan::parse("dabit 300\ncomparison-bits 200\n").expect("plan");
    let pool: Pool = "serve".parse().expect("a pool");
    let progress = stock_to_plan(&addrs, &plan, &pool).await;
    for (party, progress) in progress.iter().enumerate() {
        let page = progress.prometheus();
        let rows: Vec<&str> = page.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            rows.len(),
            5 * plan.0.len(),
            "P{party}: one row per metric and stream:\n{page}"
        );
        for (kind, target) in &plan.0 {
            let value = |metric: &str| -> f64 {
                let series = format!("{metric}{{pool=\"serve\",kind=\"{kind}\"}} ");
                rows.iter()
                    .find_map(|r| r.strip_prefix(series.as_str())?.parse().ok())
                    .unwrap_or_else(|| panic!("P{party}: no {series}in\n{page}"))
            };
            assert!(
                value("dyad_offline_items_total") >= *target as f64,
                "P{party}\n{page}"
            );
            assert!(value("dyad_offline_bytes_total") > 0.0, "P{party}\n{page}");
            assert!(
                value("dyad_offline_seconds_total") > 0.0,
                "P{party}\n{page}"
            );
            assert!(value("dyad_offline_stock") > 0.0, "P{party}\n{page}");
            assert_eq!(
                value("dyad_offline_target"),
                *target as f64,
                "P{party}\n{page}"
            );
        }
    }
    drain_and_check(&addrs, &plan, &pool).await;
}
