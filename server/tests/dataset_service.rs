//! The dataset service of both servers over real gRPC with TLS on loopback, driven by the
//! owner's client (`dyad_client::owner`): uploads, resumption after a cut, the owners' walls,
//! and what a server stores (issue 31).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use dyad_client::Server;
use dyad_client::owner::Owner;
use dyad_link::{PartyId, generate_identity};
use dyad_online::{FixedPoint, Z64};
use dyad_proto::datasets::datasets_client::DatasetsClient;
use dyad_proto::datasets::{StatusRequest, UploadChunk};
use dyad_server::DatasetShare;
use dyad_server::dataset_service::DatasetService;
use dyad_server::dataset_store::DatasetStore;
use dyad_server::datasets::shares::split;
use dyad_server::datasets::{Dataset, bundled};
use dyad_server::serving::Clients;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tonic::Code;
use tonic::transport::{Identity, ServerTlsConfig};

const ALICE: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const BOB: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";

/// Both servers' dataset services, with their stores.
struct Services {
    servers: [Server; 2],
    stores: [Arc<DatasetStore>; 2],
    _dirs: [tempfile::TempDir; 2],
}

async fn services() -> Services {
    let mut servers = Vec::new();
    let mut stores = Vec::new();
    let mut dirs = Vec::new();
    for i in 0..2u8 {
        let party = PartyId::from_index(i.into()).expect("0 or 1");
        let identity = generate_identity(party).expect("certificate");
        let dir = tempfile::tempdir().expect("dir");
        let store = Arc::new(DatasetStore::open(dir.path(), i).expect("store"));
        let owners = Clients::parse(&format!("alice {ALICE}\nbob {BOB}")).expect("owners");
        let service = DatasetService::new(store.clone(), owners);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        let addr = listener.local_addr().expect("address");
        let tls = ServerTlsConfig::new()
            .identity(Identity::from_pem(&identity.cert_pem, &identity.key_pem));
        tokio::spawn(
            tonic::transport::Server::builder()
                .tls_config(tls)
                .expect("TLS")
                .add_service(service.into_server())
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        servers.push(Server {
            addr: addr.to_string(),
            cert_pem: identity.cert_pem.into_bytes(),
            name: dyad_link::server_name(party),
            token: None,
        });
        stores.push(store);
        dirs.push(dir);
    }
    Services {
        servers: two(servers),
        stores: two(stores),
        _dirs: two(dirs),
    }
}

impl Services {
    async fn owner(&self, token: &str) -> Owner {
        let servers = self.servers.clone().map(|mut s| {
            s.token = Some(token.into());
            s
        });
        Owner::connect(servers, Duration::from_secs(10))
            .await
            .expect("connects")
    }
}

fn two<T>(v: Vec<T>) -> [T; 2] {
    v.try_into().unwrap_or_else(|_| panic!("two"))
}

/// A few bundled digits split into both servers' shares, as the owner's machine does.
fn shares(train: usize, seed: u64) -> ([DatasetShare; 2], Dataset) {
    let (train, test) = bundled()
        .expect("digits")
        .split(train, 5, seed)
        .expect("split");
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let shares = split(&train, &test, FixedPoint::default(), &mut rng).expect("shares");
    (shares, train)
}

fn bytes(shares: &[DatasetShare; 2]) -> [Bytes; 2] {
    [0, 1].map(|i| Bytes::from(shares[i].to_bytes()))
}

fn quiet() -> dyad_client::owner::Progress {
    Arc::new(|_, _| {})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_server_stores_only_its_share_and_both_rebuild_the_data() {
    let services = services().await;
    let mut alice = services.owner(ALICE).await;
    let (shares, train) = shares(40, 1);
    let stored = alice
        .upload("alice-digits", bytes(&shares), quiet())
        .await
        .expect("uploads");
    assert_eq!((stored[0].train, stored[0].test), (40, 5));
    assert_eq!(stored[0].id, stored[1].id);
    assert_eq!(stored[0].sha256, stored[1].peer_sha256);

    let [s0, s1] = [0, 1].map(|i| {
        services.stores[i]
            .load(&["alice-digits".into()])
            .expect("loads")
            .remove(0)
            .1
    });
    assert_eq!((s0.party, s1.party), (0, 1));
    let fixed = FixedPoint::default();
    let pixels = &s0.train.x + &s1.train.x;
    let want = train.images.mapv(|v| fixed.encode(v).expect("a pixel"));
    assert_eq!(pixels, want, "the two shares are the encoded data");

    // One server's share alone is uniformly random: every bit of its 64-bit words is set in
    // half of them, within 5 standard deviations, though most pixels are 0.
    let values: Vec<Z64> = s1.train.x.iter().copied().collect();
    let n = values.len() as f64;
    for bit in 0..64 {
        let ones = values.iter().filter(|v| (v.0 >> bit) & 1 == 1).count() as f64;
        assert!(
            (ones - n / 2.0).abs() < 5.0 * (n / 4.0).sqrt(),
            "bit {bit}: {ones} of {n} set"
        );
    }
    // The same test sees the data itself: its high bits are never set.
    let ones = want.iter().filter(|v| (v.0 >> 40) & 1 == 1).count() as f64;
    assert!((ones - n / 2.0).abs() > 5.0 * (n / 4.0).sqrt());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_can_neither_list_nor_delete_nor_overwrite_anothers_dataset() {
    let services = services().await;
    let mut alice = services.owner(ALICE).await;
    let mut bob = services.owner(BOB).await;
    let (mine, _) = shares(20, 2);
    alice
        .upload("a", bytes(&mine), quiet())
        .await
        .expect("alice uploads");
    let (others, _) = shares(20, 3);
    bob.upload("b", bytes(&others), quiet())
        .await
        .expect("bob uploads");

    let names = |lists: [Vec<dyad_proto::datasets::DatasetInfo>; 2]| {
        lists.map(|l| l.into_iter().map(|d| d.name).collect::<Vec<_>>())
    };
    assert_eq!(names(alice.list().await.expect("list")), [["a"], ["a"]]);
    assert_eq!(names(bob.list().await.expect("list")), [["b"], ["b"]]);
    let code = |e: dyad_client::ClientError| match e {
        dyad_client::ClientError::Server { status, .. } => status.code(),
        other => panic!("not a server's refusal: {other}"),
    };
    assert_eq!(
        code(bob.delete("a").await.expect_err("not bob's")),
        Code::PermissionDenied
    );
    assert_eq!(
        code(
            bob.upload("a", bytes(&others), quiet())
                .await
                .expect_err("taken")
        ),
        Code::AlreadyExists
    );
    assert_eq!(names(alice.list().await.expect("list")), [["a"], ["a"]]);

    // A token no server knows gets nothing, not even a list.
    let mut stranger = services.owner("c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3").await;
    assert_eq!(
        code(stranger.list().await.expect_err("unknown token")),
        Code::Unauthenticated
    );
    alice.delete("a").await.expect("alice deletes hers");
    assert_eq!(names(alice.list().await.expect("list")), [[""; 0], [""; 0]]);
}

/// An upload cut midway (the stream dropped after some chunks) is invisible, and the owner's
/// next upload of that name resumes from what the server holds, not from the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_upload_is_invisible_and_resumes_where_it_stopped() {
    let services = services().await;
    let (shares, _) = shares(200, 4);
    let files = bytes(&shares);
    let half = files[0].len() / 2;

    // Half of server 0's share, in two chunks, then the stream ends without its last chunk.
    let server = &services.servers[0];
    let channel = dyad_client::channel(0, server, Duration::from_secs(10))
        .await
        .expect("channel");
    let mut raw = DatasetsClient::new(channel);
    let chunk = |offset: usize, end: usize| UploadChunk {
        name: "resumed".into(),
        offset: offset as u64,
        data: files[0].slice(offset..end),
        finish: None,
    };
    let mut request = tonic::Request::new(futures::stream::iter([
        chunk(0, half / 2),
        chunk(half / 2, half),
    ]));
    let bearer = format!("Bearer {ALICE}").parse().expect("ASCII");
    request.metadata_mut().insert("authorization", bearer);
    let cut = raw.upload(request).await.expect_err("no last chunk");
    assert_eq!(cut.code(), Code::Aborted, "{cut:?}");
    assert!(cut.message().contains("resume"), "{}", cut.message());
    assert!(services.stores[0].all().expect("all").is_empty());
    let mut status = tonic::Request::new(StatusRequest {
        name: "resumed".into(),
    });
    let bearer = format!("Bearer {ALICE}").parse().expect("ASCII");
    status.metadata_mut().insert("authorization", bearer);
    let held = raw.status(status).await.expect("status").into_inner();
    assert_eq!(held.received, half as u64);

    let mut alice = services.owner(ALICE).await;
    let first = Arc::new(Mutex::new([None, None]));
    let seen = first.clone();
    let progress: dyad_client::owner::Progress = Arc::new(move |i, bytes| {
        seen.lock().expect("lock")[i].get_or_insert(bytes);
    });
    alice
        .upload("resumed", files.clone(), progress)
        .await
        .expect("resumes");
    let first = *first.lock().expect("lock");
    assert!(
        first[0].expect("server 0 reported") > half as u64,
        "server 0 went on from {half}: {first:?}"
    );
    let loaded = services.stores[0]
        .load(&["resumed".into()])
        .expect("loads")
        .remove(0)
        .1;
    assert_eq!(loaded, shares[0]);
}

/// A share sent to the wrong server (P1's to server 0) is refused and not kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_servers_share_is_refused() {
    let services = services().await;
    let mut alice = services.owner(ALICE).await;
    let (shares, _) = shares(20, 5);
    let [f0, f1] = bytes(&shares);
    let err = alice
        .upload("swapped", [f1, f0], quiet())
        .await
        .expect_err("swapped");
    let text = err.to_string();
    assert!(
        text.contains("InvalidArgument") || text.contains("share and this is"),
        "{text}"
    );
    for store in &services.stores {
        assert!(store.all().expect("all").is_empty());
    }
}
