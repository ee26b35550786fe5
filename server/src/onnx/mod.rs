//! ONNX import: a network exported by PyTorch (`torch.onnx.export`), a chain of layers or a
//! graph such as a residual network, becomes a plaintext Dyad model, ready for `dyad import`
//! to split.
//!
//! Supported: `Gemm` (or `MatMul` then a bias `Add`), `Conv` (square kernels, equal strides
//! and paddings, no groups or dilation), `Relu`, `MaxPool` (square windows, any stride and
//! padding), `AveragePool` (square windows, no padding), `GlobalAveragePool`, `Add` of two
//! values (a residual connection), `BatchNormalization` and `Add`/`Sub`/`Mul`/`Div` by
//! constants (scalars or per channel: folded into the `Conv` or `Gemm` before them, or a
//! diagonal layer of their own where there is none, [`graph`]), `Pad` of zeros (the same on
//! every side, folded into the `Conv` after it), `Flatten` or a flattening `Reshape`;
//! `Constant`, `Identity` and `Dropout` are passed over, and a final `Softmax`/`LogSoftmax`
//! is dropped (the servers return logits, whose argmax is the same). Nodes may read any
//! earlier value (the graph is taken in the file's order, which ONNX requires to be
//! topological).
//! Any other operator is an error naming it. PyTorch's layouts become Dyad's: a linear weight
//! `(out, in)` is transposed to `(in, out)`; a convolution weight `(out, c, k, k)` becomes the
//! im2col matrix `(c·k·k, out)`; flattening is channel-major in both.
//!
//! The weights must fit the truncation window (PROTOCOLS.md, "Accepted departures"): each
//! within the operand limit, and every layer's products inside the window for inputs within
//! it (`dyad_online::nn::window`). A model that could make the servers' results silently wrong
//! is refused, naming the layer.

mod error;
mod graph;
mod proto;

use std::collections::HashMap;

use dyad_online::model::{Layer, Network, Shape};
use dyad_online::nn::window::{self, Vouched};
use dyad_online::nn::{LayerParams, Params};
use dyad_online::{FixedPoint, Z64};
use ndarray::{Array1, Array2};
use prost::Message;

use crate::model_file::{Holder, ModelFile};
pub use error::ImportError;
use error::{refuse, require};
use graph::{BatchNorm, Graph};

/// Every step of an import fails with an [`ImportError`].
type Result<T> = std::result::Result<T, ImportError>;
use proto::{AttributeProto, ModelProto, NodeProto, TensorProto};

/// Operators with a Dyad layer, and those passed over.
const LAYERS: [&str; 15] = [
    "AveragePool",
    "Pad",
    "Gemm",
    "MatMul",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Conv",
    "BatchNormalization",
    "Relu",
    "MaxPool",
    "GlobalAveragePool",
    "Flatten",
    "Reshape",
];
const PASSED_OVER: [&str; 5] = ["Constant", "Identity", "Dropout", "Softmax", "LogSoftmax"];

