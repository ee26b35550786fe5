//! Network descriptions: Networks A–D of the paper (§7.2), a text format for other
//! feed-forward networks, and what training or inference consumes (found by running the real
//! code on a [`Tally`], which adds up each operation's cost instead of computing it).
//!
//! The text format has one layer per line after an `input C H W` line (`#` starts a comment):
//!
//! ```text
//! input 1 28 28
//! conv 16 5            # out-channels, kernel; optional stride=S padding=P
//! relu
//! maxpool              # 2x2, stride 2
//! flatten
//! dense 100            # outputs
//! relu
//! ```
//!
//! A training step is: the forward pass (each dense or convolution layer a fixed-point matrix
//! product, convolutions by im2col), softmax with the cross-entropy gradient on the output,
//! and the backward pass: per layer with weights, `dW = X^T·delta` truncated by
//! `f + lr_shift + log2(batch)` (the SGD step with learning rate `2^-lr_shift`, averaged over
//! the batch), the bias step truncated by `lr_shift + log2(batch)`, and `delta·W^T` for the
//! layer below when one has weights.

use std::fmt;

use ndarray::{Array2, ArrayD, IxDyn};

use crate::cost::argmax_rows;
use crate::model_error::ModelError;
use crate::nn::{Hyper, Params, Tally, evaluate, predict, train_step};
use crate::protocols::{Comparison, Exp, REQUESTS_PER_TRIPLE};
use crate::{Config, FixedPoint, Z64};
use dyad_randomness::{Demand, Kind};

/// A tensor shape per example: channels, height, width (a vector is `n x 1 x 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Channels.
    pub channels: usize,
    /// Height.
    pub height: usize,
    /// Width.
    pub width: usize,
}

impl Shape {
    /// Elements per example.
    pub fn size(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// `n` values without spatial extent: what dense layers take and make.
    pub fn vector(n: usize) -> Shape {
        Shape {
            channels: n,
            height: 1,
            width: 1,
        }
    }
}

/// A layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Fully connected, to `outputs` units (input flattened first).
    Dense {
        /// Output units.
        outputs: usize,
    },
    /// 2-D convolution with square kernels.
    Conv {
        /// Output channels.
        channels: usize,
        /// Kernel size.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Zero padding on each side.
        padding: usize,
    },
    /// ReLU.
    Relu,
    /// 2x2 max pooling, stride 2.
    MaxPool,
    /// Reshape to a vector.
    Flatten,
}

impl Layer {
    /// The shape this layer makes of `input`; fails if it does not fit.
    pub fn output(self, input: Shape) -> Result<Shape, ModelError> {
        Ok(match self {
            Layer::Dense { outputs } => Shape::vector(outputs),
            Layer::Conv {
                channels,
                kernel,
                stride,
                padding,
            } => {
                let (h, w) = (input.height + 2 * padding, input.width + 2 * padding);
                if kernel > h || kernel > w {
                    return Err(ModelError::KernelDoesNotFit {
                        kernel,
                        height: h,
                        width: w,
                    });
                }
                Shape {
                    channels,
                    height: (h - kernel) / stride + 1,
                    width: (w - kernel) / stride + 1,
                }
            }
            Layer::MaxPool => {
                if !input.height.is_multiple_of(2) || !input.width.is_multiple_of(2) {
                    return Err(ModelError::OddPooling {
                        height: input.height,
                        width: input.width,
                    });
                }
                Shape {
                    height: input.height / 2,
                    width: input.width / 2,
                    ..input
                }
            }
            Layer::Relu => input,
            Layer::Flatten => Shape::vector(input.size()),
        })
    }
}

/// A feed-forward network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// Its name.
    pub name: String,
    /// The shape of one example.
    pub input: Shape,
    /// The layers, input to output.
    pub layers: Vec<Layer>,
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# {}", self.name)?;
        writeln!(
            f,
            "input {} {} {}",
            self.input.channels, self.input.height, self.input.width
        )?;
        for layer in &self.layers {
            match layer {
                Layer::Dense { outputs } => writeln!(f, "dense {outputs}")?,
                Layer::Conv {
                    channels,
                    kernel,
                    stride,
                    padding,
                } => writeln!(
                    f,
                    "conv {channels} {kernel} stride={stride} padding={padding}"
                )?,
                Layer::Relu => writeln!(f, "relu")?,
                Layer::MaxPool => writeln!(f, "maxpool")?,
                Layer::Flatten => writeln!(f, "flatten")?,
            }
        }
        Ok(())
    }
}

