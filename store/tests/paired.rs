//! Two stockpiles, each holding one party's halves, and two runtimes pulling from them over a
//! real link: what they take reconstructs to correlated randomness satisfying its relation,
//! a real protocol runs on it, and runtimes that diverge are stopped.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use dyad_link::{PartyId, PartyLink, loopback_pair};
use dyad_online::fp::Fp;
use dyad_online::randomness::fixture::{self, Fixture};
use dyad_online::randomness::items::BITS;
use dyad_online::randomness::*;
use dyad_online::{Config, Party, Z64, protocols, reference, ring, sharing};
use dyad_store::{Budget, StockpileRandomness, StoreClient, StoreConfig, serve};
use ndarray::Array1;

const TOKEN: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

/// A stockpile per party, on loopback.
struct Stores {
    addrs: [SocketAddr; 2],
    _dirs: [tempfile::TempDir; 2],
}

async fn start_stores() -> Stores {
    let mut addrs = Vec::new();
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
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        addrs.push(listener.local_addr().expect("addr"));
        tokio::spawn(serve(config, listener, std::future::pending()));
        dirs.push(dir);
    }
    Stores {
        addrs: [addrs[0], addrs[1]],
        _dirs: dirs
            .try_into()
            .unwrap_or_else(|_| unreachable!("one per party")),
    }
}

/// Stands in for the offline worker pair: generates items with the fixture and puts each
/// party's half into its stockpile under the same tags.
struct Stocker {
    fixtures: [Fixture; 2],
    clients: [StoreClient; 2],
    next: std::collections::HashMap<Kind, u64>,
}

impl Stocker {
    async fn new(stores: &Stores) -> Stocker {
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
            next: Default::default(),
        }
    }

    /// Stocks `n` of every per-element kind, `n·62` mod-67 triples and three matrix triples.
    async fn stock(&mut self, n: usize) {
        let Stocker {
            fixtures: [f0, f1],
            clients,
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
                put(clients, next, $kind, halves, $count as u64).await;
            }};
        }
        both!(Kind::ComparisonMask, n, |f| f.comparison_masks(n));
        both!(Kind::ElementwiseTriple, n, |f| f.elementwise_triples(n));
        both!(Kind::TruncationPair { f: 16 }, n, |f| f
            .truncation_pairs(n, 16));
        both!(Kind::DaBit, n, |f| f.dabits(n));
        both!(Kind::ModpTriple, 62 * n, |f| f.modp_triples(62 * n));
        both!(Kind::ScaledModpTriple, n, |f| f.scaled_modp_triples(n));
        for _ in 0..3 {
            both!(Kind::MatrixTriple { m: 4, n: 5, k: 3 }, 1, |f| f
                .matrix_triple(4, 5, 3));
        }
    }
}

/// Puts each half into its party's stockpile under the same tags.
async fn put<T: Codec>(
    clients: &mut [StoreClient; 2],
    next: &mut std::collections::HashMap<Kind, u64>,
    kind: Kind,
    halves: [Batch<T>; 2],
    count: u64,
) {
    let first = *next.get(&kind).unwrap_or(&0);
    for (client, half) in clients.iter_mut().zip(halves) {
        let payload = Bytes::from(half.items.encode());
        client
            .put(&kind.to_string(), 0, first, payload)
            .await
            .expect("put");
    }
    next.insert(kind, first + count);
}

/// Both parties' runtimes: a link, and a stockpile source each.
async fn runtimes(stores: &Stores) -> ([StockpileRandomness; 2], [PartyLink; 2]) {
    let (mut l0, mut l1) = loopback_pair().await.expect("link");
    let (c0, c1) = tokio::try_join!(l0.channel(), l1.channel()).expect("channels");
    let mut sources = Vec::new();
    for (party, channel) in [(PartyId::P0, c0), (PartyId::P1, c1)] {
        let client = StoreClient::connect(&stores.addrs[party.index()].to_string(), TOKEN)
            .await
            .expect("connects");
        let source = StockpileRandomness::new(party, client, channel, Duration::from_secs(10))
            .await
            .expect("own stockpile");
        sources.push(source);
    }
    (
        sources
            .try_into()
            .unwrap_or_else(|_| unreachable!("one per party")),
        [l0, l1],
    )
}

