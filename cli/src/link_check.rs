//! `dyad link-check`: connect to the peer over the pinned link and measure it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use dyad_link::{Identity, LinkConfig, PartyId, PeerPin, connect};

#[derive(clap::Args)]
pub struct Args {
    /// This server: 0 (listens) or 1 (dials).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
    party: u8,
    /// Directory holding this party's `p<i>.cert.pem`/`p<i>.key.pem` and the peer's
    /// `p<j>.cert.pem`.
    #[arg(long)]
    certs: PathBuf,
    /// Party 0: the address to listen on for the peer.
    #[arg(long, required_if_eq("party", "0"))]
    listen: Option<SocketAddr>,
    /// Party 1: the address of party 0.
    #[arg(long, required_if_eq("party", "1"))]
    peer: Option<SocketAddr>,
    /// Seconds to wait for the peer.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Megabytes each side sends in the throughput test.
    #[arg(long, default_value_t = 64)]
    megabytes: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(check(args))
}

async fn check(args: Args) -> anyhow::Result<()> {
    let party = PartyId::from_index(usize::from(args.party)).context("party is 0 or 1")?;
    let addr = match party {
        PartyId::P0 => args.listen,
        PartyId::P1 => args.peer,
    }
    .context("party 0 needs --listen, party 1 needs --peer")?;
    let config = LinkConfig {
        party,
        addr,
        identity: Identity::load(&args.certs, party)?,
        peer: PeerPin::load(&args.certs, party.peer())?,
        timeout: Duration::from_secs(args.timeout),
    };
    let mut link = connect(config).await?;
    let mut channel = link.channel().await?;

    let mut rtts = Vec::with_capacity(100);
    for _ in 0..100 {
        let start = Instant::now();
        channel.exchange(&[0u8; 8]).await?;
        rtts.push(start.elapsed());
    }
    rtts.sort();

    let block = vec![0xa5u8; 1 << 20];
    let start = Instant::now();
    for _ in 0..args.megabytes {
        channel.exchange(&block).await?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let counters = channel.counters();
    let peer = link.peer_addr();
    drop(channel);
    link.close().await?;
    println!("link to {peer} ({}) is up and authenticated", party.peer());
    println!(
        "exchange latency: p50 {:.0} µs, p99 {:.0} µs",
        micros(rtts[rtts.len() / 2]),
        micros(rtts[rtts.len() * 99 / 100])
    );
    println!(
        "throughput: {:.0} MB/s each way ({} MB exchanged in {elapsed:.2} s)",
        args.megabytes as f64 / elapsed,
        args.megabytes
    );
    println!(
        "counted: {} bytes sent, {} received, {} rounds",
        counters.bytes_sent, counters.bytes_received, counters.rounds
    );
    Ok(())
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
