//! The Dyad network an ONNX graph becomes, built node by node: ONNX names values, Dyad numbers
//! them (0 the input, `i` the output of layer `i`), and a node that does not read the last
//! value starts with a [`Layer::Take`] of the one it reads. Residual sums become
//! [`Layer::Add`]; a `BatchNormalization`, and a constant added, subtracted, multiplied or
//! divided by, are folded into the convolution or linear layer before them, or become a
//! layer of their own where there is none.

use std::collections::HashMap;

use dyad_online::model::{Layer, Shape};
use dyad_online::nn::LayerParams;
use ndarray::{Array1, Array2};

use super::Result;
use super::error::{refuse, require};

/// The layers read so far, with what each ONNX name refers to.
pub(super) struct Graph {
    /// ONNX value names and the Dyad values they are.
    names: HashMap<String, usize>,
    /// The layers, in order.
    pub layers: Vec<Layer>,
    /// Their weights, where they have some.
    pub params: Vec<Option<LayerParams<f64>>>,
    /// The shape of each value.
    shapes: Vec<Shape>,
}

impl Graph {
    /// A graph of no layers whose input is the ONNX value `input`.
    pub fn new(input: &str, shape: Shape) -> Graph {
        Graph {
            names: HashMap::from([(input.to_owned(), 0)]),
            layers: Vec::new(),
            params: Vec::new(),
            shapes: vec![shape],
        }
    }

    /// The last value: what the next layer reads unless it takes another.
    pub fn current(&self) -> usize {
        self.layers.len()
    }

    /// The last value's shape.
    pub fn shape(&self) -> Shape {
        self.shapes[self.current()]
    }

    /// The Dyad value of an ONNX name.
    pub fn value(&self, name: &str) -> Result<usize> {
        match self.names.get(name) {
            Some(&v) => Ok(v),
            None => refuse!("the value {name:?} is read before any node makes it"),
        }
    }

    /// Names an ONNX value.
    pub fn name(&mut self, name: &str, value: usize) {
        self.names.insert(name.to_owned(), value);
    }

    /// Makes the value `name` the last one, with a [`Layer::Take`] if it is not.
    pub fn read(&mut self, name: &str) -> Result<()> {
        let from = self.value(name)?;
        self.take(from)
    }

    /// Makes the value `from` the last one, with a [`Layer::Take`] if it is not.
    pub fn take(&mut self, from: usize) -> Result<()> {
        if from != self.current() {
            self.push(Layer::Take { from }, None)?;
        }
        Ok(())
    }

    /// Appends a layer reading the last value.
    pub fn push(&mut self, layer: Layer, params: Option<LayerParams<f64>>) -> Result<()> {
        let input = match layer {
            Layer::Take { from } => self.shapes[from],
            Layer::Add { from } => {
                require!(
                    self.shapes[from] == self.shape(),
                    "Add of values of shapes {:?} and {:?}",
                    self.shapes[from],
                    self.shape()
                );
                self.shape()
            }
            _ => self.shape(),
        };
        self.shapes.push(layer.output(input)?);
        self.layers.push(layer);
        self.params.push(params);
        Ok(())
    }

    /// The sum of two values.
    pub fn add(&mut self, a: usize, b: usize) -> Result<()> {
        let (a, b) = if b == self.current() { (b, a) } else { (a, b) };
        if a != self.current() {
            self.push(Layer::Take { from: a }, None)?;
        }
        self.push(Layer::Add { from: b }, None)
    }

    /// A linear layer `x·w + b` on the last value.
    pub fn dense(&mut self, w: Array2<f64>, b: Array1<f64>) -> Result<()> {
        require!(
            w.nrows() == self.shape().size() && b.len() == w.ncols(),
            "a linear layer of {}x{} weights and {} biases follows {} values",
            w.nrows(),
            w.ncols(),
            b.len(),
            self.shape().size()
        );
        let outputs = w.ncols();
        self.push(Layer::Dense { outputs }, Some(LayerParams { w, b }))
    }

