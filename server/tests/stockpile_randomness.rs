//! Two stockpiles, each holding one party's halves, and two runtimes pulling from them over a
//! real link: what they take reconstructs to correlated randomness satisfying its relation,
//! a real protocol runs on it, and runtimes that diverge are stopped. With two stockpiles per
//! party (shards), P0 takes from them in turn and P1 follows from the same shard; runtimes
//! with different numbers of shards are refused.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dyad_link::{Channel, PartyId, PartyLink, loopback_pair};
use dyad_online::{Config, Party, Prime, Z64, protocols, reference, sharing};
use dyad_randomness::*;
use dyad_server::StockpileRandomness;
use dyad_store::{Budget, StoreConfig, serve};
use dyad_store_client::StoreClient;
use dyad_testing::fixture::{self, Fixture};
use ndarray::Array1;

/// The comparison prime these tests stock for (two-byte elements).
const P: Prime = Prime::P40961;

const TOKEN: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

/// A stockpile per party, on loopback.
struct Stores {
    addrs: [SocketAddr; 2],
    configs: [StoreConfig; 2],
    /// Stops a stockpile's server (it closes its database before its task ends).
    running: [Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>; 2],
    _dirs: [tempfile::TempDir; 2],
}

/// Serves `config` on `listener` until told to stop.
fn spawn_store(
    config: StoreConfig,
    listener: tokio::net::TcpListener,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        serve(config, listener, async {
            let _ = stopped.await;
        })
        .await
        .expect("the stockpile serves");
    });
    (stop, task)
}

async fn start_stores() -> Stores {
    let mut addrs = Vec::new();
    let mut configs = Vec::new();
    let mut running = Vec::new();
    let mut dirs = Vec::new();
    for party in 0..2u8 {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = StoreConfig {
            party,
            data_dir: dir.path().to_owned(),
            token: TOKEN.into(),
            budget: Budget {
                budget_bytes: 1 << 32,
                high_water_bytes: 1 << 31,
            },
            lease_ttl: Duration::from_secs(60),
            drop_retired: false,
            audit: false,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        addrs.push(listener.local_addr().expect("addr"));
        running.push(Some(spawn_store(config.clone(), listener)));
        configs.push(config);
        dirs.push(dir);
    }
    Stores {
        addrs: [addrs[0], addrs[1]],
        configs: two(configs),
        running: two(running),
        _dirs: two(dirs),
    }
}

fn two<T>(v: Vec<T>) -> [T; 2] {
    v.try_into()
        .unwrap_or_else(|_| unreachable!("one per party"))
}

impl Stores {
    /// Stops `party`'s stockpile now and starts it again on the same data and address after
    /// `down`, in the background.
    async fn restart(&mut self, party: usize, down: Duration) {
        let (stop, task) = self.running[party].take().expect("running");
        let _ = stop.send(());
        task.await.expect("stopped cleanly");
        let (config, addr) = (self.configs[party].clone(), self.addrs[party]);
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            tokio::time::sleep(down).await;
            let listener = tokio::net::TcpListener::bind(addr).await.expect("rebind");
            let _ = tx.send(spawn_store(config, listener));
        });
        // Kept so that the restarted store stops with the test.
        tokio::spawn(async move {
            if let Ok((stop, task)) = rx.await {
                let _keep = stop;
                let _ = task.await;
            }
        });
    }
}

/// Stands in for the offline worker pair of a lane: generates items with the fixture and puts
/// each party's half into its stockpile under the same tags.
struct Stocker {
    fixtures: [Fixture; 2],
    clients: [StoreClient; 2],
    lane: u32,
    next: std::collections::HashMap<Kind, u64>,
}

impl Stocker {
    async fn new(stores: &Stores, lane: u32) -> Stocker {
        let mut clients = Vec::new();
        for addr in stores.addrs {
            clients.push(
                StoreClient::connect(&addr.to_string(), TOKEN)
                    .await
                    .expect("connects"),
            );
        }
        Stocker {
            fixtures: fixture::pair(11),
            clients: clients
                .try_into()
                .unwrap_or_else(|_| unreachable!("one per party")),
            lane,
            next: Default::default(),
        }
    }

