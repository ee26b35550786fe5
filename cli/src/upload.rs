//! `dyad upload`: a data owner splits a dataset on its own machine, with fresh randomness, and
//! sends each server only its share over TLS (`dyad datasets` on each server); or lists and
//! deletes its datasets there.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use bytes::Bytes;
use dyad_client::owner::Owner;
use dyad_online::FixedPoint;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use rand_chacha::ChaCha20Rng;

use crate::data_args::DataArgs;
use crate::predict::{read_tokens, servers};
use dyad_server::datasets::shares::split;

#[derive(clap::Args)]
pub struct Args {
    /// The two servers' dataset services, `host:port,host:port` (server 0 first).
    #[arg(long, value_delimiter = ',', required = true)]
    servers: Vec<String>,
    /// Directory with the servers' certificates `p0.cert.pem` and `p1.cert.pem`.
    #[arg(long)]
    certs: PathBuf,
    /// This owner's token: a file holding one (both servers know the owner by it) or two
    /// (server 0's, then server 1's).
    #[arg(long, value_name = "FILE")]
    token_file: PathBuf,
    /// The dataset's name on the servers (1 to 64 characters of [A-Za-z0-9_.-]).
    #[arg(long, required_unless_present = "list")]
    name: Option<String>,
    #[command(flatten)]
    data: DataArgs,
    /// Fixed-point fractional bits of the encoding.
    #[arg(long, default_value_t = 16)]
    f: u32,
    /// List this owner's datasets on both servers instead.
    #[arg(long, conflicts_with = "delete")]
    list: bool,
    /// Delete this owner's dataset `--name` on both servers (or its unfinished upload).
    #[arg(long)]
    delete: bool,
    /// Seconds to wait for a server.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    ensure!(args.servers.len() == 2, "--servers takes two addresses");
    let tokens = read_tokens(&args.token_file)?.map(Some);
    let servers = servers(&args.servers, &args.certs, tokens)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut owner = Owner::connect(servers, Duration::from_secs(args.timeout)).await?;
        if args.list {
            let lists = owner.list().await?;
            for (i, list) in lists.iter().enumerate() {
                println!("server {i}: {} datasets", list.len());
                for d in list {
                    println!(
                        "  {:<24} {} training + {} test examples of {}x{}x{}, {} classes, {:.1} MB, id {}",
                        d.name, d.train, d.test, d.channels, d.height, d.width, d.classes,
                        d.bytes as f64 / 1e6, d.id
                    );
                }
            }
            return Ok(());
        }
        let name = args.name.clone().context("--name names the dataset")?;
        if args.delete {
            owner.delete(&name).await?;
            println!("deleted {name:?} on both servers");
            return Ok(());
        }
        let (train, test) = args.data.load()?;
        let fixed = FixedPoint::new(args.f).context("--f must be between 1 and 30")?;
        // Fresh OS randomness: the shares must be unpredictable to each server.
        let mut rng: ChaCha20Rng = rand::make_rng();
        let shares = split(&train, &test, fixed, &mut rng)?.map(|s| Bytes::from(s.to_bytes()));
        let bars = MultiProgress::new();
        let style = ProgressStyle::with_template("server {prefix}: {bar:40} {bytes}/{total_bytes} {bytes_per_sec}")
            .expect("a valid template");
        let bar = |i: usize| {
            let bar = bars.add(ProgressBar::new(shares[i].len() as u64));
            bar.set_style(style.clone());
            bar.set_prefix(i.to_string());
            bar
        };
        let progress = [bar(0), bar(1)];
        let reported = progress.clone();
        let started = Instant::now();
        let stored = owner
            .upload(&name, shares.clone(), Arc::new(move |i, bytes| reported[i].set_position(bytes)))
            .await?;
        let seconds = started.elapsed().as_secs_f64();
        progress.iter().for_each(ProgressBar::finish);
        println!(
            "uploaded {name:?} (id {}): {} training and {} test examples from {}; {:.1} MB to each \
             server in {seconds:.1} s ({:.1} MB/s per server)",
            stored[0].id,
            train.len(),
            test.len(),
            args.data.describe(),
            shares[0].len() as f64 / 1e6,
            shares[0].len() as f64 / 1e6 / seconds
        );
        Ok(())
    })
}
