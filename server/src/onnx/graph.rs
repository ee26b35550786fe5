//! The Dyad network an ONNX graph becomes, built node by node: ONNX names values, Dyad numbers
//! them (0 the input, `i` the output of layer `i`), and a node that does not read the last
//! value starts with a [`Layer::Take`] of the one it reads. Residual sums become
//! [`Layer::Add`]; a `BatchNormalization` is folded into the convolution or linear layer
//! before it.

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

    /// A bias `Add` right after a `MatMul`.
    pub fn bias(&mut self, values: Vec<f64>, node: &str) -> Result<()> {
        let Some(Some(last)) = self.params.last_mut() else {
            refuse!(
                "Add {node:?} of a constant does not follow a MatMul: only bias additions are \
                 supported"
            );
        };
        require!(
            matches!(self.layers.last(), Some(Layer::Dense { .. }))
                && values.len() == last.b.len()
                && last.b.iter().all(|&b| b == 0.0),
            "Add {node:?} is not the bias of the MatMul before it"
        );
        last.b = Array1::from(values);
        Ok(())
    }

    /// Folds batch normalisation (inference form, `gamma·(x - mean)/sqrt(var + eps) + beta`
    /// per channel) into the convolution or linear layer that made the last value: its
    /// output `j`'s weights and bias scaled by `gamma_j/sqrt(var_j + eps)`, the bias shifted.
    /// Nothing else may read that layer's output, or folding would change it there too.
    pub fn fold_batch_norm(
        &mut self,
        node: &str,
        norm: BatchNorm,
        only_reader: bool,
    ) -> Result<()> {
        let channels = self.shape().channels;
        let Some(Some(layer)) = self.params.last_mut() else {
            refuse!(
                "BatchNormalization {node:?} does not follow a Conv or Gemm: Dyad folds batch \
                 normalisation into the layer before it"
            );
        };
        require!(
            only_reader,
            "BatchNormalization {node:?} normalises a value other nodes also read"
        );
        let BatchNorm {
            scale,
            shift,
            mean,
            variance,
            epsilon,
        } = norm;
        require!(
            [&scale, &shift, &mean, &variance]
                .iter()
                .all(|v| v.len() == channels && v.len() == layer.b.len()),
            "BatchNormalization {node:?}: parameters for another number of channels than {channels}"
        );
        for j in 0..channels {
            let spread = variance[j] + epsilon;
            require!(
                spread > 0.0 && spread.is_finite(),
                "BatchNormalization {node:?}: channel {j} has variance {} with epsilon {epsilon}",
                variance[j]
            );
            let factor = scale[j] / spread.sqrt();
            layer.w.column_mut(j).mapv_inplace(|w| w * factor);
            layer.b[j] = (layer.b[j] - mean[j]) * factor + shift[j];
        }
        Ok(())
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