    /// Stocks `n` of every per-element kind, `n·62` mod-67 triples and three matrix triples.
    async fn stock(&mut self, n: usize) {
        let Stocker {
            fixtures: [f0, f1],
            clients,
            lane,
            next,
        } = self;
        macro_rules! both {
            ($kind:expr, $count:expr, |$f:ident| $call:expr) => {{
                let halves = [
                    {
                        let $f = &mut *f0;
                        $call.await.expect("fixture")
                    },
                    {
                        let $f = &mut *f1;
                        $call.await.expect("fixture")
                    },
                ];
                put(clients, *lane, next, $kind, halves, $count as u64).await;
            }};
        }
        both!(Kind::ComparisonMask { p: P }, n, |f| f
            .take::<ComparisonMasks>(P, n));
        both!(Kind::ComparisonBits, n, |f| f.take::<ComparisonBits>((), n));
        both!(Kind::ElementwiseTriple, n, |f| f
            .take::<ElementwiseTriples>((), n));
        both!(Kind::DaBit, n, |f| f.take::<DaBits>((), n));
        both!(Kind::BitTriple, n, |f| f.take::<BitTriples>((), n));
        both!(Kind::ModpTriple { p: P }, 62 * n, |f| f
            .take::<ModpTriples>(P, 62 * n));
        both!(Kind::ScaledModpTriple { p: P }, n, |f| f
            .take::<ScaledModpTriples>(P, n));
        for _ in 0..3 {
            both!(Kind::MatrixTriple { m: 4, n: 5, k: 3 }, 1, |f| f
                .take::<MatrixTriple>(
                (4, 5, 3),
                1
            ));
        }
    }
}

/// Puts each half into its party's stockpile under the same tags, in `lane`.
async fn put<T: Codec>(
    clients: &mut [StoreClient; 2],
    lane: u32,
    next: &mut std::collections::HashMap<Kind, u64>,
    kind: Kind,
    halves: [Batch<T>; 2],
    count: u64,
) {
    let first = *next.get(&kind).unwrap_or(&0);
    for (client, half) in clients.iter_mut().zip(halves) {
        let payload = Bytes::from(half.items.encode());
        client
            .put(&kind.to_string(), lane, first, payload)
            .await
            .expect("put");
    }
    next.insert(kind, first + count);
}

/// Both parties' sources over a link, opened together (they agree on their shards first):
/// party `i`'s shard `k` is its stockpile of the pair `shards[i][k]`.
async fn open_sources(
    shards: [&[&Stores]; 2],
) -> (
    [Result<StockpileRandomness, RandomnessError>; 2],
    [PartyLink; 2],
) {
    let (mut l0, mut l1) = loopback_pair().await.expect("link");
    let (c0, c1) = tokio::try_join!(l0.channel(), l1.channel()).expect("channels");
    let open = |party: PartyId, channel: Channel| async move {
        let mut clients = Vec::new();
        for stores in shards[party.index()] {
            let addr = stores.addrs[party.index()].to_string();
            clients.push(StoreClient::connect(&addr, TOKEN).await.expect("connects"));
        }
        StockpileRandomness::new(party, clients, channel, Duration::from_secs(10)).await
    };
    let (s0, s1) = tokio::join!(open(PartyId::P0, c0), open(PartyId::P1, c1));
    ([s0, s1], [l0, l1])
}

/// Both parties' runtimes: a link, and a stockpile source each.
async fn runtimes(stores: &Stores) -> ([StockpileRandomness; 2], [PartyLink; 2]) {
    let (sources, links) = open_sources([&[stores], &[stores]]).await;
    let sources = sources.map(|s| s.unwrap_or_else(|e| panic!("own stockpile: {e}")));
    (sources, links)
}

