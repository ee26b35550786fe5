//! ONNX graphs as PyTorch exports them, built here, imported, and run against a forward pass
//! written with PyTorch's semantics and layouts.

use dyad_online::nn::{Backend, PlainFloat, predict};
use ndarray::{Array4, ArrayD, IxDyn};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::proto::*;
use super::*;

fn tensor(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.to_vec(),
        data_type: FLOAT,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        name: name.into(),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attributes: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| (*s).into()).collect(),
        output: vec![output.into()],
        name: format!("/{op}_{output}"),
        op_type: op.into(),
        attribute: attributes,
    }
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: values.to_vec(),
        ..Default::default()
    }
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: value,
        ..Default::default()
    }
}

fn input(name: &str, dims: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorType {
                shape: Some(TensorShapeProto {
                    dim: dims.iter().map(|&d| Dimension { dim_value: d }).collect(),
                }),
            }),
        }),
    }
}

fn model(inputs: Vec<ValueInfoProto>, nodes: Vec<NodeProto>, init: Vec<TensorProto>) -> Vec<u8> {
    ModelProto {
        graph: Some(GraphProto {
            node: nodes,
            initializer: init,
            input: inputs,
            output: vec![],
        }),
    }
    .encode_to_vec()
}

fn random(n: usize, rng: &mut ChaCha20Rng) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-0.5..0.5)).collect()
}

/// PyTorch's `conv2d` (stride 1, zero padding `pad`) on one image `(c, h, w)`.
fn conv(x: &Array4<f64>, w: &[f32], b: &[f32], out: usize, k: usize, pad: usize) -> Array4<f64> {
    let (_, c, h, wd) = x.dim();
    let (oh, ow) = (h + 2 * pad - k + 1, wd + 2 * pad - k + 1);
    Array4::from_shape_fn((1, out, oh, ow), |(_, o, y, xx)| {
        let mut sum = f64::from(b[o]);
        for ch in 0..c {
            for ky in 0..k {
                for kx in 0..k {
                    let (sy, sx) = ((y + ky) as i64 - pad as i64, (xx + kx) as i64 - pad as i64);
                    if sy >= 0 && sx >= 0 && (sy as usize) < h && (sx as usize) < wd {
                        let weight = w[((o * c + ch) * k + ky) * k + kx];
                        sum += f64::from(weight) * x[[0, ch, sy as usize, sx as usize]];
                    }
                }
            }
        }
        sum
    })
}

/// PyTorch's `max_pool2d` of `(kernel, stride, padding)`: the padding is `-inf`.
fn maxpool(x: &Array4<f64>, (k, s, pad): (usize, usize, usize)) -> Array4<f64> {
    let (n, c, h, w) = x.dim();
    let (oh, ow) = ((h + 2 * pad - k) / s + 1, (w + 2 * pad - k) / s + 1);
    Array4::from_shape_fn((n, c, oh, ow), |(i, ch, y, xx)| {
        let mut max = f64::NEG_INFINITY;
        for ky in 0..k {
            for kx in 0..k {
                let (sy, sx) = (
                    (y * s + ky).wrapping_sub(pad),
                    (xx * s + kx).wrapping_sub(pad),
                );
                if sy < h && sx < w {
                    max = max.max(x[[i, ch, sy, sx]]);
                }
            }
        }
        max
    })
}

/// PyTorch's `linear`: `x W^T + b` with `W` as `(out, in)`.
fn linear(x: &[f64], w: &[f32], b: &[f32]) -> Vec<f64> {
    (0..b.len())
        .map(|o| {
            let row = &w[o * x.len()..(o + 1) * x.len()];
            f64::from(b[o])
                + row
                    .iter()
                    .zip(x)
                    .map(|(&w, &x)| f64::from(w) * x)
                    .sum::<f64>()
        })
        .collect()
}