/// The plaintext model in an ONNX file's bytes, named `name`, and how it was vouched for
/// inside the truncation window.
pub fn import(bytes: &[u8], name: &str, fixed: FixedPoint) -> Result<(ModelFile, Vouched)> {
    let model = ModelProto::decode(bytes)?;
    let graph = model
        .graph
        .ok_or_else(|| refused("the ONNX model has no graph"))?;
    // Each unsupported operator once, with the first node that uses it.
    let mut unsupported: Vec<String> = Vec::new();
    for n in &graph.node {
        let op = n.op_type.as_str();
        let known = LAYERS.contains(&op) || PASSED_OVER.contains(&op);
        if !known && !unsupported.iter().any(|u| u.split(' ').next() == Some(op)) {
            let name = match n.name.is_empty() {
                true => n.output.first().map_or("", String::as_str),
                false => n.name.as_str(),
            };
            unsupported.push(format!("{op} (node {name:?})"));
        }
    }
    if !unsupported.is_empty() {
        return Err(ImportError::Unsupported {
            found: unsupported,
            supported: &LAYERS,
            passed_over: &PASSED_OVER,
        });
    }
    let mut tensors: HashMap<String, TensorProto> = graph
        .initializer
        .iter()
        .map(|t| (t.name.clone(), t.clone()))
        .collect();
    let data: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !tensors.contains_key(&i.name))
        .collect();
    require!(
        data.len() == 1,
        "expected one data input, the graph has {}",
        data.len()
    );
    let dims: Vec<usize> = data[0]
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .and_then(|t| t.shape.as_ref())
        .map(|s| s.dim.iter().map(|d| d.dim_value.max(0) as usize).collect())
        .unwrap_or_default();
    // Sizes are checked before any arithmetic: the file may be hostile.
    let fits = |d: &[usize]| {
        d.iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .is_some_and(|n| n > 0 && n <= MAX_INPUT_VALUES)
    };
    let input = match dims[..] {
        [_, c, h, w] if fits(&[c, h, w]) => Shape {
            channels: c,
            height: h,
            width: w,
        },
        [_, f] if fits(&[f]) => Shape::vector(f),
        _ => refuse!(
            "the data input {} has shape {dims:?}; expected (batch, channels, height, width) or (batch, features)",
            data[0].name
        ),
    };

    let mut g = Graph::new(&data[0].name, input);
    // How many nodes (and graph outputs) read each value: a batch normalisation is folded only
    // into a layer whose output nothing else reads (otherwise it is a layer of its own).
    let mut readers: HashMap<&str, usize> = HashMap::new();
    let read_names = graph.node.iter().flat_map(|n| n.input.iter());
    for name in read_names.chain(graph.output.iter().map(|o| &o.name)) {
        *readers.entry(name.as_str()).or_default() += 1;
    }
    // The outputs of `Pad` nodes: the value padded and the padding, for the Conv that reads it.
    let mut padded: HashMap<&str, (usize, usize)> = HashMap::new();
    let last = graph.node.len().saturating_sub(1);
    for (k, node) in graph.node.iter().enumerate() {
        let op = node.op_type.as_str();
        if op == "Constant" {
            let value = attribute(node, "value")
                .and_then(|a| a.t.clone())
                .ok_or_else(|| refused("a Constant node without a tensor value"))?;
            if let Some(out) = node.output.first() {
                tensors.insert(out.clone(), value);
            }
            continue;
        }
        let first = node
            .input
            .first()
            .ok_or_else(|| refused(&format!("{op} {:?} has no input", node.name)))?;
        let tensor = |i: usize| -> Result<&TensorProto> {
            let name = node
                .input
                .get(i)
                .ok_or_else(|| refused("a missing operand"))?;
            tensors.get(name).ok_or_else(|| {
                ImportError::Graph(format!("{op} operand {name} is not a constant tensor"))
            })
        };
        let is_constant = |i: usize| node.input.get(i).is_some_and(|n| tensors.contains_key(n));
        match op {
            // Zeros around height and width, the same on every side: folded into the Conv that
            // reads the result (as its own padding would be). A Pad of nothing (PyTorch puts
            // one before every AvgPool2d) is passed over.
            "Pad" => {
                let given = |i: usize| node.input.get(i).filter(|n| !n.is_empty()).is_some();
                let pads = match given(1) {
                    true => int64s(tensor(1)?)?,
                    false => ints(node, "pads", &[]),
                };
                let zero = match given(2) {
                    true => floats(tensor(2)?)?.iter().all(|&v| v == 0.0),
                    false => float(node, "value", 0.0) == 0.0,
                };
                let mode = attribute(node, "mode").map_or(&b"constant"[..], |a| &a.s[..]);
                let side = match pads[..] {
                    [0, 0, t, l, 0, 0, b, r] if [l, b, r] == [t; 3] && t >= 0 => Some(t),
                    _ => None,
                };
                let (Some(side), true, b"constant") = (side, zero, mode) else {
                    refuse!(
                        "Pad {:?}: Dyad folds only zeros, the same on every side of height and \
                         width, into the Conv that reads them (pads {pads:?})",
                        node.name
                    );
                };
                if let Some(out) = node.output.first() {
                    match side {
                        0 => g.name(out, g.value(first)?),
                        _ => {
                            padded.insert(out, (g.value(first)?, side as usize));
                        }
                    }
                }
                continue;
            }
            // Passed over: the output is the input.
            "Identity" | "Dropout" | "Softmax" | "LogSoftmax" => {
                require!(
                    !matches!(op, "Softmax" | "LogSoftmax") || k == last,
                    "{op} {:?} is not the last node; Dyad drops only a final one",
                    node.name
                );
                let value = g.value(first)?;
                if let Some(out) = node.output.first() {
                    g.name(out, value);
                }
                continue;
            }
            "Add" | "Sub" | "Mul" | "Div" if is_constant(0) || is_constant(1) => {
                let (value_at, constant_at) = match is_constant(1) {
                    true => (0, 1),
                    false => (1, 0),
                };
                require!(
                    constant_at == 1 || op != "Div",
                    "Div {:?}: a constant divided by a value is not supported",
                    node.name
                );
                let value = &node.input[value_at];
                let c = floats(tensor(constant_at)?)?;
                g.read(value)?;
                let (scale, shift) = match op {
                    "Add" => (vec![1.0], c),
                    "Sub" if constant_at == 0 => (vec![-1.0], c),
                    "Sub" => (vec![1.0], c.iter().map(|v| -v).collect()),
                    "Mul" => (c, vec![0.0]),
                    _ => (c.iter().map(|v| v.recip()).collect(), vec![0.0]),
                };
                let only_reader = readers.get(value.as_str()) == Some(&1);
                let name = format!("{op} {}", node.name);
                g.affine(&name, &scale, &shift, only_reader)?;
            }
            "Add" => {
                let second = node
                    .input
                    .get(1)
                    .ok_or_else(|| refused("Add of one value"))?;
                g.add(g.value(first)?, g.value(second)?)?;
            }
            "BatchNormalization" => {
                // Opsets 14 and later may ask for the batch's own statistics (training).
                require!(
                    int(node, "training_mode", 0) == 0,
                    "BatchNormalization {:?}: Dyad takes the running statistics \
                     (training_mode 0), as an export in eval mode writes",
                    node.name
                );
                g.read(first)?;
                let norm = BatchNorm {
                    scale: floats(tensor(1)?)?,
                    shift: floats(tensor(2)?)?,
                    mean: floats(tensor(3)?)?,
                    variance: floats(tensor(4)?)?,
                    epsilon: f64::from(float(node, "epsilon", 1e-5)),
                };
                let only_reader = readers.get(first.as_str()) == Some(&1);
                g.batch_norm(&node.name, norm, only_reader)?;
            }
            _ => {
                let extra = match padded.get(first.as_str()) {
                    Some(&(value, side)) => {
                        require!(
                            op == "Conv" && readers.get(first.as_str()) == Some(&1),
                            "{op} {:?} reads the output of a Pad: Dyad folds a Pad only into the \
                             one Conv that reads it",
                            node.name
                        );
                        g.take(value)?;
                        side
                    }
                    None => {
                        g.read(first)?;
                        0
                    }
                };
                layer(&mut g, node, &tensor, extra)?;
            }
        }
        if let Some(out) = node.output.first() {
            g.name(out, g.current());
        }
    }
    require!(!g.layers.is_empty(), "the graph has no layers");
    if let [output] = &graph.output[..] {
        g.read(&output.name)?;
    }
    let network = Network {
        name: name.to_owned(),
        input,
        layers: g.layers,
    };
    network.shapes()?;
    // The weights come from the file: a NaN, an infinity or a value beyond the operand limit is
    // refused here by name (a NaN once reached the encoder and panicked: found by fuzzing),
    // then whatever could take a product out of the truncation window.
    let params = encode(&g.params, fixed)?;
    let vouched = window::vouch(&network, &params, fixed)?;
    let model = ModelFile {
        holder: Holder::Plain,
        fixed,
        network,
        params,
    };
    Ok((model, vouched))
}

