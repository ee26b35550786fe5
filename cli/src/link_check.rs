//! `dyad link-check`: connect to the peer over the pinned link and measure it.

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::link_args::LinkArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    link: LinkArgs,
    /// Megabytes each side sends in the throughput test.
    #[arg(long, default_value_t = 64)]
    megabytes: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(check(args))
}

async fn check(args: Args) -> anyhow::Result<()> {
    let party = args.link.party();
    let mut link = args.link.connect("link-check").await?;
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