/// A PyTorch-style conv net on 1x6x6 inputs (conv 2 3x3 padding 1, ReLU, max pool of
/// `(kernel, stride, padding)` to 3x3, flatten, linear to 3, softmax) with random weights,
/// and those weights.
fn conv_net(rng: &mut ChaCha20Rng, (k, s, pad): (i64, i64, i64)) -> (Vec<u8>, [Vec<f32>; 4]) {
    let (cw, cb) = (random(2 * 3 * 3, rng), random(2, rng));
    let (lw, lb) = (random(3 * 18, rng), random(3, rng));
    let bytes = model(
        vec![input("x", &[0, 1, 6, 6])],
        vec![
            node(
                "Conv",
                &["x", "conv.weight", "conv.bias"],
                "c",
                vec![
                    ints("kernel_shape", &[3, 3]),
                    ints("pads", &[1, 1, 1, 1]),
                    ints("strides", &[1, 1]),
                ],
            ),
            node("Relu", &["c"], "r", vec![]),
            node(
                "MaxPool",
                &["r"],
                "p",
                vec![
                    ints("kernel_shape", &[k, k]),
                    ints("strides", &[s, s]),
                    ints("pads", &[pad; 4]),
                ],
            ),
            node("Flatten", &["p"], "f", vec![int("axis", 1)]),
            node(
                "Gemm",
                &["f", "fc.weight", "fc.bias"],
                "y",
                vec![int("transB", 1)],
            ),
            node("Softmax", &["y"], "probs", vec![]),
        ],
        vec![
            tensor("conv.weight", &[2, 1, 3, 3], &cw),
            tensor("conv.bias", &[2], &cb),
            tensor("fc.weight", &[3, 18], &lw),
            tensor("fc.bias", &[3], &lb),
        ],
    );
    (bytes, [cw, cb, lw, lb])
}

/// `x (1x2x2) -> reshape -> matmul w (4x2) -> add b`.
fn matmul_net(w: &[f32], b: &[f32]) -> Vec<u8> {
    let shape = TensorProto {
        dims: vec![2],
        data_type: INT64,
        int64_data: vec![-1, 4],
        name: "shape".into(),
        ..Default::default()
    };
    model(
        vec![input("x", &[0, 1, 2, 2])],
        vec![
            node("Reshape", &["x", "shape"], "f", vec![]),
            node("MatMul", &["f", "w"], "m", vec![]),
            node("Add", &["m", "b"], "y", vec![]),
        ],
        vec![shape, tensor("w", &[4, 2], w), tensor("b", &[2], b)],
    )
}

#[tokio::test]
async fn a_pytorch_style_conv_net_imports_with_its_layouts() {
    // PyTorch's 2x2 pooling, and the 3x3 one with stride 2 and padding of ResNet stems.
    for pool in [(2, 2, 0), (3, 2, 1)] {
        conv_net_matches_pytorch(pool).await;
    }
}

async fn conv_net_matches_pytorch((k, s, pad): (usize, usize, usize)) {
    let mut rng = ChaCha20Rng::seed_from_u64(5 + k as u64);
    let (bytes, [cw, cb, lw, lb]) = conv_net(&mut rng, (k as i64, s as i64, pad as i64));
    let fixed = FixedPoint::default();
    let (imported, _) = import(&bytes, "tiny", fixed).expect("imports");
    assert_eq!(
        imported
            .network
            .to_string()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count(),
        6
    );

    let x = Array4::from_shape_fn((1, 1, 6, 6), |_| rng.random_range(0.0..1.0));
    let hidden = maxpool(
        &conv(&x, &cw, &cb, 2, 3, 1).mapv(|v| v.max(0.0)),
        (k, s, pad),
    );
    let want = linear(hidden.as_slice().expect("contiguous"), &lw, &lb);

    let mut float = PlainFloat {
        fixed,
        exp: dyad_online::protocols::Exp::default(),
    };
    let params = imported.params.clone();
    // The imported (fixed-point) weights, decoded, in the float backend.
    let params = Params {
        layers: params
            .layers
            .iter()
            .map(|l| {
                l.as_ref().map(|l| LayerParams {
                    w: l.w.mapv(|z| fixed.decode(z)),
                    b: l.b.mapv(|z| fixed.decode(z)),
                })
            })
            .collect(),
    };
    let x =
        ArrayD::from_shape_vec(IxDyn(&[1, 1, 6, 6]), x.iter().copied().collect()).expect("shape");
    let x = float.import(&x);
    let got = predict(&mut float, &imported.network, &params, x)
        .await
        .expect("forward");
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-3, "{got:?} vs {want:?}");
    }
}

