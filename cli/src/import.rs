//! `dyad import`: a model owner turns a plaintext model into the two servers' shares.

use std::path::PathBuf;

use anyhow::{Context, ensure};
use dyad_online::nn::{LayerParams, Params};
use dyad_online::{FixedPoint, Z64, sharing};
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

/// Splits `params` into two additive shares with fresh randomness.
fn split(params: &Params<Z64>, rng: &mut ChaCha20Rng) -> [Params<Z64>; 2] {
    let mut shares = [Vec::new(), Vec::new()];
    for layer in &params.layers {
        let [a, b] = match layer {
            Some(l) => {
                let ([w0, w1], [b0, b1]) = (sharing::split(&l.w, rng), sharing::split(&l.b, rng));
                [
                    Some(LayerParams { w: w0, b: b0 }),
                    Some(LayerParams { w: w1, b: b1 }),
                ]
            }
            None => [None, None],
        };
        shares[0].push(a);
        shares[1].push(b);
    }
    shares.map(|layers| Params { layers })
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
    let shares = split(&model.params, &mut rng);
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
    use super::*;
    use dyad_online::FixedPoint;
    use dyad_online::model::Network;
    use rand::SeedableRng;

    #[test]
    fn the_two_shares_add_up_to_the_model() {
        let net = Network::by_name("net-a").expect("net-a");
        let fixed = FixedPoint::default();
        let params = Params::initial(&net, 3, fixed)
            .expect("params")
            .import(&dyad_online::nn::PlainFixed::new(fixed));
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let [a, b] = split(&params, &mut rng);
        let mut checked = 0;
        for ((x, s0), s1) in params.layers.iter().zip(&a.layers).zip(&b.layers) {
            let (Some(x), Some(s0), Some(s1)) = (x, s0, s1) else {
                assert!(x.is_none() && s0.is_none() && s1.is_none());
                continue;
            };
            assert_eq!(&s0.w + &s1.w, x.w);
            assert_eq!(&s0.b + &s1.b, x.b);
            assert_ne!(s0.w, x.w, "a share is not the model");
            checked += 1;
        }
        assert_eq!(checked, 3, "net-a has three dense layers");
    }
}
