//! `dyad store`, `dyad inventory` and `dyad audit`: run a stockpile, look into one, and
//! check a stopped one's ledger.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::Context;
use dyad_link::Address;
use dyad_store::db::Db;
use dyad_store::usage::UsageWindow;
use dyad_store::{Budget, StoreConfig};
use dyad_store_client::StoreClient;
use dyad_store_client::token::{read_or_create_token, read_token};

use dyad_server::endpoints::Health;
use dyad_server::endpoints::Render;

#[derive(clap::Args)]
pub struct Args {
    /// Whose stockpile this is: 0 or 1. A data directory belongs to one party for good.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
    party: u8,
    /// The RocksDB data directory (created if missing).
    #[arg(long)]
    data: PathBuf,
    /// Address to serve gRPC on (`host:port`; a name is resolved at start). Serve on loopback
    /// or a private interface: only this server's own processes should reach it.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7100")]
    listen: Address,
    /// The token clients must present. Default: `<data>/token`, created on first start. A
    /// party's shards (several stockpiles, see `--store` of `dyad offline`) share one: give
    /// each the same file.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Disk budget in GiB: Puts beyond it are refused.
    #[arg(long, default_value_t = 8.0)]
    budget_gb: f64,
    /// Fraction of the budget above which offline workers are told to pause.
    #[arg(long, default_value_t = 0.9)]
    high_water: f64,
    /// Seconds a Take's items wait for acknowledgement before counting as discarded.
    #[arg(long, default_value_t = 60)]
    lease_seconds: u64,
    /// Delete the records of streams whose kind this version does not know (left by an
    /// upgrade that retired the kind, as truncation pairs were) or whose records it lays out
    /// differently (matrix triples before 2026-12-07); the store sets them aside and names
    /// them at every start.
    #[arg(long)]
    drop_retired: bool,
    /// Keep a ledger of every item handed out, discarded or skipped, for `dyad audit`. It grows
    /// by a small record per Take and stays on once started; it must start with the stockpile.
    #[arg(long)]
    audit: bool,
    /// Serve Prometheus metrics on this address: per stream (labels `pool` and `kind`) the
    /// available items, items put and taken, the rate of use and the seconds of stock at that
    /// rate, and the least seconds of stock of the streams in use
    /// (`dyad_store_stock_seconds_min`, what the offline workers scale on).
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Serve `/healthz` (alive) and `/readyz` (open and serving) on this address; it may be
    /// the `--metrics` address, which then serves all three.
    #[arg(long)]
    health: Option<SocketAddr>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create {}", args.data.display()))?;
    let token_file = args.token_file.unwrap_or_else(|| args.data.join("token"));
    let token = read_or_create_token(&token_file)?;
    anyhow::ensure!(
        args.budget_gb > 0.0 && (0.0..=1.0).contains(&args.high_water),
        "--budget-gb must be positive and --high-water between 0 and 1"
    );
    let budget_bytes = (args.budget_gb * (1u64 << 30) as f64) as u64;
    let config = StoreConfig {
        party: args.party,
        data_dir: args.data.clone(),
        token,
        budget: Budget {
            budget_bytes,
            high_water_bytes: (budget_bytes as f64 * args.high_water) as u64,
        },
        lease_ttl: Duration::from_secs(args.lease_seconds.max(1)),
        drop_retired: args.drop_retired,
        audit: args.audit,
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let health = Health::new(&[("stockpile", "opening the stockpile")]);
        let listen = args.listen.resolve().await?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        // The endpoints first, so that a probe during a long open hears why it is not ready;
        // the metrics are empty until the stockpile is open.
        let usage = Arc::new(OnceLock::<Arc<Mutex<UsageWindow>>>::new());
        let render = {
            let usage = usage.clone();
            move || {
                let window = usage
                    .get()
                    .and_then(|u| u.lock().ok().map(|u| u.prometheus()));
                window.unwrap_or_default()
            }
        };
        dyad_server::endpoints::endpoints(
            args.metrics.map(|a| (a, Arc::new(render) as Render)),
            args.health.map(|a| (a, health.clone())),
        )
        .await?;
        let opened = dyad_store::open(config).await.map_err(anyhow::Error::msg)?;
        let _ = usage.set(opened.usage());
        let local = listener.local_addr()?;
        println!(
            "P{} stockpile in {} serving on {local} (token in {})",
            args.party,
            args.data.display(),
            token_file.display()
        );
        health.met("stockpile", format!("open and serving on {local}"));
        let shutdown = async {
            crate::signals::shutdown_signal().await;
            health.stopping();
        };
        opened
            .serve(listener, shutdown)
            .await
            .map_err(anyhow::Error::msg)?;
        println!("stockpile closed cleanly");
        Ok(())
    })
}