const MNIST: Shape = Shape {
    channels: 1,
    height: 28,
    width: 28,
};

fn conv(channels: usize, kernel: usize) -> Layer {
    Layer::Conv {
        channels,
        kernel,
        stride: 1,
        padding: 0,
    }
}

impl Network {
    /// The names [`Network::by_name`] knows.
    pub const NAMES: [&'static str; 4] = ["net-a", "net-b", "net-c", "net-d"];

    /// Networks A–D of §7.2. The paper puts a ReLU after every layer, the last included,
    /// before the softmax; so does this.
    pub fn by_name(name: &str) -> Option<Network> {
        use Layer::*;
        let layers = match name {
            // SecureML's 3-layer DNN.
            "net-a" => vec![
                Flatten,
                Dense { outputs: 128 },
                Relu,
                Dense { outputs: 128 },
                Relu,
                Dense { outputs: 10 },
                Relu,
            ],
            // MiniONN's CNN: 28 -> 24 -> 12 -> 8 -> 4; 16·4·4 = 256 inputs to the first dense.
            "net-b" => vec![
                conv(16, 5),
                Relu,
                MaxPool,
                conv(16, 5),
                Relu,
                MaxPool,
                Flatten,
                Dense { outputs: 100 },
                Relu,
                Dense { outputs: 10 },
                Relu,
            ],
            // LeNet: 50·4·4 = 800 inputs to the first dense.
            "net-c" => vec![
                conv(20, 5),
                Relu,
                MaxPool,
                conv(50, 5),
                Relu,
                MaxPool,
                Flatten,
                Dense { outputs: 500 },
                Relu,
                Dense { outputs: 10 },
                Relu,
            ],
            // Chameleon's CNN: stride 2 with padding 2 gives 5·14·14 = 980 inputs.
            "net-d" => vec![
                Conv {
                    channels: 5,
                    kernel: 5,
                    stride: 2,
                    padding: 2,
                },
                Relu,
                Flatten,
                Dense { outputs: 100 },
                Relu,
                Dense { outputs: 10 },
                Relu,
            ],
            _ => return None,
        };
        Some(Network {
            name: name.to_owned(),
            input: MNIST,
            layers,
        })
    }

    /// Reads the text format (see the module documentation).
    pub fn parse(name: &str, text: &str) -> Result<Network, ModelError> {
        let mut input = None;
        let mut layers = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |what: &'static str| ModelError::Line {
                line: number + 1,
                what,
                text: line.to_owned(),
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            let num = |s: &str| {
                s.parse::<usize>()
                    .ok()
                    .filter(|&v| v > 0)
                    .ok_or_else(|| bad("expected a positive number"))
            };
            match words[0] {
                "input" if words.len() == 4 && input.is_none() => {
                    input = Some(Shape {
                        channels: num(words[1])?,
                        height: num(words[2])?,
                        width: num(words[3])?,
                    });
                }
                _ if input.is_none() => return Err(bad("the first line must be `input C H W`")),
                "dense" if words.len() == 2 => layers.push(Layer::Dense {
                    outputs: num(words[1])?,
                }),
                "conv" if words.len() >= 3 => {
                    let (mut stride, mut padding) = (1, 0);
                    for option in &words[3..] {
                        match option.split_once('=') {
                            Some(("stride", v)) => stride = num(v)?,
                            Some(("padding", v)) => {
                                padding = v.parse().map_err(|_| bad("bad padding"))?
                            }
                            _ => return Err(bad("unknown conv option")),
                        }
                    }
                    layers.push(Layer::Conv {
                        channels: num(words[1])?,
                        kernel: num(words[2])?,
                        stride,
                        padding,
                    });
                }
                "relu" if words.len() == 1 => layers.push(Layer::Relu),
                "maxpool" if words.len() == 1 => layers.push(Layer::MaxPool),
                "flatten" if words.len() == 1 => layers.push(Layer::Flatten),
                _ => return Err(bad("unknown layer")),
            }
        }
        let input = input.ok_or(ModelError::NoInput)?;
        let network = Network {
            name: name.to_owned(),
            input,
            layers,
        };
        network.shapes()?;
        Ok(network)
    }

