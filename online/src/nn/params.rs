//! Network parameters: one weight matrix and bias vector per layer with weights.

use ndarray::{Array1, Array2, ArrayD};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::Backend;
use crate::bytes::Reader;
use crate::model::{Layer, Network};
use crate::{FixedPoint, ModelError, ParamsFileError, Z64};

/// The weights of one dense or convolution layer: `w` is `inputs x outputs` (for a
/// convolution `channels·k·k x out_channels`), `b` has `outputs` entries.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerParams<E> {
    /// Weights.
    pub w: Array2<E>,
    /// Biases.
    pub b: Array1<E>,
}

/// A network's parameters, one entry per layer (`None` for layers without weights).
#[derive(Debug, Clone, PartialEq)]
pub struct Params<E> {
    /// Per layer.
    pub layers: Vec<Option<LayerParams<E>>>,
}

/// How the public initial weights are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Init {
    /// He (Kaiming) uniform: weights `U(±sqrt(6 / fan_in))`, biases 0 (He et al., 2015, for
    /// ReLU networks; `kaiming_uniform_` with `a = 0`). Dyad's default.
    #[default]
    He,
    /// PyTorch's default for `nn.Linear` and `nn.Conv2d`: weights and biases
    /// `U(±1 / sqrt(fan_in))` (`kaiming_uniform_` with `a = sqrt(5)`), so a model initialised
    /// as its PyTorch twin trains like it.
    PyTorch,
}

impl std::fmt::Display for Init {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Init::He => "he",
            Init::PyTorch => "pytorch",
        })
    }
}

impl std::str::FromStr for Init {
    type Err = String;

    fn from_str(s: &str) -> Result<Init, String> {
        match s {
            "he" => Ok(Init::He),
            "pytorch" => Ok(Init::PyTorch),
            _ => Err(format!("an initialisation is `he` or `pytorch`, not `{s}`")),
        }
    }
}

impl Params<f64> {
    /// He-uniform initial weights and zero biases from `seed` ([`Init::He`]).
    pub fn initial(
        network: &Network,
        seed: u64,
        fixed: FixedPoint,
    ) -> Result<Params<f64>, ModelError> {
        Params::initial_by(network, seed, fixed, Init::He)
    }

    /// Initial parameters drawn by `init` from `seed`, rounded to the fixed-point grid so that
    /// every backend starts from exactly the same values.
    pub fn initial_by(
        network: &Network,
        seed: u64,
        fixed: FixedPoint,
        init: Init,
    ) -> Result<Params<f64>, ModelError> {
        let shapes = network.shapes()?;
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut input = network.input;
        let mut layers = Vec::new();
        for (layer, out) in network.layers.iter().zip(&shapes) {
            let dims = match *layer {
                Layer::Dense { outputs } => Some((input.size(), outputs)),
                Layer::Conv {
                    channels, kernel, ..
                } => Some((input.channels * kernel * kernel, channels)),
                _ => None,
            };
            layers.push(dims.map(|(fan_in, outputs)| {
                let grid = |v: f64| fixed.decode(fixed.encode(v).expect("small"));
                let (weights, biases) = match init {
                    Init::He => ((6.0 / fan_in as f64).sqrt(), None),
                    Init::PyTorch => {
                        let bound = (fan_in as f64).recip().sqrt();
                        (bound, Some(bound))
                    }
                };
                let w = Array2::from_shape_simple_fn((fan_in, outputs), || {
                    grid(rng.random_range(-weights..weights))
                });
                let b = match biases {
                    None => Array1::zeros(outputs),
                    Some(bound) => Array1::from_shape_simple_fn(outputs, || {
                        grid(rng.random_range(-bound..bound))
                    }),
                };
                LayerParams { w, b }
            }));
            input = *out;
        }
        Ok(Params { layers })
    }

    /// This backend's values of the parameters.
    pub fn import<B: Backend>(&self, backend: &B) -> Params<B::E> {
        let convert = |a: &ArrayD<f64>| backend.import(a);
        Params {
            layers: self
                .layers
                .iter()
                .map(|l| {
                    l.as_ref().map(|l| LayerParams {
                        w: convert(&l.w.clone().into_dyn())
                            .into_dimensionality()
                            .expect("2-d"),
                        b: convert(&l.b.clone().into_dyn())
                            .into_dimensionality()
                            .expect("1-d"),
                    })
                })
                .collect(),
        }
    }
}

impl<E: Clone + num_traits::Zero> Params<E> {
    /// Zeros of the same shapes (an optimizer's initial velocity).
    pub fn zeros_like(&self) -> Params<E> {
        let layers = self.layers.iter().map(|l| {
            l.as_ref().map(|l| LayerParams {
                w: Array2::zeros(l.w.raw_dim()),
                b: Array1::zeros(l.b.raw_dim()),
            })
        });
        Params {
            layers: layers.collect(),
        }
    }
}

impl<E: Clone> Params<E> {
    /// The weight matrices, in the order the forward pass multiplies by them.
    pub fn weights(&self) -> Vec<Array2<E>> {
        self.layers.iter().flatten().map(|l| l.w.clone()).collect()
    }
}

