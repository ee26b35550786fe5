//! `dyad reveal-model`: whoever receives both servers' model shares reconstructs the model.

use std::path::PathBuf;

use anyhow::{bail, ensure};
use dyad_online::nn::{LayerParams, Params};

use dyad_server::model_file::{Holder, ModelFile};

#[derive(clap::Args)]
pub struct Args {
    /// Server 0's model share (`model.p0.dyad` from `dyad train`).
    #[arg(long)]
    p0: PathBuf,
    /// Server 1's model share.
    #[arg(long)]
    p1: PathBuf,
    /// Where to write the plaintext model.
    #[arg(long)]
    out: PathBuf,
}

/// `a + b`, layer by layer.
fn add(a: &Params<dyad_online::Z64>, b: &Params<dyad_online::Z64>) -> Params<dyad_online::Z64> {
    Params {
        layers: a
            .layers
            .iter()
            .zip(&b.layers)
            .map(|(a, b)| {
                a.as_ref().zip(b.as_ref()).map(|(a, b)| LayerParams {
                    w: &a.w + &b.w,
                    b: &a.b + &b.b,
                })
            })
            .collect(),
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (m0, m1) = (ModelFile::read(&args.p0)?, ModelFile::read(&args.p1)?);
    if (m0.holder, m1.holder) != (Holder::Party(0), Holder::Party(1)) {
        bail!(
            "expected server 0's share and then server 1's, got {:?} and {:?}",
            m0.holder,
            m1.holder
        );
    }
    ensure!(
        m0.network.layers == m1.network.layers && m0.network.input == m1.network.input,
        "the two shares are of different networks"
    );
    ensure!(
        m0.fixed == m1.fixed,
        "the two shares use different fixed-point encodings"
    );
    let model = ModelFile {
        holder: Holder::Plain,
        params: add(&m0.params, &m1.params),
        ..m0
    };
    model.write(&args.out)?;
    println!(
        "wrote the plaintext {} to {}",
        model.network.name,
        args.out.display()
    );
    Ok(())
}
