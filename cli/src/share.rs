//! `dyad share`: the data owner splits a dataset into the two servers' shares.

use std::path::{Path, PathBuf};

use anyhow::Context;
use dyad_online::FixedPoint;
use rand_chacha::ChaCha20Rng;

use crate::data_args::DataArgs;
use dyad_server::datasets::Dataset;
use dyad_server::datasets::shares::split;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// Directory to write `p0.data` (for server 0) and `p1.data` (for server 1) into.
    #[arg(long)]
    out: PathBuf,
    /// Fixed-point fractional bits of the encoding.
    #[arg(long, default_value_t = 16)]
    f: u32,
}

/// Splits `train` and `test` into the two servers' shares and writes them to `out` as
/// `p0.data` and `p1.data`; returns the dataset id and the two paths.
pub fn write_shares(
    train: &Dataset,
    test: &Dataset,
    fixed: FixedPoint,
    out: &Path,
) -> anyhow::Result<(String, [PathBuf; 2])> {
    let paths = [0, 1].map(|i| out.join(format!("p{i}.data")));
    let id = write_shares_to(train, test, fixed, &paths)?;
    Ok((id, paths))
}

/// Splits `train` and `test` into the two servers' shares and writes server `i`'s to
/// `paths[i]`; returns the dataset id.
pub fn write_shares_to(
    train: &Dataset,
    test: &Dataset,
    fixed: FixedPoint,
    paths: &[PathBuf; 2],
) -> anyhow::Result<String> {
    // Fresh OS randomness: the shares must be unpredictable to each server.
    let mut rng: ChaCha20Rng = rand::make_rng();
    let shares = split(train, test, fixed, &mut rng)?;
    for (share, path) in shares.iter().zip(paths) {
        share.write(path)?;
    }
    Ok(shares[0].id_hex())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (train, test) = args.data.load()?;
    let fixed = FixedPoint::new(args.f).context("--f must be between 1 and 30")?;
    let (id, paths) = write_shares(&train, &test, fixed, &args.out)?;
    println!(
        "dataset {id}: {} training and {} test examples from {}",
        train.len(),
        test.len(),
        args.data.describe()
    );
    println!(
        "give {} to server 0 and {} to server 1 only: each alone is uniformly random, the two \
         together are the data",
        paths[0].display(),
        paths[1].display()
    );
    Ok(())
}
