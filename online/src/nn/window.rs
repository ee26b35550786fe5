//! Whether a model's inference stays inside the truncation window (PROTOCOLS.md, "Accepted
//! departures") for every input within the operand limit (`crate::fixed`): what a model
//! owner's import checks before the model is shared out, so that no request can make the
//! servers' truncations silently wrong.
//!
//! A dense or convolution layer truncates, for each output `j`, the dot product
//! `sum_i x_i·w_ij` held at twice the fractional bits. For inputs bounded by `X` its magnitude
//! is at most `|w_j|_1 · X`, reached when every input sits at the bound with its weight's sign.
//! The first layer's inputs are bounded by the operand limit; a layer's outputs by
//! `|w_j|_1 · X / 2^f` plus the bias and one unit of rounding, which bounds the next layer's
//! inputs; ReLU, max pooling and flattening never raise a bound. A model passes if every such
//! product stays below `2^61`; the largest is its worst case, returned as a [`Headroom`].
//! Serving runs no softmax; training is watched by the plaintext reference instead
//! ([`super::PlainFixed::headroom`]).

use crate::fixed::{EncodeError, Headroom, MAX_OPERAND, WINDOW_BITS};
use ndarray::{ArrayD, IxDyn};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::model::{Layer, Network};
use crate::nn::{Backend, Params, PlainFixed, Tally, predict};
use crate::{FixedPoint, Z64};

/// Why a model could leave the truncation window.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WindowError {
    /// The network does not lay out (a layer does not fit the value it reads).
    #[error("{0}")]
    Network(String),
    /// A model whose worst case the bounds cannot prove, and whose calibration run came
    /// closer to the window than the margin.
    #[error(
        "{worst}; run in plaintext fixed point on {inputs} random inputs in [-1, 1], its \
         truncations came within 2^{bits:.1} of the window's edge, less than the 2^{margin} \
         margin a model without a worst-case bound must keep"
    )]
    Calibration {
        /// Why the worst case fails.
        worst: Box<WindowError>,
        /// The calibration inputs.
        inputs: usize,
        /// The headroom seen, in bits.
        bits: f64,
        /// The margin required, in bits.
        margin: f64,
    },
    /// A model whose worst case the bounds cannot prove, too large to calibrate.
    #[error(
        "{worst}; a calibration run would take 2^{log2:.1} operations or values, beyond the \
         2^{CALIBRATION_BUDGET_LOG2} a model without a worst-case bound may take"
    )]
    TooLargeToCalibrate {
        /// Why the worst case fails.
        worst: Box<WindowError>,
        /// `log2` of the run's size.
        log2: f64,
    },
    /// A weight or bias beyond the operand limit.
    #[error("layer {layer}: {what} {index}: {refusal}")]
    Operand {
        /// The layer, from 1.
        layer: usize,
        /// `weight` or `bias`.
        what: &'static str,
        /// Its position (row-major for weights).
        index: usize,
        /// The refusal, naming the value and the limit.
        refusal: EncodeError,
    },
    /// Weights whose products can leave the window.
    #[error(
        "layer {layer}: output {output}'s weights sum to {l1} in magnitude (|w|_1); with inputs \
         up to ±{input} (the worst case for model inputs within the operand limit ±{limit}) its \
         products reach 2^{bits:.1}, beyond the truncation window [-2^61, 2^61), where results \
         come out silently wrong (PROTOCOLS.md, \"Accepted departures\")"
    )]
    Products {
        /// The layer, from 1.
        layer: usize,
        /// The output unit (or channel), from 0.
        output: usize,
        /// `|w_j|_1` in real terms.
        l1: f64,
        /// The bound on the layer's inputs in real terms.
        input: f64,
        /// The operand limit in real terms.
        limit: f64,
        /// `log2` of the worst-case product, in fixed point.
        bits: f64,
    },
}