#[test]
fn matmul_with_a_bias_add_and_a_flattening_reshape_import_too() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let w = random(4 * 2, &mut rng);
    let bytes = matmul_net(&w, &[0.25, -0.5]);
    let (imported, _) = import(&bytes, "mm", FixedPoint::default()).expect("imports");
    let dense = imported.params.layers[1].as_ref().expect("dense");
    let fixed = FixedPoint::default();
    assert_eq!(dense.b.mapv(|z| fixed.decode(z)).to_vec(), vec![0.25, -0.5]);
    assert_eq!(dense.w.dim(), (4, 2));
}

#[test]
fn unsupported_operators_are_named() {
    let bytes = model(
        vec![input("x", &[0, 4])],
        vec![
            node("GlobalMaxPool", &["x"], "a", vec![]),
            node("Sigmoid", &["a"], "b", vec![]),
            node("Sigmoid", &["b"], "c", vec![]),
        ],
        vec![],
    );
    let err = import(&bytes, "bad", FixedPoint::default()).expect_err("unsupported");
    let text = err.to_string();
    assert!(
        text.contains("GlobalMaxPool (node \"/GlobalMaxPool_a\"), Sigmoid (node \"/Sigmoid_b\")"),
        "{text}"
    );
    assert!(import(b"not protobuf at all", "x", FixedPoint::default()).is_err());
}

#[test]
fn hostile_sizes_are_refused_with_a_message_not_a_panic() {
    let conv = |dims: &[i64], attributes: Vec<AttributeProto>| {
        let w = tensor("w", dims, &[0.5; 4]);
        model(
            vec![input("x", &[0, 1, 4, 4])],
            vec![node("Conv", &["x", "w"], "y", attributes)],
            vec![w],
        )
    };
    let pool = |attributes: Vec<AttributeProto>| {
        let mut pool = node("MaxPool", &["x"], "y", attributes);
        pool.output.push("indices".into());
        model(vec![input("x", &[0, 1, 4, 4])], vec![pool], vec![])
    };
    let window = |k: i64, pads: [i64; 4]| vec![ints("kernel_shape", &[k, k]), ints("pads", &pads)];
    for (bytes, words) in [
        (pool(window(2, [0; 4])), "does not output the indices"),
        (
            model(
                vec![input("x", &[0, 1, 4, 4])],
                vec![node("MaxPool", &["x"], "y", window(i64::MAX, [0; 4]))],
                vec![],
            ),
            "square windows up to 4096",
        ),
        (
            model(
                vec![input("x", &[0, 1, 4, 4])],
                vec![node("MaxPool", &["x"], "y", window(3, [1, 1, 0, 0]))],
                vec![],
            ),
            "the same padding on every side",
        ),
        (
            model(
                vec![input("x", &[0, 1, 4, 4])],
                vec![node("MaxPool", &["x"], "y", window(2, [2; 4]))],
                vec![],
            ),
            "smaller than the window",
        ),
        (
            model(
                vec![input("x", &[0, 1, 4, 4])],
                vec![node(
                    "MaxPool",
                    &["x"],
                    "y",
                    [window(2, [0; 4]), vec![int("ceil_mode", 1)]].concat(),
                )],
                vec![],
            ),
            "ceil",
        ),
        (conv(&[-1, 1, 2, 2], vec![]), "not 4 positive sizes"),
        (conv(&[1, 1, 2, i64::MAX], vec![]), "square kernels"),
        (
            conv(&[1, 1, 2, 2], vec![ints("strides", &[0, 0])]),
            "positive strides",
        ),
        (
            conv(&[1, 1, 2, 2], vec![ints("pads", &[9, 9, 9, 9])]),
            "smaller than the kernel",
        ),
        (
            model(
                vec![input("x", &[0, 1 << 40, 1 << 40, 1 << 40])],
                vec![],
                vec![],
            ),
            "has shape",
        ),
    ] {
        let err = import(&bytes, "hostile", FixedPoint::default()).expect_err(words);
        assert!(format!("{err:#}").contains(words), "{words}: {err:#}");
    }
}

