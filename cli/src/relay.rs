//! `dyad relay`: party 0's one UDP port for every party link (see `dyad_link::relay` for how
//! it works and why it is no party to the link's security).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use dyad_link::Address;
use dyad_link::relay::{MIN_IDLE, Relay, RelayConfig, RelayStats, Route, Routes};

use dyad_server::endpoints::Health;
use dyad_server::endpoints::Render;
use dyad_server::endpoints::prometheus::single;

#[derive(clap::Args)]
pub struct Args {
    /// The UDP address party 1's processes dial (`host:port`; a name is resolved at start).
    #[arg(long, value_name = "HOST:PORT")]
    listen: Address,
    /// A route: `NAME=HOST:PORT`, the process a dialler asking for NAME reaches (its target is
    /// resolved when each flow starts). NAME may hold `{lane}`, which the target may use too:
    /// `offline/{lane}=dyad-worker-{lane}.dyad-worker:7200`. Repeat for every route.
    #[arg(long = "route", value_name = "NAME=HOST:PORT", required = true)]
    routes: Vec<Route>,
    /// The most flows (diallers) at once.
    #[arg(long, default_value_t = 1024)]
    max_flows: usize,
    /// Seconds without a datagram either way after which a flow is closed (more than the
    /// party link's 20 s idle timeout).
    #[arg(long, default_value_t = 60)]
    idle_seconds: u64,
    /// Serve `/healthz` (alive), `/readyz` (bound) and `/metrics` (flows, refusals, bytes) on
    /// this address.
    #[arg(long)]
    health: Option<SocketAddr>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let idle = Duration::from_secs(args.idle_seconds);
    anyhow::ensure!(
        idle >= MIN_IDLE,
        "--idle-seconds must be at least {} (longer than the party link's idle timeout)",
        MIN_IDLE.as_secs()
    );
    anyhow::ensure!(args.max_flows >= 1, "--max-flows must be at least 1");
    let routes = Routes::new(args.routes)?;
    let config = RelayConfig {
        listen: args.listen,
        routes,
        max_flows: args.max_flows,
        idle,
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let health = Health::new(&[("relay", "binding its port")]);
        let relay = Relay::bind(config.clone()).await?;
        let stats = relay.stats();
        let render = move || render(&stats);
        dyad_server::endpoints::endpoints(
            args.health.map(|a| (a, Arc::new(render) as Render)),
            args.health.map(|a| (a, health.clone())),
        )
        .await?;
        let at = relay.local_addr()?;
        health.met("relay", format!("forwarding on udp {at}"));
        eprintln!("relay on udp {at}, routes:");
        for route in config.routes.iter() {
            eprintln!("  {route}");
        }
        let shutdown = async {
            crate::signals::shutdown_signal().await;
            health.stopping();
        };
        relay.run(shutdown).await;
        eprintln!("relay stopped cleanly");
        Ok(())
    })
}

/// The relay's Prometheus text.
fn render(stats: &RelayStats) -> String {
    let get = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed) as f64;
    single(
        "dyad_relay_flows",
        "gauge",
        "Flows open",
        stats.flows.load(Ordering::Relaxed) as f64,
    ) + &single(
        "dyad_relay_flows_opened_total",
        "counter",
        "Flows ever opened",
        get(&stats.opened),
    ) + &single(
        "dyad_relay_refused_total",
        "counter",
        "Route requests refused (unknown route, too many flows, target not resolvable)",
        get(&stats.refused),
    ) + &single(
        "dyad_relay_forwarded_bytes_total",
        "counter",
        "Bytes forwarded from the diallers to the targets",
        get(&stats.bytes_in),
    ) + &single(
        "dyad_relay_returned_bytes_total",
        "counter",
        "Bytes forwarded from the targets back to the diallers",
        get(&stats.bytes_out),
    )
}