/// Checks a model's parameters in the format `fixed`: every weight and bias within the operand
/// limit, and every layer's products inside the window for inputs within it (see the module's
/// doc). In a graph, a [`Layer::Take`] passes on the bound of the value it reads, an
/// [`Layer::Add`] adds the two bounds, and a [`Layer::GlobalAvgPool`]'s sum times its public
/// `1/(h·w)` is a product like any other. Returns the worst case.
pub fn check(
    network: &Network,
    params: &Params<Z64>,
    fixed: FixedPoint,
) -> Result<Headroom, WindowError> {
    let magnitude = |v: &Z64| u128::from(v.signed().unsigned_abs());
    let real = |v: u128| v as f64 / fixed.one() as f64;
    let beyond = |layer: usize, what: &'static str, values: &mut dyn Iterator<Item = &Z64>| {
        let (index, v) = values
            .enumerate()
            .find(|(_, v)| magnitude(v) > MAX_OPERAND as u128)?;
        Some(WindowError::Operand {
            layer,
            what,
            index,
            refusal: EncodeError::BeyondLimit {
                value: fixed.decode(*v),
                limit: fixed.operand_limit(),
                f: fixed.f,
            },
        })
    };
    let shapes = network
        .shapes()
        .map_err(|e| WindowError::Network(e.to_string()))?;
    // The bound on each value (0 the input, i layer i's output), in fixed point.
    let mut bounds = vec![MAX_OPERAND as u128];
    let mut worst = Headroom::default();
    let mut see = |layer: usize, output: usize, l1: u128, bound: u128| {
        let products = l1.saturating_mul(bound);
        worst.see_magnitude(products);
        match products < 1 << WINDOW_BITS {
            true => Ok(products),
            false => Err(WindowError::Products {
                layer,
                output,
                l1: real(l1),
                input: real(bound),
                limit: fixed.operand_limit(),
                bits: (products as f64).log2(),
            }),
        }
    };
    for (i, &kind) in network.layers.iter().enumerate() {
        let layer = i + 1;
        let bound = bounds[i];
        let next = match (kind, params.layers.get(i).and_then(Option::as_ref)) {
            (_, Some(p)) => {
                let refused = beyond(layer, "weight", &mut p.w.iter())
                    .or_else(|| beyond(layer, "bias", &mut p.b.iter()));
                if let Some(e) = refused {
                    return Err(e);
                }
                let mut outputs = 0;
                for (output, (column, bias)) in p.w.columns().into_iter().zip(&p.b).enumerate() {
                    let l1: u128 = column.iter().map(magnitude).sum();
                    let products = see(layer, output, l1, bound)?;
                    outputs = outputs.max(products.div_ceil(1 << fixed.f) + magnitude(bias) + 1);
                }
                outputs
            }
            (Layer::Take { from }, None) => bounds[from],
            (Layer::Add { from }, None) => bound.saturating_add(bounds[from]),
            (Layer::GlobalAvgPool | Layer::AvgPool { .. }, None) => {
                let input = match i {
                    0 => network.input,
                    _ => shapes[i - 1],
                };
                let window = match kind {
                    Layer::AvgPool { kernel, .. } => (kernel * kernel) as u128,
                    _ => (input.height * input.width) as u128,
                };
                let factor = magnitude(&fixed.encode(1.0 / window as f64).unwrap_or_default());
                let products = see(layer, 0, window.saturating_mul(factor), bound)?;
                products.div_ceil(1 << fixed.f) + 1
            }
            (_, None) => bound,
        };
        bounds.push(next);
    }
    Ok(worst)
}

/// How far below the window's edge a model vouched for by calibration must stay on its
/// calibration inputs: `2^16`, room for inputs and activations 65,536 times larger than seen.
pub const CALIBRATION_MARGIN_BITS: f64 = 16.0;

/// Random inputs of a calibration run.
pub const CALIBRATION_INPUTS: usize = 32;

/// The most multiply-accumulates (and, separately, values of one layer's im2col patches) a
/// calibration run may take for all its inputs: about a minute and 2 GiB. ResNet-20 on 32
/// digits takes 2^30.3 and 2^22.5.
pub const CALIBRATION_BUDGET_LOG2: u32 = 33;

/// What one example's forward pass takes: multiply-accumulates, and the most values any
/// layer's im2col patches (or input) hold.
fn forward_size(network: &Network, shapes: &[crate::model::Shape]) -> (u128, u128) {
    let (mut macs, mut widest) = (0u128, network.input.size() as u128);
    for (i, layer) in network.layers.iter().enumerate() {
        let input = match i {
            0 => network.input,
            _ => shapes[i - 1],
        };
        let output = shapes[i];
        let (rows, inner) = match *layer {
            Layer::Dense { .. } => (1, input.size()),
            Layer::Conv { kernel, .. } => (
                output.height * output.width,
                input.channels * kernel * kernel,
            ),
            _ => (1, 0),
        };
        let patches = rows as u128 * inner as u128;
        macs += patches * output.channels as u128;
        widest = widest.max(patches).max(output.size() as u128);
    }
    (macs, widest)
}

/// How a model was found to stay inside the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Vouched {
    /// For every input within the operand limit ([`check`]).
    WorstCase(Headroom),
    /// On [`CALIBRATION_INPUTS`] random inputs in `[-1, 1]`, with at least
    /// [`CALIBRATION_MARGIN_BITS`] to spare ([`vouch`]; `docs/departures.md`).
    Calibrated(Headroom),
}

impl std::fmt::Display for Vouched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Vouched::WorstCase(h) => {
                write!(f, "worst case over inputs within the operand limit: {h}")
            }
            Vouched::Calibrated(h) => write!(
                f,
                "no worst-case bound (a deep network's |w|_1 products compound); on \
                 {CALIBRATION_INPUTS} random inputs in [-1, 1]: {h}"
            ),
        }
    }
}