/// Found by a long fuzzing run: a NaN weight reached the fixed-point encoder and panicked.
#[test]
fn weights_fixed_point_cannot_hold_are_refused() {
    for bad in [f32::NAN, f32::INFINITY, 1e30] {
        let bytes = model(
            vec![input("x", &[0, 2])],
            vec![node("MatMul", &["x", "w"], "y", vec![])],
            vec![tensor("w", &[2, 1], &[0.5, bad])],
        );
        let err = import(&bytes, "bad", FixedPoint::default()).expect_err("refused");
        assert!(err.to_string().contains("cannot hold"), "{bad}: {err}");
    }
}

/// The operand limit (PROTOCOLS.md, "Accepted departures"): weights and biases at the limit
/// import, the next `f32` beyond it is refused by layer, value and limit.
#[test]
fn a_weight_just_beyond_the_operand_limit_is_refused_and_one_at_it_imported() {
    let fixed = FixedPoint::default();
    let limit = fixed.operand_limit() as f32;
    let (imported, _) = import(
        &matmul_net(
            &[limit, 0.5, 0.0, -limit, 0.0, 0.0, 0.0, 0.0],
            &[-limit, 0.0],
        ),
        "at",
        fixed,
    )
    .expect("at the limit");
    let dense = imported.params.layers[1].as_ref().expect("the MatMul");
    assert_eq!(fixed.decode(dense.w[[0, 0]]), 256.0);
    assert_eq!(fixed.decode(dense.b[0]), -256.0);
    let beyond = f32::from_bits(limit.to_bits() + 1);
    let err = import(
        &matmul_net(&[0.5, beyond, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], &[0.0; 2]),
        "beyond",
        fixed,
    )
    .expect_err("beyond the limit");
    let text = format!("{err:#}");
    assert!(
        text.contains(&format!("layer 2 has the weight {beyond}")) && text.contains("±256"),
        "{text}"
    );
}

/// Weights each within the limit whose products could still leave the truncation window for
/// inputs within it: three 4x4 MatMuls of 256 (|w|_1 = 2^10 per output) take inputs of 256
/// (2^8) to 2^18, 2^28, 2^38, that is 2^50, 2^60 and 2^70 at twice the fractional bits; the
/// third is refused by layer, the first two alone import.
#[test]
fn weights_whose_products_can_leave_the_truncation_window_are_refused() {
    let chain = |layers: usize| {
        let names = ["x", "a", "b", "c"];
        let nodes = (0..layers)
            .map(|i| {
                node(
                    "MatMul",
                    &[names[i], &format!("w{i}")],
                    names[i + 1],
                    vec![],
                )
            })
            .collect();
        let weights = (0..layers)
            .map(|i| tensor(&format!("w{i}"), &[4, 4], &[256.0; 16]))
            .collect();
        model(vec![input("x", &[0, 4])], nodes, weights)
    };
    let fixed = FixedPoint::default();
    import(&chain(2), "two", fixed).expect("inside the window");
    let err = import(&chain(3), "three", fixed).expect_err("outside the window");
    let text = format!("{err:#}");
    assert!(
        text.contains("layer 3: output 0") && text.contains("2^70.0") && text.contains("window"),
        "{text}"
    );
}

/// Any bytes are imported or refused: the well-formed conv and matmul nets above and the
/// PyTorch-exported residual network (with its BatchNormalization nodes) and stem network
/// (opset 18), mutated.
#[test]
fn onnx_files_of_any_bytes_are_imported_or_refused() {
    let (conv_net, _) = conv_net(&mut ChaCha20Rng::seed_from_u64(5), (3, 2, 1));
    let matmul_net = matmul_net(&[0.5; 8], &[0.0, 1.0]);
    let residual = include_bytes!("../../tests/onnx/resnet_mini_bn.onnx").to_vec();
    let stem = include_bytes!("../../tests/onnx/stem_opset18.onnx").to_vec();
    for seed in [&conv_net, &matmul_net, &residual, &stem] {
        import(seed, "seed", FixedPoint::default()).expect("the seeds import");
    }
    dyad_fuzz::bounded(
        "onnx",
        &[conv_net, matmul_net, residual, stem],
        dyad_fuzz::TEST_ITERATIONS,
        |bytes| {
            let _ = import(bytes, "fuzzed", FixedPoint::default());
        },
    );
}