#[derive(clap::Args)]
pub struct InventoryArgs {
    /// The stockpile's address (one stockpile: of a party's shards, ask each in turn).
    #[arg(long)]
    store: String,
    /// The stockpile's token file.
    #[arg(long)]
    token_file: PathBuf,
}

pub fn inventory(args: InventoryArgs) -> anyhow::Result<()> {
    let token = read_token(&args.token_file)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let reply = runtime.block_on(async {
        let mut client = StoreClient::connect(&args.store, &token)
            .await
            .map_err(anyhow::Error::msg)?;
        client
            .inventory()
            .await
            .map_err(|s| anyhow::anyhow!("{}", s.message()))
    })?;
    println!("P{} stockpile at {}", reply.party, args.store);
    println!(
        "{:<28} {:>6} {:>12} {:>10} {:>12} {:>12} {:>10} {:>9}",
        "stream", "bytes", "available", "MiB", "put", "taken", "discarded", "in flight"
    );
    for s in &reply.streams {
        println!(
            "{:<28} {:>6} {:>12} {:>10.1} {:>12} {:>12} {:>10} {:>9}",
            s.stream,
            s.item_bytes,
            s.available,
            s.bytes as f64 / (1 << 20) as f64,
            s.put,
            s.taken,
            s.discarded,
            s.in_flight
        );
    }
    println!(
        "stored {:.1} MiB of a {:.1} MiB budget (workers pause above {:.1} MiB)",
        reply.stored_bytes as f64 / (1 << 20) as f64,
        reply.budget_bytes as f64 / (1 << 20) as f64,
        reply.high_water_bytes as f64 / (1 << 20) as f64
    );
    Ok(())
}

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Whose stockpile this is: 0 or 1.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
    party: u8,
    /// The stopped stockpile's data directory (one started with `dyad store --audit`).
    #[arg(long)]
    data: PathBuf,
}

/// Checks a stopped stockpile's ledger: fails if any item was served twice or lost.
pub fn audit(args: AuditArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.data.join("CURRENT").exists(),
        "{} holds no stockpile",
        args.data.display()
    );
    let unlimited = Budget {
        budget_bytes: u64::MAX,
        high_water_bytes: u64::MAX,
    };
    let mut db = Db::open(&args.data, args.party, unlimited, Duration::from_secs(60))
        .with_context(|| {
            format!(
                "cannot open the stockpile in {} (is it still running?)",
                args.data.display()
            )
        })?;
    let Some(streams) = db.audit()? else {
        anyhow::bail!(
            "the stockpile in {} keeps no ledger (start it with --audit)",
            args.data.display()
        );
    };
    println!(
        "{:<28} {:>12} {:>12} {:>10} {:>12} {:>12} {:>6}",
        "stream", "handed out", "discarded", "skipped", "available", "served twice", "lost"
    );
    for s in &streams {
        println!(
            "{:<28} {:>12} {:>12} {:>10} {:>12} {:>12} {:>6}",
            s.stream, s.handed_out, s.discarded, s.skipped, s.available, s.served_twice, s.lost
        );
        for problem in &s.problems {
            println!("  {}: {problem}", s.stream);
        }
    }
    let failed: Vec<&str> = streams
        .iter()
        .filter(|s| !s.ok())
        .map(|s| s.stream.as_str())
        .collect();
    anyhow::ensure!(
        failed.is_empty(),
        "the ledger does not add up for {}",
        failed.join(", ")
    );
    println!("every item left at most once, and every item is accounted for");
    Ok(())
}