    /// The shape after each layer; fails if a layer does not fit its input.
    pub fn shapes(&self) -> Result<Vec<Shape>, ModelError> {
        let mut shape = self.input;
        let mut out = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            shape = layer.output(shape).map_err(|cause| ModelError::Layer {
                layer: i + 1,
                cause: Box::new(cause),
            })?;
            out.push(shape);
        }
        if out.last().is_none_or(|s| s.height != 1 || s.width != 1) {
            return Err(ModelError::NoClassScores);
        }
        Ok(out)
    }

    /// The learning rate of §7.4 as `-log2`: 2^-7 for Network-A, 2^-5 for the others.
    pub fn paper_lr_shift(&self) -> u32 {
        if self.name == "net-a" { 7 } else { 5 }
    }

    /// Classes: the size of the output.
    pub fn classes(&self) -> usize {
        self.shapes()
            .ok()
            .and_then(|s| s.last().map(Shape::size))
            .unwrap_or(0)
    }

    /// What the forward pass over `batch` examples consumes.
    pub fn inference_demand(&self, batch: usize, cmp: Comparison) -> Result<Demand, ModelError> {
        let mut tally = Tally::new(FixedPoint::default(), cmp, Exp::default());
        let params = self.zero_params(&tally)?;
        let x = self.zero_batch(batch);
        Tally::run(predict(&mut tally, self, &params, x))?;
        Ok(tally.demand)
    }

    /// What serving `requests` requests consumes at most: each the forward pass of one example
    /// and the argmax of its logits (a request may ask for the class only). Requests evaluated
    /// together take exactly the sum of their single demands, except that the products by
    /// weights draw on weight-bound triples of [`REQUESTS_PER_TRIPLE`] requests' rows each
    /// (see [`crate::protocols::WeightMasks`]).
    pub fn serving_demand(&self, requests: u64, cmp: Comparison) -> Result<Demand, ModelError> {
        let single = self.inference_demand(1, cmp)? + argmax_rows(1, self.classes(), cmp);
        let triples = requests.div_ceil(REQUESTS_PER_TRIPLE as u64);
        let mut demand = Demand::default();
        for (kind, count) in single.0 {
            demand += match kind {
                Kind::MatrixTriple { m, n, k } => Demand::of(
                    Kind::MatrixTriple {
                        m: m * REQUESTS_PER_TRIPLE,
                        n,
                        k,
                    },
                    count * triples,
                ),
                _ => Demand::of(kind, count * requests),
            };
        }
        Ok(demand)
    }

    /// What evaluating `batch` examples consumes: the forward pass and the correctness count.
    pub fn evaluation_demand(&self, batch: usize, cmp: Comparison) -> Result<Demand, ModelError> {
        let mut tally = Tally::new(FixedPoint::default(), cmp, Exp::default());
        let params = self.zero_params(&tally)?;
        let (x, onehot) = (
            self.zero_batch(batch),
            Array2::zeros((batch, self.classes())),
        );
        Tally::run(evaluate(&mut tally, self, &params, x, &onehot, batch))?;
        Ok(tally.demand)
    }

    /// What one training step on a batch of `batch` examples consumes, with `loss` the batch's
    /// loss too. `batch` must be a power of two (the average is a shift). The learning rate
    /// does not matter: a truncation costs the same by any number of bits.
    pub fn training_demand(
        &self,
        batch: usize,
        loss: bool,
        fixed: FixedPoint,
        cmp: Comparison,
        exp: Exp,
    ) -> Result<Demand, ModelError> {
        if !batch.is_power_of_two() {
            return Err(ModelError::BatchNotPowerOfTwo(batch));
        }
        let mut tally = Tally::new(fixed, cmp, exp);
        let mut params = self.zero_params(&tally)?;
        let (x, onehot) = (
            self.zero_batch(batch),
            Array2::zeros((batch, self.classes())),
        );
        let hyper = Hyper {
            lr_shift: 0,
            batch_shift: batch.trailing_zeros(),
        };
        let step = train_step(&mut tally, self, &mut params, x, &onehot, hyper, loss);
        Tally::run(step)?;
        Ok(tally.demand)
    }

    /// The stock a plan keeps for `iterations` training steps of `batch` examples and
    /// `inferences` served requests (`dyad serve`), run with the online `config`.
    pub fn stock_demand(
        &self,
        batch: usize,
        iterations: u64,
        inferences: u64,
        config: Config,
    ) -> Result<Demand, ModelError> {
        let (fixed, cmp) = (config.fixed, config.comparison());
        let mut demand = Demand::default();
        if iterations > 0 {
            demand += self.training_demand(batch, false, fixed, cmp, config.exp)? * iterations;
        }
        if inferences > 0 {
            demand += self.serving_demand(inferences, cmp)?;
        }
        Ok(demand)
    }

    /// Parameters of the right shapes for a [`Tally`] (zeros).
    fn zero_params(&self, tally: &Tally) -> Result<Params<Z64>, ModelError> {
        Ok(Params::initial(self, 0, FixedPoint::default())?.import(tally))
    }

    /// A batch of `batch` zero inputs.
    fn zero_batch(&self, batch: usize) -> ArrayD<Z64> {
        let i = self.input;
        ArrayD::zeros(IxDyn(&[batch, i.channels, i.height, i.width]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_papers_networks_have_the_papers_shapes() {
        let size = |name: &str, layer: usize| {
            Network::by_name(name)
                .expect("known")
                .shapes()
                .expect("fits")[layer]
                .size()
        };
        assert_eq!(size("net-b", 5), 256);
        assert_eq!(size("net-c", 5), 800);
        assert_eq!(size("net-d", 1), 980);
        for name in Network::NAMES {
            let net = Network::by_name(name).expect("known");
            assert_eq!(net.classes(), 10);
            let back = Network::parse(name, &net.to_string()).expect("parses");
            assert_eq!(back, net, "{name} round-trips");
        }
    }

    #[test]
    fn bad_descriptions_are_explained() {
        for (text, words) in [
            ("dense 10", "input C H W"),
            ("input 1 28 28\nconv 4 30", "does not fit"),
            ("input 1 5 5\nmaxpool\nflatten\ndense 2", "even sizes"),
            ("input 1 28 28\nsoftmax", "unknown layer"),
            ("input 1 28 28\nconv 4 3 dilation=2", "unknown conv option"),
            ("input 1 28 28\nrelu", "class scores"),
        ] {
            let err = Network::parse("x", text).expect_err(text).to_string();
            assert!(err.contains(words), "{text}: {err}");
        }
    }

    #[test]
    fn network_a_training_takes_its_matrix_triples() {
        let net = Network::by_name("net-a").expect("known");
        let d = net
            .training_demand(
                128,
                false,
                FixedPoint::default(),
                Comparison::default(),
                Exp::default(),
            )
            .expect("ok");
        use crate::randomness::Kind::*;
        assert_eq!(
            d.0[&MatrixTriple {
                m: 128,
                n: 784,
                k: 128
            }],
            1
        );
        assert_eq!(
            d.0[&MatrixTriple {
                m: 784,
                n: 128,
                k: 128
            }],
            1,
            "dW of the first layer"
        );
        assert!(
            !d.0.contains_key(&MatrixTriple {
                m: 128,
                n: 128,
                k: 784
            }),
            "no gradient below the first layer"
        );
        // Every truncation takes a daBit: at least one per weight and bias update.
        let weights = 784 * 128 + 128 * 128 + 128 * 10 + 128 + 128 + 10;
        assert!(d.0[&DaBit] > weights, "{} daBits", d.0[&DaBit]);
        assert!(
            net.training_demand(
                100,
                false,
                FixedPoint::default(),
                Comparison::default(),
                Exp::default()
            )
            .is_err()
        );
    }
}