/// The numbers of a JSON array field (`"name": [..]`) of the fixtures' simple files.
fn json_numbers(text: &str, name: &str) -> Vec<f64> {
    let start = text.find(&format!("\"{name}\"")).expect("the field") + name.len() + 2;
    let open = start + text[start..].find('[').expect("an array") + 1;
    let close = open + text[open..].find(']').expect("its end");
    text[open..close]
        .split(',')
        .map(|v| v.trim().parse().expect("a number"))
        .collect()
}

/// A small residual network exported by PyTorch (`server/tests/onnx/make_fixtures.py`: a
/// Conv + BatchNorm + ReLU stem, an identity block, a stride-2 block with a 1x1-convolution
/// shortcut, global average pooling, a linear head, a final softmax), once with BatchNorm folded
/// by the exporter and once with its `BatchNormalization` nodes kept: both import into the
/// same graph, and its logits in fixed point are PyTorch's (up to the constant per row that
/// the dropped softmax ignores).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_residual_network_exported_by_pytorch_imports_and_runs_as_in_pytorch() {
    let text = include_str!("../../tests/onnx/resnet_mini.json");
    let folded = include_bytes!("../../tests/onnx/resnet_mini.onnx");
    let kept = include_bytes!("../../tests/onnx/resnet_mini_bn.onnx");
    let networks = runs_as_in_pytorch(&[&folded[..], &kept[..]], text, (1, 8)).await;
    assert_eq!(networks[0].layers, networks[1].layers);
    let text = networks[0].to_string();
    for layer in ["add ", "take ", "globalavgpool", "conv 8 1 stride=2"] {
        assert!(text.contains(layer), "{layer} in\n{text}");
    }
}

/// One network exported by PyTorch at opsets 11, 13 and 18 (`make_fixtures.py`, `stems`), with
/// a BatchNorm on the input and one after a max pooling also read by a residual sum (both
/// diagonal layers), 3x3 max pooling with stride 2 and padding 1, the empty Pad PyTorch puts
/// before an AvgPool2d, and a final LogSoftmax: each imports into the same network, whose
/// logits are PyTorch's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_network_exported_at_opsets_11_13_and_18_runs_as_in_pytorch() {
    let files = [
        &include_bytes!("../../tests/onnx/stem_opset11.onnx")[..],
        &include_bytes!("../../tests/onnx/stem_opset13.onnx")[..],
        &include_bytes!("../../tests/onnx/stem_opset18.onnx")[..],
    ];
    let text = include_str!("../../tests/onnx/stem.json");
    let networks = runs_as_in_pytorch(&files, text, (1, 12)).await;
    assert!(networks.iter().all(|n| n.layers == networks[0].layers));
    let text = networks[0].to_string();
    for layer in [
        "maxpool 3 stride=2 padding=1",
        "avgpool 2 stride=2",
        "conv 4 1 stride=1",
    ] {
        assert!(text.contains(layer), "{layer} in\n{text}");
    }
}

/// Imports each file and runs it in plaintext fixed point on the inputs of `json` (images of
/// `(channels, side)`): its logits are PyTorch's up to the constant per row that a dropped
/// softmax ignores (to 2e-3). Returns the networks.
async fn runs_as_in_pytorch(
    files: &[&[u8]],
    json: &str,
    (c, side): (usize, usize),
) -> Vec<Network> {
    let fixed = FixedPoint::default();
    let (inputs, logits) = (json_numbers(json, "inputs"), json_numbers(json, "logits"));
    let rows = logits.len() / 10;
    let x = ArrayD::from_shape_vec(IxDyn(&[rows, c, side, side]), inputs).expect("inputs");
    let mut networks = Vec::new();
    for bytes in files {
        let (imported, _) = import(bytes, "pytorch", fixed).expect("imports");
        let mut plain = dyad_online::nn::PlainFixed::new(fixed);
        let x = plain.import(&x);
        let got = predict(&mut plain, &imported.network, &imported.params, x)
            .await
            .expect("forward");
        for (r, row) in got.rows().into_iter().enumerate() {
            let row: Vec<f64> = row.iter().map(|&v| fixed.decode(v)).collect();
            let mean = row.iter().sum::<f64>() / 10.0;
            for (c, v) in row.iter().enumerate() {
                let want = logits[r * 10 + c];
                assert!(
                    (v - mean - want).abs() < 2e-3,
                    "row {r} class {c}: {} against PyTorch's {want}",
                    v - mean
                );
            }
        }
        networks.push(imported.network);
    }
    networks
}

