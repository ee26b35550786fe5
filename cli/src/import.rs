//! `dyad import`: a model owner turns a plaintext model into the two servers' shares.

use std::path::PathBuf;

use anyhow::{Context, ensure};
use dyad_online::FixedPoint;
use dyad_online::nn::window;
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
    // The servers' truncations are exact only inside their window (PROTOCOLS.md, "Accepted
    // departures"): a model whose products could leave it is refused (an ONNX import vouches
    // for the model itself).
    let refused =
        "the model's weights could make the servers' results silently wrong; it is not shared out";
    let (model, vouched) = match (&args.model, &args.onnx) {
        (Some(path), _) => {
            let model = ModelFile::read(path)?;
            ensure!(
                model.holder == Holder::Plain,
                "the model file holds server {:?}'s share, not a plaintext model",
                model.holder
            );
            let vouched =
                window::vouch(&model.network, &model.params, model.fixed).context(refused)?;
            (model, vouched)
        }
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
    println!("truncation window: {vouched}");
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

#[cfg(test)]
mod tests {
    use dyad_online::Z64;
    use dyad_online::fixed::MAX_OPERAND;
    use dyad_online::model::Network;
    use dyad_online::nn::{Params, PlainFixed};

    use super::*;

    /// A plaintext model file whose first weight is `first` (in fixed point).
    fn model_with(dir: &std::path::Path, first: i64) -> PathBuf {
        let network = Network::parse("m", "input 1 2 2\nflatten\ndense 2\n").expect("network");
        let fixed = FixedPoint::default();
        let mut params = Params::initial(&network, 1, fixed)
            .expect("params")
            .import(&PlainFixed::new(fixed));
        let dense = params.layers[1].as_mut().expect("dense");
        dense.w[[0, 0]] = Z64::from_signed(first);
        let path = dir.join(format!("model-{first}.dyad"));
        ModelFile {
            holder: Holder::Plain,
            fixed,
            network,
            params,
        }
        .write(&path)
        .expect("write");
        path
    }

    /// A plaintext model's weights, as an ONNX model's, are bounded by the operand limit:
    /// one at the limit is shared out, one a unit beyond it refused with its value and the
    /// limit, and nothing is written.
    #[test]
    fn a_plaintext_model_with_a_weight_just_beyond_the_operand_limit_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let args = |model: PathBuf, out: &str| Args {
            model: Some(model),
            onnx: None,
            f: 16,
            out: dir.path().join(out),
        };
        run(args(model_with(dir.path(), -MAX_OPERAND), "at")).expect("at the limit");
        assert!(dir.path().join("at/model.p0.dyad").is_file());
        let err = run(args(model_with(dir.path(), MAX_OPERAND + 1), "beyond"))
            .expect_err("beyond the limit");
        let text = format!("{err:#}");
        assert!(
            text.contains("layer 2: weight 0: 256.0000152587890") && text.contains("±256"),
            "{text}"
        );
        assert!(!dir.path().join("beyond").exists());
    }
}
