//! `dyad provision`: everything a deployment of both parties on one machine needs before its
//! services start, each party's part in a directory of its own. It is what the demo prepares
//! (`dyad demo`), written for containers that see only their own party's directory: the Compose
//! deployment (`deploy/compose/`) runs it as a one-shot service and mounts each directory
//! read-only into that party's services only.
//!
//! Per party: `certs/` (its own key and certificate and the other party's certificate: the
//! link pins it), `store-token` (the token of its stockpile, for its stockpile and the
//! stockpile's clients), `data` (its share of the dataset, as `dyad share` writes it) and
//! `plan.txt` (the offline plan: the training job, then the served requests, as the demo
//! stocks). For clients: `certs/` with both servers' certificates, which `dyad predict --certs`
//! trusts.
//!
//! A rerun leaves a complete set alone (a restarted deployment must keep its certificates,
//! tokens and dataset: its stockpiles and checkpoints belong to them) and refuses a partial one.
//! In a deployment across two organisations nothing of this is made in one place: each party
//! makes its own key and token, and the data owner sends each party its share (README,
//! "Deploy").

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use dyad_link::PartyId;
use dyad_online::FixedPoint;
use dyad_randomness::Plan;
use dyad_store_client::token::read_or_create_token;

use crate::data_args::DataArgs;
use crate::train::JobArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Directory for party 0's files (created if missing; may be an empty volume).
    #[arg(long)]
    party0: PathBuf,
    /// Directory for party 1's files.
    #[arg(long)]
    party1: PathBuf,
    /// Directory for the clients' files: both servers' certificates.
    #[arg(long)]
    client: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// The training job, exactly as both `dyad train` commands will be given it: the plan
    /// stocks for it.
    #[command(flatten)]
    job: JobArgs,
    /// Served requests the plan also stocks for (`dyad serve` on the trained model).
    #[arg(long, default_value_t = 16)]
    inferences: u64,
    /// Give everything written to this user and group (`UID:GID`). For a provisioning run as
    /// root into fresh volumes (owned by root) whose files services running as another user
    /// read: the keys and tokens are readable by their owner only.
    #[arg(long, value_parser = parse_owner)]
    owner: Option<(u32, u32)>,
}

/// The last file written: its presence marks a complete set.
const DONE: &str = "provisioned";

pub fn run(args: Args) -> anyhow::Result<()> {
    let dirs = [&args.party0, &args.party1, &args.client];
    let done = dirs.map(|d| d.join(DONE).exists());
    if done.iter().all(|&d| d) {
        println!("already provisioned; nothing changed");
        return Ok(());
    }
    for dir in dirs {
        let leftovers = std::fs::read_dir(dir).map_or(0, |entries| entries.count());
        if leftovers > 0 {
            bail!(
                "{} holds files of an incomplete provisioning; empty all three directories \
                 (or remove the deployment's volumes) and run it again",
                dir.display()
            );
        }
    }

    for dir in dirs {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }

    // The data owner's part: the split, each share straight into its party's directory.
    let fixed = FixedPoint::new(16).context("f = 16")?;
    let (train, test) = args.data.load()?;
    let paths = [0, 1].map(|i| party_dir(&args, i).join("data"));
    let id = crate::share::write_shares_to(&train, &test, fixed, &paths)?;

    // The plan both parties' workers follow.
    let job = args
        .job
        .job(fixed, id.clone(), args.data.train, args.data.test)?;
    let plan = Plan::from_demand(job.demand_with_serving(args.inferences)?)?;

    for party in PartyId::BOTH {
        let dir = party_dir(&args, party.index());
        let certs = dir.join("certs");
        let cert = crate::certs::generate(&certs, party)?;
        copy(&cert, &args.client.join("certs"))?;
        read_or_create_token(&dir.join("store-token"))?;
        std::fs::write(dir.join("plan.txt"), plan.to_string())
            .with_context(|| format!("cannot write {}", dir.join("plan.txt").display()))?;
    }
    // Each party pins the other's certificate.
    for party in PartyId::BOTH {
        let theirs = party_dir(&args, party.peer().index())
            .join("certs")
            .join(format!("p{}.cert.pem", party.peer().index()));
        copy(&theirs, &party_dir(&args, party.index()).join("certs"))?;
    }
    for dir in dirs {
        std::fs::write(dir.join(DONE), format!("dataset {id}\n"))
            .with_context(|| format!("cannot write into {}", dir.display()))?;
        if let Some((uid, gid)) = args.owner {
            give(dir, uid, gid)?;
        }
    }
    println!(
        "provisioned dataset {id} ({} training and {} test examples from {}) and a plan of \
         {:.0} MiB per party for {} and {} served requests",
        args.data.train,
        args.data.test,
        args.data.describe(),
        plan.bytes() as f64 / (1u64 << 20) as f64,
        job.network.name,
        args.inferences
    );
    Ok(())
}

fn party_dir(args: &Args, index: usize) -> &Path {
    match index {
        0 => &args.party0,
        _ => &args.party1,
    }
}

/// Copies `file` into the directory `to` (created if missing), under its own name.
fn copy(file: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let name = file.file_name().context("a file without a name")?;
    std::fs::copy(file, to.join(name))
        .with_context(|| format!("cannot copy {} into {}", file.display(), to.display()))?;
    Ok(())
}

/// `UID:GID`.
fn parse_owner(text: &str) -> Result<(u32, u32), String> {
    let (uid, gid) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not UID:GID"))?;
    let number = |n: &str| {
        n.parse::<u32>()
            .map_err(|_| format!("{n:?} in {text:?} is not a number"))
    };
    Ok((number(uid)?, number(gid)?))
}

/// Gives `path` and everything below it to `uid:gid`.
fn give(path: &Path, uid: u32, gid: u32) -> anyhow::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .with_context(|| format!("cannot give {} to {uid}:{gid}", path.display()))?;
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            give(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_owner;

    #[test]
    fn owners_are_two_numbers() {
        assert_eq!(parse_owner("10001:10002"), Ok((10001, 10002)));
        assert!(parse_owner("10001").is_err());
        assert!(parse_owner("dyad:dyad").is_err());
    }
}
