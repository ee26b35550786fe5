//! `dyad certs`: generate link certificates.

use std::path::{Path, PathBuf};

use anyhow::Context;
use dyad_link::{Identity, PartyId, generate_identity};

#[derive(clap::Args)]
pub struct Args {
    /// Directory to write `p<i>.cert.pem` and `p<i>.key.pem` into.
    #[arg(long)]
    out: PathBuf,
    /// Generate only this party's pair (each server generates its own in a real deployment
    /// and sends the other only its certificate). Default: both, for local use.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
    party: Option<u8>,
}

/// Generates `party`'s key and certificate into `out`; returns the certificate's path.
pub fn generate(out: &Path, party: PartyId) -> anyhow::Result<PathBuf> {
    let identity: Identity = generate_identity(party)?;
    Ok(identity.save(out, party)?)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let parties = match args.party {
        Some(i) => vec![PartyId::from_index(usize::from(i)).context("party is 0 or 1")?],
        None => PartyId::BOTH.to_vec(),
    };
    for party in parties {
        let cert = generate(&args.out, party)?;
        println!("{party}: wrote {} and its private key", cert.display());
    }
    println!("Each server needs its own key and certificate, and the other server's certificate.");
    Ok(())
}
