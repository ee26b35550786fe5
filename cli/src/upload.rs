//! `dyad upload`: a data owner splits a dataset on its own machine, with fresh randomness, and
//! sends each server only its share over TLS (`dyad datasets` on each server); or lists and
//! deletes its datasets there.

use std::path::{Path, PathBuf};
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
    /// Where the two shares wait until both servers hold theirs (default
    /// `.dyad-upload/NAME`): a cut upload run again resumes with the same shares (a fresh
    /// split would not fit what the servers already hold). Removed once both have them.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
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
        let keep = args
            .keep
            .clone()
            .unwrap_or_else(|| PathBuf::from(".dyad-upload").join(&name));
        let (shares, what) = shares(&args, &keep)?;
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
        std::fs::remove_dir_all(&keep)
            .with_context(|| format!("cannot remove {}", keep.display()))?;
        println!(
            "uploaded {name:?} (id {}): {} training and {} test examples {what}; {:.1} MB to \
             each server in {seconds:.1} s ({:.1} MB/s per server)",
            stored[0].id,
            stored[0].train,
            stored[0].test,
            shares[0].len() as f64 / 1e6,
            shares[0].len() as f64 / 1e6 / seconds
        );
        Ok(())
    })
}

/// The two shares to send: those a cut upload left in `keep`, or a fresh split of the data
/// (fresh OS randomness: each share must be unpredictable to its server), written to `keep`
/// first. Also says where they came from.
fn shares(args: &Args, keep: &Path) -> anyhow::Result<([Bytes; 2], String)> {
    let paths = [0, 1].map(|i| keep.join(format!("p{i}.data")));
    if paths.iter().all(|p| p.exists()) {
        let read =
            |p: &PathBuf| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
        let [p0, p1] = [read(&paths[0])?, read(&paths[1])?];
        eprintln!(
            "resuming with the shares of the cut upload in {} (delete it to split afresh)",
            keep.display()
        );
        return Ok(([p0.into(), p1.into()], format!("from {}", keep.display())));
    }
    let (train, test) = args.data.load()?;
    let fixed = FixedPoint::new(args.f).context("--f must be between 1 and 30")?;
    let mut rng: ChaCha20Rng = rand::make_rng();
    let shares = split(&train, &test, fixed, &mut rng)?;
    std::fs::create_dir_all(keep).with_context(|| format!("cannot create {}", keep.display()))?;
    for (share, path) in shares.iter().zip(&paths) {
        share.write(path)?;
    }
    Ok((
        shares.map(|s| Bytes::from(s.to_bytes())),
        format!("from {}", args.data.describe()),
    ))
}