/// Graphs the importer cannot take: a constant divided by a value, and an `Add` of values of
/// two shapes, each naming the node.
#[test]
fn graphs_the_importer_cannot_take_are_refused_by_node() {
    let conv_w = tensor("w", &[2, 1, 3, 3], &[0.1; 18]);
    let conv = node("Conv", &["x", "w"], "c", vec![ints("pads", &[1, 1, 1, 1])]);
    let cases = [
        (
            vec![node("Div", &["two", "x"], "d", vec![])],
            vec![tensor("two", &[], &[2.0])],
            "Div \"/Div_d\": a constant divided by a value",
        ),
        (
            vec![conv.clone(), node("Add", &["c", "x"], "s", vec![])],
            vec![conv_w.clone()],
            "Add of values of shapes",
        ),
    ];
    for (nodes, init, words) in cases {
        let bytes = model(vec![input("x", &[0, 1, 4, 4])], nodes, init);
        let err = import(&bytes, "bad", FixedPoint::default()).expect_err(words);
        assert!(err.to_string().contains(words), "{words}: {err}");
    }
}

/// Both ResNet-20 fixtures (three stages of three blocks: nine `add`s, two shortcuts taken
/// from a block's input) import, and are vouched for by calibration: their worst-case bound
/// compounds past the window (`docs/departures.md`, 4).
#[test]
fn resnet20_exports_import_and_are_vouched_for_by_calibration() {
    let fixed = FixedPoint::default();
    for (bytes, input) in [
        (
            &include_bytes!("../../tests/onnx/resnet20_digits.onnx")[..],
            (1, 28),
        ),
        (
            &include_bytes!("../../tests/onnx/resnet20_rgb.onnx")[..],
            (3, 32),
        ),
    ] {
        let (model, _) = import(bytes, "resnet20", fixed).expect("imports");
        let layers = &model.network.layers;
        let count = |f: fn(&Layer) -> bool| layers.iter().filter(|l| f(l)).count();
        assert_eq!(count(|l| matches!(l, Layer::Add { .. })), 9);
        assert_eq!(count(|l| matches!(l, Layer::Take { .. })), 2);
        assert_eq!(count(|l| matches!(l, Layer::Conv { .. })), 21);
        assert_eq!(
            (model.network.input.channels, model.network.input.width),
            input
        );
        // Imported, so vouched for; not by the worst case, so by calibration.
        let worst = window::check(&model.network, &model.params, fixed);
        assert!(
            matches!(worst, Err(window::WindowError::Products { .. })),
            "{worst:?}"
        );
    }
}

/// The imported model in plaintext fixed point on `x` gives the logits `want` (to 1e-3).
async fn assert_logits(imported: &ModelFile, x: Array4<f64>, want: &[f64]) {
    let mut plain = dyad_online::nn::PlainFixed::new(imported.fixed);
    let x = plain.import(&x.into_dyn());
    let got = predict(&mut plain, &imported.network, &imported.params, x)
        .await
        .expect("forward");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (imported.fixed.decode(*g) - w).abs() < 1e-3,
            "{got:?} vs {want:?}"
        );
    }
}