/// The layer of an operator that reads one value (the last one) and may have weights; a Conv
/// pads by `extra` more (a `Pad` folded into it).
fn layer<'a>(
    g: &mut Graph,
    node: &NodeProto,
    tensor: &dyn Fn(usize) -> Result<&'a TensorProto>,
    extra: usize,
) -> Result<()> {
    let op = node.op_type.as_str();
    match op {
        "Gemm" => {
            require!(
                int(node, "transA", 0) == 0
                    && float(node, "alpha", 1.0) == 1.0
                    && float(node, "beta", 1.0) == 1.0,
                "Gemm {:?}: only alpha = beta = 1 without transA",
                node.name
            );
            let b = matrix(tensor(1)?)?;
            let w = match int(node, "transB", 0) {
                0 => b,
                _ => b.reversed_axes(),
            };
            let bias = match node.input.get(2) {
                Some(_) => Array1::from(floats(tensor(2)?)?),
                None => Array1::zeros(w.ncols()),
            };
            g.dense(w, bias)?;
        }
        "MatMul" => {
            let w = matrix(tensor(1)?)?;
            let bias = Array1::zeros(w.ncols());
            g.dense(w, bias)?;
        }
        "Conv" => {
            let w = tensor(1)?;
            let dims: Option<Vec<usize>> = w
                .dims
                .iter()
                .map(|&d| usize::try_from(d).ok().filter(|&d| d > 0))
                .collect();
            let Some(&[out, c, kh, kw]) = dims.as_deref() else {
                refuse!(
                    "Conv {:?}: the weight's dims {:?} are not 4 positive sizes",
                    node.name,
                    w.dims
                );
            };
            let strides = ints(node, "strides", &[1, 1]);
            let pads = ints(node, "pads", &[0, 0, 0, 0]);
            require!(
                kh == kw
                    && strides.len() == 2
                    && strides[0] == strides[1]
                    && strides[0] > 0
                    && pads.len() == 4
                    && pads.iter().all(|&p| p == pads[0])
                    && (0..kh as i64).contains(&pads[0].saturating_add(extra as i64))
                    && ints(node, "dilations", &[1, 1]).iter().all(|&d| d == 1)
                    && int(node, "group", 1) == 1,
                "Conv {:?}: Dyad takes square kernels, equal positive strides, equal \
                 paddings smaller than the kernel, no dilation or groups",
                node.name
            );
            let values = floats(w)?;
            let patch = kh
                .checked_mul(kw)
                .and_then(|k| k.checked_mul(c))
                .ok_or_else(|| {
                    ImportError::Graph(format!("Conv {:?}: the weight is too large", node.name))
                })?;
            let w = Array2::from_shape_vec((out, patch), values)
                .map_err(|e| ImportError::Graph(format!("Conv {:?}: {e}", node.name)))?
                .reversed_axes();
            let bias = match node.input.get(2) {
                Some(_) => Array1::from(floats(tensor(2)?)?),
                None => Array1::zeros(out),
            };
            let layer = Layer::Conv {
                channels: out,
                kernel: kh,
                stride: strides[0] as usize,
                padding: pads[0] as usize + extra,
            };
            require!(
                c == g.shape().channels,
                "Conv {:?} takes {c} channels, its input has {}",
                node.name,
                g.shape().channels
            );
            g.push(layer, Some(LayerParams { w, b: bias }))?;
        }
        "Relu" => g.push(Layer::Relu, None)?,
        "MaxPool" => {
            require!(
                node.output.iter().skip(1).all(String::is_empty),
                "MaxPool {:?}: Dyad does not output the indices",
                node.name
            );
            let (kernel, stride, padding) = pool_window(node)?;
            g.push(
                Layer::MaxPool {
                    kernel,
                    stride,
                    padding,
                },
                None,
            )?;
        }
        "Flatten" => {
            require!(
                int(node, "axis", 1) == 1,
                "Flatten {:?}: only axis 1",
                node.name
            );
            g.push(Layer::Flatten, None)?;
        }
        "Reshape" => {
            let target = int64s(tensor(1)?)?;
            let size = g.shape().size() as i64;
            require!(
                matches!(target[..], [_, t] if t == -1 || t == size),
                "Reshape {:?} to {target:?}: only flattening to (batch, {size})",
                node.name
            );
            g.push(Layer::Flatten, None)?;
        }
        "GlobalAveragePool" => g.push(Layer::GlobalAvgPool, None)?,
        "AveragePool" => {
            let (kernel, stride, padding) = pool_window(node)?;
            require!(
                padding == 0,
                "AveragePool {:?}: Dyad takes no padding",
                node.name
            );
            g.push(Layer::AvgPool { kernel, stride }, None)?;
        }
        _ => refuse!("{op} {:?} is not an operator Dyad imports", node.name),
    }
    Ok(())
}

