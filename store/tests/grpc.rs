//! The Stockpile gRPC service on a real socket: credentials, waiting, malformed and hostile
//! requests, clean shutdown.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dyad_proto::stockpile as pb;
use dyad_proto::stockpile::stockpile_client::StockpileClient;
use dyad_store::{Budget, StoreConfig, serve};
use dyad_store_client::{StoreClient, StoreClientError};
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use tonic::Code;

const TOKEN: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), dyad_store::ServerError>>,
    _dir: tempfile::TempDir,
}

async fn start() -> Running {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = StoreConfig {
        party: 0,
        data_dir: dir.path().to_owned(),
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
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(config, listener, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task,
        _dir: dir,
    }
}

async fn client(s: &Running) -> StoreClient {
    StoreClient::connect(&s.addr.to_string(), TOKEN)
        .await
        .expect("connects")
}

fn records(count: usize) -> Bytes {
    Bytes::from(vec![0u8; 9 * count])
}

async fn available(c: &mut StoreClient) -> u64 {
    let inv = c.inventory().await.expect("inventory");
    inv.streams.iter().map(|s| s.available).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_without_the_token_are_refused() {
    let s = start().await;
    let mut c = client(&s).await;
    c.put("dabit", 0, 0, records(10)).await.expect("put");

    let url = format!("http://{}", s.addr);
    let mut anonymous = StockpileClient::connect(url.clone())
        .await
        .expect("connects");
    let err = anonymous
        .inventory(pb::InventoryRequest {})
        .await
        .expect_err("no token");
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");

    let wrong = StoreClient::connect(&s.addr.to_string(), &TOKEN.replace('0', "1"))
        .await
        .expect("connects");
    for result in [
        wrong
            .clone()
            .take("dabit", 1, Duration::ZERO)
            .await
            .map(|_| ()),
        wrong
            .clone()
            .put("dabit", 0, 10, records(1))
            .await
            .map(|_| ()),
    ] {
        assert_eq!(
            result.expect_err("wrong token").code(),
            Some(Code::PermissionDenied)
        );
    }
    assert_eq!(available(&mut c).await, 10, "refused calls change nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_take_waits_for_items_then_fails_naming_what_is_missing() {
    let s = start().await;
    let mut c = client(&s).await;
    c.put("dabit", 0, 0, records(5)).await.expect("put");
    let started = Instant::now();
    let err = c
        .take("dabit", 8, Duration::from_millis(300))
        .await
        .expect_err("only 5");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(err.is_exhausted(), "{err}");
    assert!(
        err.message()
            .contains("dabit: asked for 8 items, 5 available"),
        "{}",
        err.message()
    );
    assert_eq!(available(&mut c).await, 5, "never a partial batch");

    // A Put during the wait completes it.
    let mut taker = c.clone();
    let take = tokio::spawn(async move { taker.take("dabit", 8, Duration::from_secs(20)).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.put("dabit", 0, 5, records(5)).await.expect("put");
    let taken = take.await.expect("task").expect("enough now");
    assert_eq!(taken.ranges.iter().map(|r| r.count()).sum::<u64>(), 8);
    c.ack(taken.lease).await.expect("ack");
    assert_eq!(available(&mut c).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_hostile_requests_get_clear_errors_and_change_nothing() {
    let s = start().await;
    let mut c = client(&s).await;
    c.put("comparison-mask", 0, 0, Bytes::from(vec![0u8; 138 * 4]))
        .await
        .expect("put");
    let before = c.inventory().await.expect("inventory");

    let checks: Vec<(Code, Result<(), StoreClientError>)> = vec![
        (
            Code::InvalidArgument,
            c.put("secret-sauce", 0, 0, records(1)).await.map(|_| ()),
        ),
        (
            Code::InvalidArgument,
            c.put("comparison-mask", 0, 4, Bytes::from(vec![0u8; 139]))
                .await
                .map(|_| ()),
        ),
        (
            Code::InvalidArgument,
            c.put("matrix-triple/2x2", 0, 0, records(1))
                .await
                .map(|_| ()),
        ),
        (
            Code::FailedPrecondition,
            c.put("comparison-mask", 0, 9, Bytes::from(vec![0u8; 138]))
                .await
                .map(|_| ()),
        ),
        (
            Code::InvalidArgument,
            c.take("comparison-mask", 0, Duration::ZERO)
                .await
                .map(|_| ()),
        ),
        (
            Code::InvalidArgument,
            c.take("comparison-mask", u64::MAX, Duration::ZERO)
                .await
                .map(|_| ()),
        ),
        (
            Code::InvalidArgument,
            c.take("dabit/9", 1, Duration::ZERO).await.map(|_| ()),
        ),
        (
            Code::InvalidArgument,
            c.take_exact("comparison-mask", &[], Duration::ZERO)
                .await
                .map(|_| ()),
        ),
        (Code::NotFound, c.ack(987_654).await),
    ];
    for (i, (code, result)) in checks.into_iter().enumerate() {
        let err = result.expect_err("refused");
        assert_eq!(err.code(), Some(code), "#{i}: {}", err.message());
        assert!(!err.message().is_empty());
    }

    // A range past the last item number, which no client type can name, straight on the wire.
    let mut raw_client = StockpileClient::connect(format!("http://{}", s.addr))
        .await
        .expect("connects");
    let mut request = tonic::Request::new(pb::TakeExactRequest {
        stream: "comparison-mask".into(),
        ranges: vec![pb::ItemRange {
            lane: 0,
            first: u64::MAX,
            count: 2,
        }],
        wait_ms: 0,
    });
    let bearer = format!("Bearer {TOKEN}").parse().expect("ascii");
    request.metadata_mut().insert("authorization", bearer);
    let err = raw_client
        .take_exact(request)
        .await
        .expect_err("past the end");
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");

    // Garbage on the socket: the connection is dropped, the server keeps serving.
    let mut raw = tokio::net::TcpStream::connect(s.addr)
        .await
        .expect("connects");
    raw.write_all(b"\x00\xffthis is not HTTP/2 at all\r\n\r\n\x07\x07\x07")
        .await
        .expect("writes");
    drop(raw);
    let after = c.inventory().await.expect("still serving");
    assert_eq!(after, before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_shuts_down_cleanly_and_reopens() {
    let mut s = start().await;
    let mut c = client(&s).await;
    c.put("dabit", 0, 0, records(100)).await.expect("put");
    s.stop.take().expect("once").send(()).expect("running");
    (&mut s.task).await.expect("task").expect("clean shutdown");
    // The same data directory opens again with everything in it.
    let budget = Budget {
        budget_bytes: 1 << 30,
        high_water_bytes: 1 << 29,
    };
    let db = dyad_store::db::Db::open(s._dir.path(), 0, budget, Duration::from_secs(60))
        .expect("reopens");
    assert_eq!(db.inventory()[0].available, 100);
}