/// Constants a PyTorch model applies after a convolution (`y * 2`, `y - c` per channel, `y / 4`)
/// fold into its weights and bias: the imported network is the convolution alone, and computes
/// what the graph does. A constant minus a value is refused by node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_scales_and_shifts_fold_into_the_convolution_before_them() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let (cw, cb) = (random(2 * 3 * 3, &mut rng), random(2, &mut rng));
    let (lw, lb) = (random(3 * 32, &mut rng), random(3, &mut rng));
    let graph = |sub: NodeProto| {
        model(
            vec![input("x", &[0, 1, 4, 4])],
            vec![
                node(
                    "Conv",
                    &["x", "cw", "cb"],
                    "c",
                    vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])],
                ),
                node("Mul", &["c", "two"], "m", vec![]),
                sub,
                node("Div", &["s", "four"], "d", vec![]),
                node("Relu", &["d"], "r", vec![]),
                node("Flatten", &["r"], "f", vec![int("axis", 1)]),
                node("Gemm", &["f", "lw", "lb"], "y", vec![int("transB", 1)]),
            ],
            vec![
                tensor("cw", &[2, 1, 3, 3], &cw),
                tensor("cb", &[2], &cb),
                tensor("two", &[], &[2.0]),
                tensor("shift", &[2, 1, 1], &[0.5, -0.25]),
                tensor("four", &[], &[4.0]),
                tensor("lw", &[3, 32], &lw),
                tensor("lb", &[3], &lb),
            ],
        )
    };
    let fixed = FixedPoint::default();
    let bytes = graph(node("Sub", &["m", "shift"], "s", vec![]));
    let (imported, _) = import(&bytes, "folded", fixed).expect("imports");
    let kinds: Vec<String> = imported
        .network
        .to_string()
        .lines()
        .skip(2)
        .map(str::to_owned)
        .collect();
    assert_eq!(kinds.len(), 4, "conv, relu, flatten, dense: {kinds:?}");

    let x = Array4::from_shape_fn((1, 1, 4, 4), |_| rng.random_range(0.0..1.0));
    let mut y = conv(&x, &cw, &cb, 2, 3, 1);
    for ((_, ch, _, _), v) in y.indexed_iter_mut() {
        *v = ((*v * 2.0 - [0.5, -0.25][ch]) / 4.0).max(0.0);
    }
    let want = linear(y.as_slice().expect("contiguous"), &lw, &lb);
    assert_logits(&imported, x.clone(), &want).await;

    // A constant minus the value folds too, as a scale of -1.
    let bytes = graph(node("Sub", &["shift", "m"], "s", vec![]));
    let (imported, _) = import(&bytes, "reversed", fixed).expect("imports");
    let mut y = conv(&x, &cw, &cb, 2, 3, 1);
    for ((_, ch, _, _), v) in y.indexed_iter_mut() {
        *v = (([0.5, -0.25][ch] - *v * 2.0) / 4.0).max(0.0);
    }
    let want = linear(y.as_slice().expect("contiguous"), &lw, &lb);
    assert_logits(&imported, x, &want).await;
}

/// Batch normalisation and constants with no layer to fold into (after the input, a ReLU, a
/// residual sum's branch, a global average) become diagonal layers of their own (a 1x1
/// convolution on images, a linear layer on vectors), and the model computes what the graph
/// does: a normalised input, a constant minus it folded into that new layer, a convolution
/// whose output a scale and a residual sum both read, and a shift after the average.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn affine_maps_with_nothing_to_fold_into_become_diagonal_layers() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let cw = random(2 * 2 * 3 * 3, &mut rng);
    let (lw, lb) = (random(3 * 2, &mut rng), random(3, &mut rng));
    let (gamma, beta, mean, var) = ([1.5, 0.5], [0.25, -0.5], [0.1, -0.2], [0.8, 2.0]);
    let bytes = model(
        vec![input("x", &[0, 2, 4, 4])],
        vec![
            node(
                "BatchNormalization",
                &["x", "g", "b", "m", "v"],
                "n",
                vec![],
            ),
            node("Sub", &["k", "n"], "s", vec![]),
            node("Relu", &["s"], "r", vec![]),
            node(
                "Conv",
                &["r", "cw"],
                "c",
                vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])],
            ),
            node("Mul", &["c", "scale"], "t", vec![]),
            node("Add", &["t", "c"], "a", vec![]),
            node("GlobalAveragePool", &["a"], "p", vec![]),
            node("Add", &["p", "shift"], "h", vec![]),
            node("Flatten", &["h"], "f", vec![int("axis", 1)]),
            node("Gemm", &["f", "lw", "lb"], "y", vec![int("transB", 1)]),
        ],
        vec![
            tensor("g", &[2], &gamma),
            tensor("b", &[2], &beta),
            tensor("m", &[2], &mean),
            tensor("v", &[2], &var),
            tensor("k", &[2, 1, 1], &[1.0, -0.5]),
            tensor("cw", &[2, 2, 3, 3], &cw),
            tensor("scale", &[2, 1, 1], &[2.0, 0.5]),
            tensor("shift", &[2, 1, 1], &[0.25, -0.75]),
            tensor("lw", &[3, 2], &lw),
            tensor("lb", &[3], &lb),
        ],
    );
    let (imported, _) = import(&bytes, "diagonal", FixedPoint::default()).expect("imports");
    let layers = &imported.network.layers;
    let one_by_one = |l: &&Layer| matches!(l, Layer::Conv { kernel: 1, .. });
    assert_eq!(layers.iter().filter(one_by_one).count(), 2, "{layers:?}");
    assert_eq!(
        layers
            .iter()
            .filter(|l| matches!(l, Layer::Dense { outputs: 2 }))
            .count(),
        1,
        "{layers:?}"
    );

    let x = Array4::from_shape_fn((1, 2, 4, 4), |_| rng.random_range(-1.0..1.0));
    let f = |v: f32| f64::from(v);
    let mut r = x.clone();
    for ((_, ch, _, _), v) in r.indexed_iter_mut() {
        let norm = (*v - f(mean[ch])) / (f(var[ch]) + 1e-5).sqrt() * f(gamma[ch]) + f(beta[ch]);
        *v = ([1.0, -0.5][ch] - norm).max(0.0);
    }
    let c = conv(&r, &cw, &[0.0, 0.0], 2, 3, 1);
    let h: Vec<f64> = (0..2)
        .map(|ch| {
            let sum: f64 = c.slice(ndarray::s![0, ch, .., ..]).sum() * ([2.0, 0.5][ch] + 1.0);
            sum / 16.0 + [0.25, -0.75][ch]
        })
        .collect();
    assert_logits(&imported, x, &linear(&h, &lw, &lb)).await;
}

