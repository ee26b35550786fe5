//! Network descriptions: Networks A–D of the paper (§7.2) and networks read from a text format
//! ([`text`]): chains of layers, or graphs such as residual networks, whose [`Layer::Take`] and
//! [`Layer::Add`] read earlier values; with what training or inference consumes ([`demand`]:
//! found by running the real code on a [`Tally`](crate::nn::Tally)).
//!
//! A training step is: the forward pass (each dense or convolution layer a fixed-point matrix
//! product, convolutions by im2col), softmax with the cross-entropy gradient on the output,
//! and the backward pass: per layer with weights, `dW = X^T·delta` and the bias gradient,
//! averaged over the batch and applied by the optimizer (`crate::nn::optimizer`; plain SGD at
//! `2^-lr_shift` folds into the truncation by `f + lr_shift + log2(batch)`), and `delta·W^T`
//! for the layer below when a gradient flows on to a weight ([`Network::carries_gradient`]); where two
//! paths meet, their gradients are summed (`crate::nn`'s pass over the graph).

mod demand;
mod error;
mod text;

pub use error::{ModelError, ParamsFileError};

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
    /// The maximum of each `kernel x kernel` window, `stride` apart, per channel; `padding`
    /// rows and columns on each side that never win (an ONNX MaxPool's `-inf`). PROTOCOLS.md's
    /// 2x2 pooling with stride 2 is [`Layer::MAXPOOL_2X2`].
    MaxPool {
        /// The window's side.
        kernel: usize,
        /// The step between windows.
        stride: usize,
        /// Rows and columns added on each side, fewer than `kernel`: every window holds an
        /// input.
        padding: usize,
    },
    /// Reshape to a vector.
    Flatten,
    /// The mean of each `kernel x kernel` window, `stride` apart, per channel: a local sum and
    /// one public multiplication by `1/kernel^2` (one truncation per output).
    AvgPool {
        /// The window's side.
        kernel: usize,
        /// The step between windows.
        stride: usize,
    },
    /// The mean of each channel over its height and width: a sum and one multiplication by
    /// the public `1/(height·width)` in fixed point (one truncation per channel).
    GlobalAvgPool,
    /// The output of an earlier layer (`from`, counted from 1; 0 is the network's input) in
    /// place of the previous one: where a branch of a graph starts, such as a residual
    /// block's shortcut.
    Take {
        /// The value taken: the output of layer `from`, or the input if 0.
        from: usize,
    },
    /// The previous layer's output plus an earlier one's (`from`, as in [`Layer::Take`]): a
    /// residual connection. Local on shares; the gradient goes to both.
    Add {
        /// The value added: the output of layer `from`, or the input if 0.
        from: usize,
    },
}

impl Layer {
    /// Max pooling over 2x2 windows with stride 2: the paper's, and `maxpool` in a description.
    pub const MAXPOOL_2X2: Layer = Layer::MaxPool {
        kernel: 2,
        stride: 2,
        padding: 0,
    };

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
                let (height, width) = windows(input, kernel, stride, padding)?;
                Shape {
                    channels,
                    height,
                    width,
                }
            }
            Layer::MaxPool {
                kernel,
                stride,
                padding,
            } => {
                if padding >= kernel {
                    return Err(ModelError::PoolPadding { kernel, padding });
                }
                let (height, width) = windows(input, kernel, stride, padding)?;
                Shape {
                    height,
                    width,
                    ..input
                }
            }
            Layer::AvgPool { kernel, stride } => {
                let (height, width) = windows(input, kernel, stride, 0)?;
                Shape {
                    height,
                    width,
                    ..input
                }
            }
            Layer::Relu | Layer::Add { .. } | Layer::Take { .. } => input,
            Layer::Flatten => Shape::vector(input.size()),
            Layer::GlobalAvgPool => Shape::vector(input.channels),
        })
    }

    /// The earlier value this layer reads besides (or, for [`Layer::Take`], instead of) the
    /// previous layer's output.
    pub fn reads(self) -> Option<usize> {
        match self {
            Layer::Take { from } | Layer::Add { from } => Some(from),
            _ => None,
        }
    }

    /// Whether the layer has weights.
    pub fn has_weights(self) -> bool {
        matches!(self, Layer::Dense { .. } | Layer::Conv { .. })
    }
}