const MAGIC: &[u8; 8] = b"DYADPRM1";

impl Params<Z64> {
    /// Two additive shares of the parameters, each uniformly random on its own (the model
    /// owner's `dyad import`, and tests that serve or train on shared models).
    pub fn split(&self, rng: &mut impl rand::Rng) -> [Params<Z64>; 2] {
        let mut shares = [Vec::new(), Vec::new()];
        for layer in &self.layers {
            let [a, b] = match layer {
                Some(l) => {
                    let ([w0, w1], [b0, b1]) = (
                        crate::sharing::split(&l.w, rng),
                        crate::sharing::split(&l.b, rng),
                    );
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

    /// A self-describing byte encoding (model shares, checkpoints).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&(self.layers.len() as u64).to_le_bytes());
        for layer in &self.layers {
            match layer {
                None => out.push(0),
                Some(l) => {
                    out.push(1);
                    let (rows, cols) = l.w.dim();
                    out.extend_from_slice(&(rows as u64).to_le_bytes());
                    out.extend_from_slice(&(cols as u64).to_le_bytes());
                    out.extend(l.w.iter().chain(&l.b).flat_map(|v| v.0.to_le_bytes()));
                }
            }
        }
        out
    }

    /// Reads [`Params::to_bytes`]; checks the shapes against `network`.
    pub fn from_bytes(bytes: &[u8], network: &Network) -> Result<Params<Z64>, ParamsFileError> {
        let bad = |what: &str| ParamsFileError::Foreign {
            network: network.name.clone(),
            what: what.to_owned(),
        };
        let truncated = |_| bad("truncated");
        let mut r = Reader::new(
            bytes
                .strip_prefix(MAGIC.as_slice())
                .ok_or_else(|| bad("wrong header"))?,
        );
        let expected = Params::initial(network, 0, FixedPoint::default())?;
        if r.u64().map_err(truncated)? as usize != expected.layers.len() {
            return Err(bad("another number of layers"));
        }
        let mut layers = Vec::new();
        for want in &expected.layers {
            match (r.u8().map_err(truncated)?, want) {
                (0, None) => layers.push(None),
                (1, Some(want)) => {
                    let rows = r.u64().map_err(truncated)? as usize;
                    let cols = r.u64().map_err(truncated)? as usize;
                    if (rows, cols) != want.w.dim() {
                        return Err(bad(&format!(
                            "a {rows}x{cols} layer where {:?} belongs",
                            want.w.dim()
                        )));
                    }
                    let mut values: Vec<Z64> = r
                        .u64s(rows * cols + cols)
                        .map_err(truncated)?
                        .into_iter()
                        .map(Z64)
                        .collect();
                    let b = Array1::from(values.split_off(rows * cols));
                    let w = Array2::from_shape_vec((rows, cols), values)
                        .map_err(|e| bad(&e.to_string()))?;
                    layers.push(Some(LayerParams { w, b }));
                }
                _ => return Err(bad("layers of other kinds")),
            }
        }
        match r.is_empty() {
            true => Ok(Params { layers }),
            false => Err(bad("trailing bytes")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Network;

    /// He keeps its draws (the default's weights are what they were before `Init`), PyTorch's
    /// stay within `1/sqrt(fan_in)` and draw the biases too.
    #[test]
    fn initialisations_draw_within_their_bounds() {
        let net = Network::by_name("net-a").expect("net-a");
        let fixed = FixedPoint::default();
        let he = Params::initial_by(&net, 7, fixed, Init::He).expect("he");
        assert_eq!(he, Params::initial(&net, 7, fixed).expect("default"));
        let torch = Params::initial_by(&net, 7, fixed, Init::PyTorch).expect("pytorch");
        for (he, torch) in he
            .layers
            .iter()
            .flatten()
            .zip(torch.layers.iter().flatten())
        {
            let fan_in = he.w.nrows() as f64;
            let largest = |a: &Array1<f64>| a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let w = |l: &LayerParams<f64>| largest(&l.w.iter().copied().collect());
            // Within the bound but for the rounding to the grid.
            let within = |v: f64, bound: f64| v <= bound + 1e-5 && v > bound * 0.9;
            assert!(within(w(he), (6.0 / fan_in).sqrt()));
            assert!(within(w(torch), fan_in.recip().sqrt()));
            assert!(he.b.iter().all(|&b| b == 0.0));
            assert!(largest(&torch.b) > 0.0 && largest(&torch.b) <= fan_in.recip().sqrt() + 1e-5);
        }
        assert_eq!("pytorch".parse(), Ok(Init::PyTorch));
        assert!("xavier".parse::<Init>().is_err());
    }

    #[test]
    fn the_two_shares_add_up_to_the_model() {
        let net = Network::by_name("net-a").expect("net-a");
        let fixed = FixedPoint::default();
        let params = Params::initial(&net, 3, fixed)
            .expect("params")
            .import(&crate::nn::PlainFixed::new(fixed));
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let [a, b] = params.split(&mut rng);
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