/// Takes one batch at both parties and checks its halves satisfy the kind's relation.
macro_rules! check_both {
    ($sources:expr, $kind:expr, |$s:ident| $call:expr) => {{
        let [s0, s1] = &mut $sources;
        let (a, b) = tokio::join!(
            async {
                let $s = s0;
                $call.await
            },
            async {
                let $s = s1;
                $call.await
            }
        );
        let (a, b) = (a.expect("P0 takes"), b.expect("P1 takes"));
        assert_eq!(
            a.tags, b.tags,
            "both parties hold the halves of the same items"
        );
        assert_eq!(a.tags.kind, $kind);
        relation::check($kind, [&a.items.encode(), &b.items.encode()]).expect("relation holds");
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_halves_reconstruct_to_correlated_randomness() {
    let stores = start_stores().await;
    Stocker::new(&stores, 0).await.stock(300).await;
    let (mut sources, _links) = runtimes(&stores).await;
    check_both!(sources, Kind::MatrixTriple { m: 4, n: 5, k: 3 }, |s| {
        s.take::<MatrixTriple>((4, 5, 3), 1)
    });
    for _ in 0..3 {
        check_both!(sources, Kind::ElementwiseTriple, |s| s
            .take::<ElementwiseTriples>((), 50));
    }
    check_both!(sources, Kind::ComparisonMask { p: P }, |s| s
        .take::<ComparisonMasks>(P, 120));
    check_both!(sources, Kind::ComparisonBits, |s| s
        .take::<ComparisonBits>((), 120));
    check_both!(sources, Kind::DaBit, |s| s.take::<DaBits>((), 100));
    check_both!(sources, Kind::BitTriple, |s| s.take::<BitTriples>((), 100));
    check_both!(sources, Kind::ModpTriple { p: P }, |s| s
        .take::<ModpTriples>(P, 5000));
    check_both!(sources, Kind::ScaledModpTriple { p: P }, |s| {
        s.take::<ScaledModpTriples>(P, 100)
    });

    // Small items are taken four requests' worth ahead (200 elementwise triples for the first
    // request of 50); matrix triples only as needed, so none is lost when a job ends.
    let mut client = StoreClient::connect(&stores.addrs[0].to_string(), TOKEN)
        .await
        .expect("connects");
    let inventory = client.inventory().await.expect("inventory");
    let available = |kind: Kind| {
        let stream = kind.to_string();
        let s = inventory.streams.iter().find(|s| s.stream == stream);
        s.expect("stocked").available
    };
    assert_eq!(available(Kind::ElementwiseTriple), 100);
    assert_eq!(available(Kind::MatrixTriple { m: 4, n: 5, k: 3 }), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protocol_runs_on_stockpiled_randomness() {
    let stores = start_stores().await;
    Stocker::new(&stores, 0).await.stock(400).await;
    let (sources, mut links) = runtimes(&stores).await;
    let [s0, s1] = sources;
    let [l0, l1] = &mut links;
    let config = Config {
        prime: P,
        ..Config::default()
    };
    let (mut p0, mut p1) =
        tokio::try_join!(Party::new(l0, s0, config), Party::new(l1, s1, config)).expect("parties");
    let fixed = dyad_online::FixedPoint::default();
    let a: Array1<Z64> = (0..100)
        .map(|i| fixed.encode(f64::from(i) - 50.0).expect("ok"))
        .collect();
    let [a0, a1] = sharing::split(&a, &mut rand::rng());
    for _ in 0..3 {
        let (r0, r1) = tokio::join!(protocols::relu(&mut p0, &a0), protocols::relu(&mut p1, &a1));
        let (r0, r1) = (r0.expect("P0"), r1.expect("P1"));
        assert_eq!(&r0.y + &r1.y, a.mapv(reference::relu));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtimes_whose_jobs_diverge_are_stopped() {
    let stores = start_stores().await;
    Stocker::new(&stores, 0).await.stock(50).await;
    let (sources, _links) = runtimes(&stores).await;
    let [mut s0, mut s1] = sources;
    // P0 asks for comparison masks where P1 asks for daBits: they would pair unrelated items.
    let (r0, r1) = tokio::join!(s0.take::<ComparisonMasks>(P, 10), s1.take::<DaBits>((), 10));
    r0.expect("P0 leads and does not know yet");
    let err = r1.expect_err("P1 must refuse");
    assert!(err.to_string().contains("diverged"), "{err}");
    assert!(err.to_string().contains("comparison-mask"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtimes_ride_out_a_stockpile_restart() {
    let mut stores = start_stores().await;
    Stocker::new(&stores, 0).await.stock(100).await;
    let (mut sources, _links) = runtimes(&stores).await;
    check_both!(sources, Kind::DaBit, |s| s.take::<DaBits>((), 10));
    // P0's stockpile goes away for a while: the runtimes wait for it (they would have failed
    // at once before), then take the same items at both parties as ever.
    stores.restart(0, Duration::from_millis(700)).await;
    check_both!(sources, Kind::BitTriple, |s| s.take::<BitTriples>((), 10));
    // And P1's.
    stores.restart(1, Duration::from_millis(700)).await;
    check_both!(sources, Kind::ElementwiseTriple, |s| s
        .take::<ElementwiseTriples>((), 10));
}

/// Takes `n` daBits at both parties; checks they hold the halves of the same items, which
/// satisfy the relation, and returns their lanes.
async fn dabits_at_both(sources: &mut [StockpileRandomness; 2], n: usize) -> Vec<u32> {
    let [s0, s1] = sources;
    let (a, b) = tokio::join!(s0.take::<DaBits>((), n), s1.take::<DaBits>((), n));
    let (a, b) = (a.expect("P0 takes"), b.expect("P1 takes"));
    assert_eq!(a.tags, b.tags, "both parties hold halves of the same items");
    relation::check(Kind::DaBit, [&a.items.encode(), &b.items.encode()]).expect("relation holds");
    a.tags.ranges.iter().map(|r| r.lane).collect()
}

/// Items of `stream` handed out (taken or still leased) by each party's stockpile of `stores`.
async fn handed_out(stores: &Stores, stream: &str) -> [u64; 2] {
    let mut counts = [0; 2];
    for (count, addr) in counts.iter_mut().zip(stores.addrs) {
        let mut client = StoreClient::connect(&addr.to_string(), TOKEN)
            .await
            .expect("connects");
        let inventory = client.inventory().await.expect("inventory");
        *count = inventory
            .streams
            .iter()
            .find(|s| s.stream == stream)
            .map_or(0, |s| s.taken + s.in_flight);
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtimes_take_from_every_shard_in_turn() {
    // Two stockpiles per party: lane 0 on shard 0 with 20 daBits, lane 1 on shard 1 with 100.
    let shards = [start_stores().await, start_stores().await];
    Stocker::new(&shards[0], 0).await.stock(20).await;
    Stocker::new(&shards[1], 1).await.stock(100).await;
    let (sources, _links) = open_sources([&[&shards[0], &shards[1]]; 2]).await;
    let mut sources = sources.map(|s| {
        s.unwrap_or_else(|e| panic!("own stockpiles: {e}"))
            .with_prefetch(1)
    });
    let mut lanes = Vec::new();
    for _ in 0..4 {
        lanes.extend(dabits_at_both(&mut sources, 10).await);
    }
    assert_eq!(lanes, [0, 1, 0, 1], "P0 takes from the shards in turn");
    // Shard 0 is dry: the next take falls through to shard 1 at once, not after a wait.
    let started = Instant::now();
    lanes = dabits_at_both(&mut sources, 10).await;
    assert_eq!(lanes, [1], "a dry shard passes the turn on");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    // Each party's shards handed out the same items: P1 followed P0 shard by shard.
    assert_eq!(handed_out(&shards[0], "dabit").await, [20, 20]);
    assert_eq!(handed_out(&shards[1], "dabit").await, [30, 30]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtimes_with_different_shard_counts_are_refused() {
    let shards = [start_stores().await, start_stores().await];
    let (sources, _links) = open_sources([&[&shards[0], &shards[1]], &[&shards[0]]]).await;
    for (source, (mine, theirs)) in sources.into_iter().zip([(2, 1), (1, 2)]) {
        let Err(e) = source else {
            panic!("a source with {mine} shards opened against the peer's {theirs}")
        };
        let says =
            format!("stockpile shards: this server has `{mine}`, the peer `{theirs}` (--store");
        assert!(e.to_string().contains(&says), "{e}");
    }
}