/// How many `kernel x kernel` windows, `stride` apart, fit down and across `input` with
/// `padding` on each side (sizes saturate: a size beyond memory fits no kernel anyway).
fn windows(
    input: Shape,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Result<(usize, usize), ModelError> {
    let pad = |n: usize| n.saturating_add(padding.saturating_mul(2));
    let (h, w) = (pad(input.height), pad(input.width));
    if kernel > h || kernel > w || stride == 0 {
        return Err(ModelError::KernelDoesNotFit {
            kernel,
            height: h,
            width: w,
        });
    }
    Ok(((h - kernel) / stride + 1, (w - kernel) / stride + 1))
}

/// A network: a list of layers, each applied to the previous one's output, where
/// [`Layer::Take`] and [`Layer::Add`] also read earlier outputs, which makes graphs such as
/// residual networks (a list in topological order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// Its name.
    pub name: String,
    /// The shape of one example.
    pub input: Shape,
    /// The layers, input to output.
    pub layers: Vec<Layer>,
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
        const MAXPOOL_2X2: Layer = Layer::MAXPOOL_2X2;
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
                MAXPOOL_2X2,
                conv(16, 5),
                Relu,
                MAXPOOL_2X2,
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
                MAXPOOL_2X2,
                conv(50, 5),
                Relu,
                MAXPOOL_2X2,
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

    /// The shape after each layer; fails if a layer does not fit its input or reads a value
    /// that is not earlier.
    pub fn shapes(&self) -> Result<Vec<Shape>, ModelError> {
        let mut shape = self.input;
        let mut out: Vec<Shape> = Vec::with_capacity(self.layers.len());
        let value = |out: &[Shape], from: usize| match from {
            0 => self.input,
            k => out[k - 1],
        };
        for (i, layer) in self.layers.iter().enumerate() {
            let fail = |cause| ModelError::Layer {
                layer: i + 1,
                cause: Box::new(cause),
            };
            if let Some(from) = layer.reads() {
                if from > i {
                    return Err(fail(ModelError::NotEarlier { from }));
                }
                let other = value(&out, from);
                if matches!(layer, Layer::Take { .. }) {
                    shape = other;
                } else if other != shape {
                    return Err(fail(ModelError::AddShapes {
                        from,
                        shape: (shape.channels, shape.height, shape.width),
                        other: (other.channels, other.height, other.width),
                    }));
                }
            }
            shape = layer.output(shape).map_err(fail)?;
            out.push(shape);
        }
        if out.last().is_none_or(|s| s.height != 1 || s.width != 1) {
            return Err(ModelError::NoClassScores);
        }
        Ok(out)
    }

    /// For each value (0 the input, `i` layer `i`'s output), whether a gradient flows back
    /// through it to some weight: what the backward pass computes and what it skips.
    pub fn carries_gradient(&self) -> Vec<bool> {
        let mut needs = vec![false];
        for (i, layer) in self.layers.iter().enumerate() {
            let previous = needs[i];
            needs.push(match *layer {
                Layer::Take { from } => needs[from.min(i)],
                Layer::Add { from } => previous || needs[from.min(i)],
                l => l.has_weights() || previous,
            });
        }
        needs
    }

    /// Which values later layers read by [`Layer::Take`] or [`Layer::Add`]: those a pass
    /// keeps after the next layer has used them.
    pub fn kept_values(&self) -> Vec<bool> {
        let mut kept = vec![false; self.layers.len() + 1];
        for from in self.layers.iter().filter_map(|l| l.reads()) {
            if let Some(k) = kept.get_mut(from) {
                *k = true;
            }
        }
        kept
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
}