/// Vouches for a model: by its worst case ([`check`]) where the bounds prove it, else (a deep
/// network, whose worst-case bound compounds layer by layer far past any real activation) by
/// running it in plaintext fixed point on random inputs in `[-1, 1]` and keeping
/// [`CALIBRATION_MARGIN_BITS`] below the window's edge. Weights beyond the operand limit are
/// refused either way.
pub fn vouch(
    network: &Network,
    params: &Params<Z64>,
    fixed: FixedPoint,
) -> Result<Vouched, WindowError> {
    let worst = match check(network, params, fixed) {
        Ok(headroom) => return Ok(Vouched::WorstCase(headroom)),
        Err(e @ WindowError::Products { .. }) => e,
        Err(e) => return Err(e),
    };
    let shapes = network
        .shapes()
        .map_err(|e| WindowError::Network(e.to_string()))?;
    let (macs, widest) = forward_size(network, &shapes);
    let inputs = CALIBRATION_INPUTS as u128;
    if (macs * inputs).max(widest * inputs) >> CALIBRATION_BUDGET_LOG2 > 0 {
        return Err(WindowError::TooLargeToCalibrate {
            worst: Box::new(worst),
            log2: ((macs * inputs).max(widest * inputs) as f64).log2(),
        });
    }
    let mut rng = ChaCha20Rng::seed_from_u64(0x57a7);
    let shape = [
        CALIBRATION_INPUTS,
        network.input.channels,
        network.input.height,
        network.input.width,
    ];
    let x = ArrayD::from_shape_simple_fn(IxDyn(&shape), || rng.random_range(-1.0..=1.0));
    let mut plain = PlainFixed::new(fixed);
    let x = plain.import(&x);
    Tally::run(predict(&mut plain, network, params, x))
        .map_err(|e| WindowError::Network(e.to_string()))?;
    let seen = plain.headroom();
    match seen.bits() >= CALIBRATION_MARGIN_BITS {
        true => Ok(Vouched::Calibrated(seen)),
        false => Err(WindowError::Calibration {
            worst: Box::new(worst),
            inputs: CALIBRATION_INPUTS,
            bits: seen.bits(),
            margin: CALIBRATION_MARGIN_BITS,
        }),
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array2};

    use super::*;
    use crate::nn::LayerParams;

    fn net(text: &str) -> Network {
        Network::parse("window", text).expect("a valid description")
    }

    /// Eight 64-wide dense layers of weights ±1/4: the worst case (all inputs at the limit,
    /// signs aligned) grows 16 times a layer and leaves the window, but random inputs grow about
    /// twice a layer: vouched for by calibration. The same weights all positive grow 16 times a
    /// layer on any input: refused by calibration too, naming both reasons.
    #[test]
    fn a_deep_model_without_a_worst_case_is_vouched_for_by_calibration_or_refused() {
        let fixed = FixedPoint::default();
        let text = format!("input 64 1 1{}", "\ndense 64".repeat(8));
        let network = net(&text);
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut weights = |signed: bool| Params {
            layers: (0..8)
                .map(|_| {
                    let w = Array2::from_shape_fn((64, 64), |_| match signed && rng.random() {
                        true => -0.25,
                        false => 0.25,
                    });
                    layer(w, Array1::zeros(64), fixed)
                })
                .collect(),
        };
        let signed = weights(true);
        assert!(matches!(
            check(&network, &signed, fixed),
            Err(WindowError::Products { .. })
        ));
        match vouch(&network, &signed, fixed).expect("calibrated") {
            Vouched::Calibrated(h) => assert!(h.bits() >= CALIBRATION_MARGIN_BITS, "{h}"),
            other => panic!("{other}"),
        }
        let err = vouch(&network, &weights(false), fixed).expect_err("grows on any input");
        assert!(matches!(err, WindowError::Calibration { .. }), "{err}");
        assert!(
            err.to_string().contains("|w|_1") && err.to_string().contains("margin"),
            "{err}"
        );
    }

    /// A residual `add` adds its two bounds; a global average keeps its input's (plus a unit).
    #[test]
    fn a_residual_sum_adds_its_bounds_and_an_average_keeps_them() {
        let fixed = FixedPoint::default();
        let network = net("input 4 1 1\ndense 4\nadd 0\ndense 1");
        let params = Params {
            layers: vec![
                layer(Array2::eye(4), Array1::zeros(4), fixed),
                None,
                layer(Array2::ones((4, 1)), Array1::zeros(1), fixed),
            ],
        };
        // Layer 1: |w|_1 = 1 against 2^24: products 2^40, outputs 2^24 + 1. The add: twice
        // 2^24, plus 1. Layer 3: |w|_1 = 4 (2^18) against that.
        let worst = check(&network, &params, fixed).expect("inside");
        assert_eq!(worst.largest(), (1u128 << 18) * ((2 << 24) + 1));
        let pooled = net("input 2 4 4\nglobalavgpool\nflatten\ndense 1");
        let params = Params {
            layers: vec![
                None,
                None,
                layer(Array2::ones((2, 1)), Array1::zeros(1), fixed),
            ],
        };
        // The average's products: 16 values of 2^24 times round(2^16/16) = 2^12: 2^40; its
        // outputs 2^24 + 1; the dense: |w|_1 = 2 (2^17) against that.
        let worst = check(&pooled, &params, fixed).expect("inside");
        assert_eq!(worst.largest(), (1u128 << 17) * ((1 << 24) + 1));
    }

    fn layer(w: Array2<f64>, b: Array1<f64>, fixed: FixedPoint) -> Option<LayerParams<Z64>> {
        let encode = |v: f64| fixed.encode(v).expect("representable");
        Some(LayerParams {
            w: w.mapv(encode),
            b: b.mapv(encode),
        })
    }

    /// Two dense layers, 3 -> 2 -> 1, with a ReLU between: the worst case by hand.
    #[test]
    fn the_worst_case_is_the_largest_l1_times_the_propagated_input_bound() {
        let fixed = FixedPoint::default();
        let w1 =
            Array2::from_shape_vec((3, 2), vec![0.5, -1.0, 0.25, 2.0, -0.25, 0.0]).expect("3x2");
        let w2 = Array2::from_shape_vec((2, 1), vec![1.5, -0.5]).expect("2x1");
        let params = Params {
            layers: vec![
                layer(w1, Array1::from_vec(vec![0.0, 1.0]), fixed),
                None,
                layer(w2, Array1::from_vec(vec![0.0]), fixed),
            ],
        };
        // Layer 1: |w|_1 = 1 and 3 (2^16 and 3·2^16 in fixed point) against inputs up to 2^24
        // (256.0): products up to 3·2^40; outputs up to 3·256, plus 1.0 of bias (2^16) and a
        // unit of rounding. Layer 3: |w|_1 = 2 (2^17) against that.
        let layer3 = (1u128 << 17) * (3 * (1 << 24) + (1 << 16) + 1);
        assert!(layer3 > 3 << 40);
        let worst = check(&net("input 3 1 1\ndense 2\nrelu\ndense 1"), &params, fixed)
            .expect("inside the window");
        assert_eq!(worst.largest(), layer3);
    }

    #[test]
    fn weights_whose_products_can_leave_the_window_are_refused_by_layer_and_output() {
        let fixed = FixedPoint::default();
        // 16 weights of 64 (the limit is 256) against inputs up to 256: 2^4·2^6·2^8 = 2^18 in
        // real terms, 2^50 in fixed point: inside. A second such layer: 2^4·2^6·2^18 = 2^28,
        // 2^60: inside. A third: 2^70, outside.
        let dense = || layer(Array2::from_elem((16, 16), 64.0), Array1::zeros(16), fixed);
        let two = Params {
            layers: vec![dense(), dense()],
        };
        let two_dense = net("input 16 1 1\ndense 16\ndense 16");
        assert!(check(&two_dense, &two, fixed).expect("inside").bits() > 0.0);
        let three = Params {
            layers: vec![dense(), dense(), dense()],
        };
        let three_dense = net("input 16 1 1\ndense 16\ndense 16\ndense 16");
        let err = check(&three_dense, &three, fixed).expect_err("outside the window");
        assert!(
            matches!(
                err,
                WindowError::Products {
                    layer: 3,
                    output: 0,
                    ..
                }
            ),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains("layer 3") && text.contains("±256"), "{text}");
    }

    #[test]
    fn a_weight_beyond_the_operand_limit_is_refused_with_its_value() {
        let fixed = FixedPoint::default();
        let mut w = Array2::zeros((2, 2));
        w[[1, 0]] = 256.0 + fixed.ulp();
        let params = Params {
            layers: vec![layer(w, Array1::zeros(2), fixed)],
        };
        let two_by_two = net("input 2 1 1\ndense 2");
        let err = check(&two_by_two, &params, fixed).expect_err("beyond the limit");
        assert!(
            matches!(
                err,
                WindowError::Operand {
                    layer: 1,
                    what: "weight",
                    index: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("256.0000152587890"), "{err}");
        let mut b = Array1::zeros(2);
        b[1] = -256.0;
        let at_the_limit = Params {
            layers: vec![layer(Array2::zeros((2, 2)), b, fixed)],
        };
        assert!(check(&two_by_two, &at_the_limit, fixed).is_ok());
    }
}
