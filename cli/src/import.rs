//! `dyad import`: a model owner turns a plaintext model into the two servers' shares.

use std::path::PathBuf;

use anyhow::{Context, ensure};
use dyad_online::FixedPoint;
use rand_chacha::ChaCha20Rng;

use dyad_server::model_file::{Holder, ModelFile};

#[derive(clap::Args)]
pub struct Args {
    /// A plaintext Dyad model (from `dyad reveal-model` or `dyad train-plain`).
    #[arg(long, conflicts_with = "onnx", required_unless_present = "onnx")]
    model: Option<PathBuf>,
    /// An ONNX model exported by PyTorch (`torch.onnx.export`).
    #[arg(long)]
    onnx: Option<PathBuf>,
    /// Fixed-point fractional bits for an ONNX model's weights.
    #[arg(long, default_value_t = 16)]
    f: u32,
    /// Directory to write `model.p0.dyad` (for server 0) and `model.p1.dyad` (for server 1).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let model = match (&args.model, &args.onnx) {
        (Some(path), _) => ModelFile::read(path)?,
        (None, Some(path)) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let name = path
                .file_stem()
                .map_or("onnx".into(), |s| s.to_string_lossy().into_owned());
            let fixed = FixedPoint::new(args.f).context("--f must be between 1 and 30")?;
            dyad_server::onnx::import(&bytes, &name, fixed)
                .with_context(|| format!("cannot import {}", path.display()))?
        }
        (None, None) => unreachable!("clap requires one"),
    };
    ensure!(
        model.holder == Holder::Plain,
        "the model file holds server {:?}'s share, not a plaintext model",
        model.holder
    );
    // Fresh OS randomness: each share alone must be uniformly random to its server.
    let mut rng: ChaCha20Rng = rand::make_rng();
    let shares = model.params.split(&mut rng);
    std::fs::create_dir_all(&args.out)?;
    for (i, params) in shares.into_iter().enumerate() {
        let path = args.out.join(format!("model.p{i}.dyad"));
        ModelFile {
            holder: Holder::Party(i as u8),
            fixed: model.fixed,
            network: model.network.clone(),
            params,
        }
        .write(&path)?;
        println!(
            "server {i}'s share of {}: {}",
            model.network.name,
            path.display()
        );
    }
    println!("give each server only its own share; the two together are the model");
    Ok(())
}