macro_rules! take_both {
    ($sources:expr, |$s:ident| $call:expr) => {{
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
        (a.items, b.items)
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_halves_reconstruct_to_correlated_randomness() {
    let stores = start_stores().await;
    Stocker::new(&stores).await.stock(300).await;
    let (mut sources, _links) = runtimes(&stores).await;

    let (m0, m1) = take_both!(sources, |s| s.matrix_triple(4, 5, 3));
    let (u, v, z) = (&m0.u + &m1.u, &m0.v + &m1.v, &m0.z + &m1.z);
    assert_eq!(ring::matmul(&u, &v), z);

    for _ in 0..3 {
        let (e0, e1) = take_both!(sources, |s| s.elementwise_triples(50));
        assert_eq!((&e0.u + &e1.u) * (&e0.v + &e1.v), &e0.z + &e1.z);
    }

    let (c0, c1) = take_both!(sources, |s| s.comparison_masks(120));
    for e in 0..120 {
        let r = c0.r[e] + c1.r[e];
        let beta = c0.beta[e] ^ c1.beta[e];
        assert_eq!(c0.beta[e], 0, "P0 never holds beta");
        for j in 0..BITS {
            assert_eq!(
                c0.r_bits[[e, j]] + c1.r_bits[[e, j]],
                Fp::from_bit(r.bit(j as u32))
            );
            assert_eq!(
                c0.beta_r_bits[[e, j]] + c1.beta_r_bits[[e, j]],
                Fp::from_bit(r.bit(j as u32) & beta)
            );
        }
        assert_eq!(c0.alpha[e] ^ c1.alpha[e], Z64::wrap(c0.r[e], c1.r[e]));
    }

    let (t0, t1) = take_both!(sources, |s| s.truncation_pairs(100, 16));
    for e in 0..100 {
        let r = t0.r[e] + t1.r[e];
        assert_eq!(t0.r_msb[e] + t1.r_msb[e], Z64::from_bit(r.msb()));
        assert_eq!(
            t0.r_low[e] + t1.r_low[e],
            Z64((r.0 & (u64::MAX >> 1)) >> 16)
        );
    }

    let (d0, d1) = take_both!(sources, |s| s.dabits(100));
    assert_eq!((&d0.xor ^ &d1.xor).mapv(Z64::from_bit), &d0.ring + &d1.ring);

    let (p0, p1) = take_both!(sources, |s| s.modp_triples(5000));
    for e in 0..5000 {
        assert_eq!((p0.a[e] + p1.a[e]) * (p0.b[e] + p1.b[e]), p0.c[e] + p1.c[e]);
    }

    let (q0, q1) = take_both!(sources, |s| s.scaled_modp_triples(100));
    for e in 0..100 {
        let (a, b, m) = (q0.a[e] + q1.a[e], q0.b[e] + q1.b[e], q0.m[e] + q1.m[e]);
        assert_ne!(m, Fp::ZERO);
        assert_eq!(q0.ma[e] + q1.ma[e], m * a);
        assert_eq!(q0.mb[e] + q1.mb[e], m * b);
        assert_eq!(q0.mab[e] + q1.mab[e], m * a * b);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protocol_runs_on_stockpiled_randomness() {
    let stores = start_stores().await;
    Stocker::new(&stores).await.stock(400).await;
    let (sources, mut links) = runtimes(&stores).await;
    let [s0, s1] = sources;
    let [l0, l1] = &mut links;
    let (mut p0, mut p1) = tokio::try_join!(
        Party::new(l0, s0, Config::default()),
        Party::new(l1, s1, Config::default())
    )
    .expect("parties");
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
    Stocker::new(&stores).await.stock(50).await;
    let (sources, _links) = runtimes(&stores).await;
    let [mut s0, mut s1] = sources;
    // P0 asks for comparison masks where P1 asks for daBits: they would pair unrelated items.
    let (r0, r1) = tokio::join!(s0.comparison_masks(10), s1.dabits(10));
    r0.expect("P0 leads and does not know yet");
    let err = r1.expect_err("P1 must refuse");
    assert!(err.to_string().contains("diverged"), "{err}");
    assert!(err.to_string().contains("comparison-mask"), "{err}");
}