/// A `Pad` of zeros before a convolution (as `nn.ZeroPad2d` exports it) folds into the
/// convolution's padding: the same as padding 1 in the Conv itself; an `AveragePool` of 2x2
/// windows after it averages them. Uneven padding is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_pad_folds_into_the_convolution_after_it_and_average_pooling_averages() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let (cw, cb) = (random(2 * 3 * 3, &mut rng), random(2, &mut rng));
    let (lw, lb) = (random(3 * 8, &mut rng), random(3, &mut rng));
    let graph = |pads: &[i64]| {
        model(
            vec![input("x", &[0, 1, 4, 4])],
            vec![
                node("Pad", &["x", "pads"], "p", vec![]),
                node(
                    "Conv",
                    &["p", "cw", "cb"],
                    "c",
                    vec![ints("kernel_shape", &[3, 3])],
                ),
                node(
                    "AveragePool",
                    &["c"],
                    "a",
                    vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
                ),
                node("Flatten", &["a"], "f", vec![int("axis", 1)]),
                node("Gemm", &["f", "lw", "lb"], "y", vec![int("transB", 1)]),
            ],
            vec![
                TensorProto {
                    name: "pads".into(),
                    dims: vec![8],
                    data_type: proto::INT64,
                    int64_data: pads.to_vec(),
                    ..Default::default()
                },
                tensor("cw", &[2, 1, 3, 3], &cw),
                tensor("cb", &[2], &cb),
                tensor("lw", &[3, 8], &lw),
                tensor("lb", &[3], &lb),
            ],
        )
    };
    let fixed = FixedPoint::default();
    let (imported, _) =
        import(&graph(&[0, 0, 1, 1, 0, 0, 1, 1]), "padded", fixed).expect("imports");
    let text = imported.network.to_string();
    assert!(
        text.contains("padding=1") && text.contains("avgpool 2 stride=2"),
        "{text}"
    );
    let x = Array4::from_shape_fn((1, 1, 4, 4), |_| rng.random_range(0.0..1.0));
    let y = conv(&x, &cw, &cb, 2, 3, 1);
    let pooled = Array4::from_shape_fn((1, 2, 2, 2), |(_, c, i, j)| {
        let at = |dy: usize, dx: usize| y[[0, c, 2 * i + dy, 2 * j + dx]];
        (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4.0
    });
    let want = linear(pooled.as_slice().expect("contiguous"), &lw, &lb);
    assert_logits(&imported, x, &want).await;
    let err = import(&graph(&[0, 0, 1, 0, 0, 0, 1, 0]), "uneven", fixed).expect_err("uneven");
    assert!(err.to_string().contains("the same on every side"), "{err}");
}
