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
use crate::nn::Params;
use crate::{FixedPoint, Z64};

/// Why a model could leave the truncation window.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WindowError {
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
/// doc). Returns the worst case.
pub fn check(params: &Params<Z64>, fixed: FixedPoint) -> Result<Headroom, WindowError> {
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
    // The bound on the current layer's inputs, in fixed point.
    let mut bound = MAX_OPERAND as u128;
    let mut worst = Headroom::default();
    for (i, p) in params.layers.iter().enumerate() {
        let Some(p) = p else { continue };
        let layer = i + 1;
        let refused = beyond(layer, "weight", &mut p.w.iter())
            .or_else(|| beyond(layer, "bias", &mut p.b.iter()));
        if let Some(e) = refused {
            return Err(e);
        }
        let mut outputs = 0;
        for (output, (column, bias)) in p.w.columns().into_iter().zip(&p.b).enumerate() {
            let l1: u128 = column.iter().map(magnitude).sum();
            let products = l1.saturating_mul(bound);
            worst.see_magnitude(products);
            if products >= 1 << WINDOW_BITS {
                return Err(WindowError::Products {
                    layer,
                    output,
                    l1: real(l1),
                    input: real(bound),
                    limit: fixed.operand_limit(),
                    bits: (products as f64).log2(),
                });
            }
            outputs = outputs.max(products.div_ceil(1 << fixed.f) + magnitude(bias) + 1);
        }
        bound = outputs;
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array2};

    use super::*;
    use crate::nn::LayerParams;

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
        let worst = check(&params, fixed).expect("inside the window");
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
        assert!(check(&two, fixed).expect("inside").bits() > 0.0);
        let three = Params {
            layers: vec![dense(), dense(), dense()],
        };
        let err = check(&three, fixed).expect_err("outside the window");
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
        let err = check(&params, fixed).expect_err("beyond the limit");
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
        assert!(check(&at_the_limit, fixed).is_ok());
    }
}