    /// A per-channel affine map `x·scale_j + shift_j` of the last value (a `scale` or `shift`
    /// of one value applies to every channel). Folded into the convolution or linear layer
    /// that made the value when nothing else reads its output: output `j`'s weights and bias
    /// scaled by `scale_j`, the bias shifted by `shift_j`. Otherwise (after the input, a ReLU,
    /// a pooling or a residual sum, or where another node also reads the value) it becomes a
    /// layer of its own whose weights are the diagonal `scale`: a 1x1 convolution on images,
    /// a linear layer on vectors. That costs `channels^2` products per position where `channels`
    /// would do, but needs no operation the protocols do not have.
    pub fn affine(
        &mut self,
        node: &str,
        scale: &[f64],
        shift: &[f64],
        only_reader: bool,
    ) -> Result<()> {
        let shape = self.shape();
        let channels = shape.channels;
        let per_channel = |v: &[f64], j: usize| match v.len() {
            1 => Some(v[0]),
            n if n == channels => Some(v[j]),
            _ => None,
        };
        let mut map = Vec::with_capacity(channels);
        for j in 0..channels {
            let (Some(factor), Some(add)) = (per_channel(scale, j), per_channel(shift, j)) else {
                refuse!("{node:?}: constants for another number of channels than {channels}");
            };
            require!(
                factor.is_finite() && add.is_finite(),
                "{node:?}: channel {j} has the scale {factor} and shift {add}"
            );
            map.push((factor, add));
        }
        match self.params.last_mut() {
            Some(Some(layer)) if only_reader && layer.b.len() == channels => {
                for (j, &(factor, add)) in map.iter().enumerate() {
                    layer.w.column_mut(j).mapv_inplace(|w| w * factor);
                    layer.b[j] = layer.b[j] * factor + add;
                }
                Ok(())
            }
            _ => {
                let w = Array2::from_diag(
                    &map.iter().map(|&(factor, _)| factor).collect::<Array1<_>>(),
                );
                let b = map.iter().map(|&(_, add)| add).collect::<Array1<_>>();
                let layer = match shape.height * shape.width {
                    1 => Layer::Dense { outputs: channels },
                    _ => Layer::Conv {
                        channels,
                        kernel: 1,
                        stride: 1,
                        padding: 0,
                    },
                };
                self.push(layer, Some(LayerParams { w, b }))
            }
        }
    }

    /// Batch normalisation (inference form, `gamma·(x - mean)/sqrt(var + eps) + beta` per
    /// channel) as [`Graph::affine`] with `scale = gamma/sqrt(var + eps)`,
    /// `shift = beta - mean·scale`.
    pub fn batch_norm(&mut self, node: &str, norm: BatchNorm, only_reader: bool) -> Result<()> {
        let BatchNorm {
            scale,
            shift,
            mean,
            variance,
            epsilon,
        } = norm;
        let n = scale.len();
        require!(
            [shift.len(), mean.len(), variance.len()] == [n; 3],
            "BatchNormalization {node:?}: parameters of different lengths"
        );
        let mut factors = Vec::with_capacity(n);
        let mut shifts = Vec::with_capacity(n);
        for j in 0..n {
            let spread = variance[j] + epsilon;
            require!(
                spread > 0.0 && spread.is_finite(),
                "BatchNormalization {node:?}: channel {j} has variance {} with epsilon {epsilon}",
                variance[j]
            );
            let factor = scale[j] / spread.sqrt();
            factors.push(factor);
            shifts.push(shift[j] - mean[j] * factor);
        }
        self.affine(
            &format!("BatchNormalization {node}"),
            &factors,
            &shifts,
            only_reader,
        )
    }
}

/// A `BatchNormalization` node's constants.
pub(super) struct BatchNorm {
    /// `gamma`, per channel.
    pub scale: Vec<f64>,
    /// `beta`, per channel.
    pub shift: Vec<f64>,
    /// The running mean.
    pub mean: Vec<f64>,
    /// The running variance.
    pub variance: Vec<f64>,
    /// Added to the variance.
    pub epsilon: f64,
}
