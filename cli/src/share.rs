//! `dyad share`: the data owner splits a dataset into the two servers' shares.

use std::path::PathBuf;

use anyhow::Context;
use dyad_online::FixedPoint;
use rand_chacha::ChaCha20Rng;

use crate::data::DataArgs;
use crate::data::shares::split;

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

pub fn run(args: Args) -> anyhow::Result<()> {
    let (train, test) = args.data.load()?;
    let fixed = FixedPoint::new(args.f).context("--f must be between 1 and 30")?;
    // Fresh OS randomness: the shares must be unpredictable to each server.
    let mut rng: ChaCha20Rng = rand::make_rng();
    let shares = split(&train, &test, fixed, &mut rng);
    let paths: Vec<PathBuf> = (0..2)
        .map(|i| args.out.join(format!("p{i}.data")))
        .collect();
    for (share, path) in shares.iter().zip(&paths) {
        share.write(path)?;
    }
    println!(
        "dataset {}: {} training and {} test examples from {}",
        shares[0].id_hex(),
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