/// The layers' weights and biases as fixed-point operands.
fn encode(layers: &[Option<LayerParams<f64>>], fixed: FixedPoint) -> Result<Params<Z64>> {
    let mut params = Vec::with_capacity(layers.len());
    for (i, layer) in layers.iter().enumerate() {
        let Some(l) = layer else {
            params.push(None);
            continue;
        };
        let operand = |what: &'static str, value: f64| {
            fixed
                .encode_operand(value)
                .map_err(|source| ImportError::Operand {
                    layer: i + 1,
                    what,
                    value,
                    f: fixed.f,
                    source,
                })
        };
        let mut w = Array2::from_elem(l.w.dim(), Z64::ZERO);
        for (at, &v) in l.w.indexed_iter() {
            w[at] = operand("weight", v)?;
        }
        let mut b = Array1::from_elem(l.b.len(), Z64::ZERO);
        for (at, &v) in l.b.indexed_iter() {
            b[at] = operand("bias", v)?;
        }
        params.push(Some(LayerParams { w, b }));
    }
    Ok(Params { layers: params })
}

/// The most values one input example may have (a 4096 x 4096 RGB image is 50M).
const MAX_INPUT_VALUES: usize = 1 << 26;

fn attribute<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// The largest pooling window Dyad takes: far beyond any image it serves, and small enough
/// that a hostile file's sizes cannot overflow the layout.
const MAX_WINDOW: i64 = 1 << 12;

