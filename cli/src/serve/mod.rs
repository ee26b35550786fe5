//! `dyad serve`: one server's side of the secure-inference endpoint.
//!
//! Clients send each server its share of an input over TLS (gRPC `Inference`, see
//! `proto/dyad/inference/v1/inference.proto`); the two servers evaluate the model on the shares
//! with the party link and this server's stockpile, and each answers with its share of the
//! result. A request costs no randomness until both servers have it, so one that reaches only
//! one server simply expires.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use dyad_proto::inference::ModelInfo;
use dyad_proto::inference::inference_server::InferenceServer;
use tonic::transport::{Identity, Server, ServerTlsConfig};

use dyad_server::Stockpile;
use dyad_server::serving::{
    Access, Clients, Engine, Model, Quota, Refusal, Requests, ServeMetrics, Service, ServingEvent,
};

use crate::comparison_args::ComparisonArgs;
use crate::link_args::LinkArgs;
use crate::store_args::StoreArgs;
use dyad_server::endpoints::Health;
use dyad_server::model_file::{Holder, ModelFile};

/// Requests' worth of randomness taken from the stockpile at a time: each take is a store
/// round trip at P0, an announcement and another at P1, on a request's critical path (what is
/// left when a session ends is discarded, as the banks' unused rows are).
const SERVING_PREFETCH: u64 = 32;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    link: LinkArgs,
    #[command(flatten)]
    store: StoreArgs,
    /// This server's share of the model (`model.p<i>.dyad` from `dyad train` or `dyad import`).
    #[arg(long)]
    model: PathBuf,
    /// Where clients connect (gRPC over TLS).
    #[arg(long)]
    clients: SocketAddr,
    /// The TLS certificate clients see (default: this party's `p<i>.cert.pem` in `--certs`;
    /// clients then trust that file and the name `dyad-p<i>`).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Its private key (default: `p<i>.key.pem` in `--certs`).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The most requests evaluated together.
    #[arg(long, default_value_t = 16)]
    max_batch: usize,
    /// Seconds a request may wait for the other server to receive it too.
    #[arg(long, default_value_t = 5)]
    pair_timeout: u64,
    /// Seconds an evaluation waits for a dry stockpile before its requests fail.
    #[arg(long, default_value_t = 2)]
    stock_wait: u64,
    #[command(flatten)]
    comparison: ComparisonArgs,
    /// Only clients in this file may call: lines of `name token` (`#` comments; tokens of at
    /// least 32 characters, e.g. `openssl rand -hex 32`). Clients send `authorization: Bearer
    /// <token>`; others get UNAUTHENTICATED. Each server checks its own list. Without it, any
    /// client that can connect may call.
    #[arg(long, value_name = "FILE")]
    client_tokens: Option<PathBuf>,
    /// At most this many requests per minute per client (by name with `--client-tokens`,
    /// else by address), in bursts of up to as many; more get RESOURCE_EXHAUSTED before they
    /// cost any randomness.
    #[arg(long, value_name = "REQUESTS")]
    quota: Option<u32>,
    /// Serve Prometheus metrics on this address: request latency and outcomes, batch sizes,
    /// the link's bytes and rounds, the stock of each stream.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Serve `/healthz` (alive) and `/readyz` (paired with the other server and accepting
    /// clients) on this address; it may be the `--metrics` address, which then serves all
    /// three.
    #[arg(long)]
    health: Option<SocketAddr>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let party = args.link.party();
    let i = party.index();
    let share = ModelFile::read(&args.model)?;
    ensure!(
        share.holder == Holder::Party(i as u8),
        "{} is not server {i}'s model share ({:?})",
        args.model.display(),
        share.holder
    );
    ensure!(args.max_batch >= 1, "--max-batch must be at least 1");
    let (cert, key) = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        _ => (
            args.link.certs.join(format!("p{i}.cert.pem")),
            args.link.certs.join(format!("p{i}.key.pem")),
        ),
    };
    let read =
        |p: &PathBuf| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    let identity = Identity::from_pem(read(&cert)?, read(&key)?);
    let input = share.network.input;
    let info = ModelInfo {
        name: share.network.name.clone(),
        channels: input.channels as u32,
        height: input.height as u32,
        width: input.width as u32,
        classes: share.network.classes() as u32,
        fractional_bits: share.fixed.f,
        party: i as u32,
        max_batch: args.max_batch as u32,
    };
    let pair_timeout = Duration::from_secs(args.pair_timeout);
    let requests = Arc::new(Requests::new(pair_timeout));
    let metrics = Arc::new(ServeMetrics::default());
    let clients = match &args.client_tokens {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let clients = Clients::parse(&text)
                .with_context(|| format!("{} is not a client list", path.display()))?;
            ensure!(!clients.is_empty(), "{} lists no client", path.display());
            Some(clients)
        }
        None => None,
    };
    ensure!(
        args.quota != Some(0),
        "--quota must be at least 1 request per minute"
    );
    let access = Access {
        clients,
        quota: args.quota.map(Quota::new),
    };
    let service = Service {
        info,
        requests: requests.clone(),
        metrics: metrics.clone(),
        access: Arc::new(access),
        deadline: pair_timeout + Duration::from_secs(args.stock_wait) + Duration::from_secs(30),
    };
    let (addresses, token) = args.store.addresses_and_token()?;
    let health = Health::new(&[
        ("clients", "not accepting clients yet"),
        ("peer", "not paired with the other server yet"),
    ]);
    let events = {
        let (metrics, health) = (metrics.clone(), health.clone());
        move |event: ServingEvent| match event {
            ServingEvent::Paired(meter) => {
                health.met("peer", "paired with the other server");
                metrics.session(meter)
            }
            ServingEvent::Batch(size) => metrics.batch(size),
            ServingEvent::PeerLost(why) => {
                let waiting = format!("lost the other server ({why}); waiting for it");
                health.unmet("peer", waiting);
                eprintln!("lost the other server ({why}); waiting for it to come back")
            }
            ServingEvent::PeerBack => {
                health.met("peer", "paired with the other server");
                eprintln!("the other server is back; serving again")
            }
        }
    };
    let engine = Engine {
        party,
        model: Model {
            network: share.network,
            fixed: share.fixed,
            params: share.params,
        },
        requests,
        max_batch: args.max_batch,
        comparison: args.comparison.comparison(),
        source: Stockpile {
            addresses,
            token,
            wait: Duration::from_secs(args.stock_wait),
            prefetch: SERVING_PREFETCH,
            pool: args.store.pool.clone(),
        },
        events: Arc::new(events),
    };

    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut stop = crate::signals::stop_flag();
        health.stop_with(stop.clone());
        let m = metrics.clone();
        dyad_server::endpoints::job_endpoints(
            args.metrics,
            Arc::new(move || m.render()),
            &metrics.stock,
            &engine.source,
            args.health.map(|a| (a, health.clone())),
        )
        .await?;
        let listener = tokio::net::TcpListener::bind(args.clients)
            .await
            .with_context(|| format!("cannot listen for clients on {}", args.clients))?;
        let shutdown = {
            let mut stop = stop.clone();
            async move {
                let _ = stop.wait_for(|s| *s).await;
            }
        };
        let grpc = Server::builder()
            .tls_config(ServerTlsConfig::new().identity(identity))
            .context("the TLS configuration")?
            .add_service(InferenceServer::new(service))
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                shutdown,
            );
        let grpc = tokio::spawn(grpc);
        health.met("clients", format!("accepting clients on {}", args.clients));
        let who = match &args.client_tokens {
            Some(path) => format!("the clients listed in {}", path.display()),
            None => "any client that can connect (no --client-tokens)".into(),
        };
        let limit = args
            .quota
            .map_or(String::new(), |q| format!(", {q} requests per minute each"));
        eprintln!(
            "server {i}: serving {} on {} (TLS) to {who}{limit}; connecting to the other server",
            engine.model.network.name, args.clients
        );
        let link = tokio::select! {
            link = args.link.connect("serve") => link?,
            _ = stop.changed() => {
                eprintln!("stopped before the other server connected");
                return Ok(());
            }
        };
        eprintln!(
            "paired with the other server at {}; serving",
            link.peer_addr()
        );
        let served = engine.run(link, stop.clone()).await;
        engine.requests.fail_all(&Refusal::ShuttingDown);
        let _ = grpc.await;
        served?;
        eprintln!("server {i} stopped cleanly");
        Ok(())
    })
}