/// A pooling node's square window: its side, stride and padding (the same on every side);
/// no dilation, ceil mode or automatic padding. ONNX's default stride is 1.
fn pool_window(node: &NodeProto) -> Result<(usize, usize, usize)> {
    let kernel = ints(node, "kernel_shape", &[]);
    let strides = ints(node, "strides", &[1, 1]);
    let pads = ints(node, "pads", &[0, 0, 0, 0]);
    let automatic = attribute(node, "auto_pad").map_or(&b"NOTSET"[..], |a| &a.s[..]);
    let plain = ints(node, "dilations", &[1, 1]).iter().all(|&d| d == 1)
        && int(node, "ceil_mode", 0) == 0
        && automatic == b"NOTSET";
    match (&kernel[..], &strides[..], &pads[..]) {
        (&[k, k2], &[s, s2], &[p, ..])
            if plain
                && k == k2
                && (1..=MAX_WINDOW).contains(&k)
                && s == s2
                && (1..=MAX_WINDOW).contains(&s)
                && pads.len() == 4
                && pads.iter().all(|&q| q == p)
                && (0..k).contains(&p) =>
        {
            Ok((k as usize, s as usize, p as usize))
        }
        _ => refuse!(
            "{} {:?}: Dyad takes square windows up to {MAX_WINDOW}, equal positive strides, \
             the same padding on every side (smaller than the window), no dilation, ceil \
             mode or automatic padding",
            node.op_type,
            node.name
        ),
    }
}

fn int(node: &NodeProto, name: &str, default: i64) -> i64 {
    attribute(node, name).map_or(default, |a| a.i)
}

fn float(node: &NodeProto, name: &str, default: f32) -> f32 {
    attribute(node, name).map_or(default, |a| a.f)
}

fn ints(node: &NodeProto, name: &str, default: &[i64]) -> Vec<i64> {
    attribute(node, name).map_or(default.to_vec(), |a| a.ints.clone())
}

/// A float tensor's values.
fn floats(t: &TensorProto) -> Result<Vec<f64>> {
    require!(
        t.data_type == proto::FLOAT,
        "tensor {} is not float32 (type {})",
        t.name,
        t.data_type
    );
    Ok(match t.raw_data.is_empty() {
        true => t.float_data.iter().map(|&v| f64::from(v)).collect(),
        false => t
            .raw_data
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes"))))
            .collect(),
    })
}

/// An int64 tensor's values.
fn int64s(t: &TensorProto) -> Result<Vec<i64>> {
    require!(
        t.data_type == proto::INT64,
        "tensor {} is not int64",
        t.name
    );
    Ok(match t.raw_data.is_empty() {
        true => t.int64_data.clone(),
        false => t
            .raw_data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect(),
    })
}

/// A 2-D float tensor.
fn matrix(t: &TensorProto) -> Result<Array2<f64>> {
    let [rows, cols] = t.dims[..] else {
        refuse!("tensor {} is not a matrix (dims {:?})", t.name, t.dims);
    };
    let values = floats(t)?;
    Array2::from_shape_vec((rows as usize, cols as usize), values)
        .map_err(|e| ImportError::Graph(format!("tensor {}: {e}", t.name)))
}

/// A refusal of the graph's structure.
fn refused(message: &str) -> ImportError {
    ImportError::Graph(message.to_owned())
}

#[cfg(test)]
mod tests;
