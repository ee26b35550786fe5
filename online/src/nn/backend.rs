//! The operations a network needs, in real-number terms, so one implementation of the layers
//! serves all backends.

use std::fmt::Debug;
use std::ops::{Add, Sub};

use ndarray::{Array1, Array2, ArrayD};

use crate::ProtocolError;

/// An output with the 0/1 mask `[x >= 0]` its backward pass needs.
pub type Masked<A> = (A, A);

/// Each pooling window's maximum, with the decisions of the tree that found it (`window - 1`
/// per window; see [`crate::protocols::max_rows_with_decisions`]): its backward pass routes
/// the gradient down them.
pub type Pooled<E> = (Array1<E>, Array2<E>);

/// Where a network's arithmetic happens. Values are fixed-point `Z64` shares, fixed-point
/// `Z64` plaintexts, or `f64`, but every operation means the same real-number computation.
pub trait Backend {
    /// The element type.
    type E: Copy
        + Default
        + Debug
        + Send
        + Sync
        + 'static
        + Add<Output = Self::E>
        + Sub<Output = Self::E>
        + num_traits::Zero;

    /// This backend's value for public initial data (weights, plaintext inputs): the secure
    /// backend gives P0 the encoding and P1 zero.
    fn import(&self, x: &ArrayD<f64>) -> ArrayD<Self::E>;

    /// `a · b` before rescaling: in fixed point, at twice the fractional bits. Sums of such
    /// products (col2im) are rescaled once, which keeps them within one unit.
    fn product(
        &mut self,
        a: &Array2<Self::E>,
        b: &Array2<Self::E>,
    ) -> impl Future<Output = Result<Array2<Self::E>, ProtocolError>>;

    /// A [`Backend::product`] (or a sum of them) brought back to scale and divided by
    /// `2^extra`.
    fn rescale(
        &mut self,
        x: &ArrayD<Self::E>,
        extra: u32,
    ) -> impl Future<Output = Result<ArrayD<Self::E>, ProtocolError>>;

    /// `(a · b) / 2^extra`.
    fn matmul(
        &mut self,
        a: &Array2<Self::E>,
        b: &Array2<Self::E>,
        extra: u32,
    ) -> impl Future<Output = Result<Array2<Self::E>, ProtocolError>> {
        async move {
            let wide = self.product(a, b).await?.into_dyn();
            let y = self.rescale(&wide, extra).await?;
            Ok(y.into_dimensionality().expect("a matrix stays a matrix"))
        }
    }

    /// `x / 2^extra`.
    fn scale_down(
        &mut self,
        x: &ArrayD<Self::E>,
        extra: u32,
    ) -> impl Future<Output = Result<ArrayD<Self::E>, ProtocolError>>;

    /// The fixed-point format this backend's tables and constants are encoded in.
    fn fixed(&self) -> crate::FixedPoint;

    /// The elementwise product `a ⊙ b` truncated by `bits`: `a·b·2^(f - bits)` in real terms.
    /// `bits = f` is the fixed-point product; `bits = 0` keeps the product at twice the
    /// fractional bits (read at `f`, the value times `2^f`), as Adam's second moment is kept
    /// (`super::adam`). One elementwise triple, and one truncation when `bits > 0`.
    fn mul(
        &mut self,
        a: &ArrayD<Self::E>,
        b: &ArrayD<Self::E>,
        bits: u32,
    ) -> impl Future<Output = Result<ArrayD<Self::E>, ProtocolError>>;

    /// The public piecewise-linear function `table` at every element of `x`
    /// ([`crate::protocols::piecewise`]: one batched comparison per breakpoint).
    fn piecewise(
        &mut self,
        x: &ArrayD<Self::E>,
        table: &crate::protocols::Piecewise,
    ) -> impl Future<Output = Result<ArrayD<Self::E>, ProtocolError>>;

    /// `x · c` for a public real `c` (`|c| <= 1`, such as an average's `1/n`): a local
    /// multiplication by `c` in fixed point, then one rescale.
    fn scale(
        &mut self,
        x: &ArrayD<Self::E>,
        c: f64,
    ) -> impl Future<Output = Result<ArrayD<Self::E>, ProtocolError>>;

    /// `ReLU(x)` and the mask `[x >= 0]` in the form [`Backend::relu_backward`] takes it (the
    /// 0/1 value in the clear backends, this party's XOR share of it in the secure one).
    fn relu(
        &mut self,
        x: &ArrayD<Self::E>,
    ) -> impl Future<Output = Result<Masked<ArrayD<Self::E>>, ProtocolError>>;

    /// The gradient through ReLU: `dy ⊙ [x >= 0]`.
    fn relu_backward(
        &mut self,
        dy: &ArrayD<Self::E>,
        mask: &ArrayD<Self::E>,
    ) -> impl Future<Output = Result<ArrayD<Self::E>, ProtocolError>>;

    /// A value below every activation, for the padding of max pooling's windows. In fixed
    /// point `-2^62`: activations stay below `2^61` (the truncation window), so their
    /// differences with it stay inside the comparison's exact range, `2^63`.
    fn lowest(&self) -> Self::E;

    /// The maximum of each row (a pooling window) and the tree's decisions (0 or 1 in the
    /// clear backends, this party's XOR share of each in the secure one).
    fn maxpool(
        &mut self,
        windows: &Array2<Self::E>,
    ) -> impl Future<Output = Result<Pooled<Self::E>, ProtocolError>>;

    /// The gradient through max pooling: each window's gradient `dy` given to the window's
    /// argmax down the tree of `decisions` (`windows x (positions - 1)`); returns
    /// `windows x positions`.
    fn maxpool_backward(
        &mut self,
        dy: &Array1<Self::E>,
        decisions: &Array2<Self::E>,
    ) -> impl Future<Output = Result<Array2<Self::E>, ProtocolError>>;

    /// `softmax(logits) - onehot`.
    fn softmax_grad(
        &mut self,
        logits: &Array2<Self::E>,
        onehot: &Array2<Self::E>,
    ) -> impl Future<Output = Result<Array2<Self::E>, ProtocolError>>;

    /// How many of the first `valid` rows have the largest logit at the label, as a
    /// fixed-point number (not revealed: a job sums these and reveals only the total).
    fn count_correct(
        &mut self,
        logits: &Array2<Self::E>,
        onehot: &Array2<Self::E>,
        valid: usize,
    ) -> impl Future<Output = Result<Self::E, ProtocolError>>;

    /// `sum_rows -ln p_label`, fixed point (not revealed).
    fn loss_sum(
        &mut self,
        probs: &Array2<Self::E>,
        onehot: &Array2<Self::E>,
    ) -> impl Future<Output = Result<Self::E, ProtocolError>>;

    /// Reveals a fixed-point value to both parties.
    fn reveal(&mut self, x: Self::E) -> impl Future<Output = Result<f64, ProtocolError>>;
}

/// A public factor `c` of [`Backend::scale`] as an integer and the bits to truncate by after
/// multiplying by it: `c ≈ int / 2^bits`. Refused unless `|c| <= 1`, which keeps `|int| <=
/// 2^f` and so the scaled products as small as their inputs (inside the truncation window).
///
/// A factor below 1/2 takes `e = floor(-log2 |c|)` more bits (up to `k - 2 - f`, the most a
/// truncation takes), so it keeps `f` significant bits down to `2^-(k-2-f)`: a learning rate of 0.01 or
/// a weight decay of 5e-4 at `f = 16` would otherwise be 655 or 33 units, off by 0.05% or
/// 0.7%. Powers of two are exact either way, and the cost is the same single truncation.
pub(crate) fn public_factor(
    fixed: crate::FixedPoint,
    c: f64,
) -> Result<(crate::Z64, u32), ProtocolError> {
    if c.is_nan() || c.abs() > 1.0 {
        return Err(ProtocolError::Shape(format!(
            "a public factor {c} outside [-1, 1]"
        )));
    }
    let most = (crate::fixed::K - 2).saturating_sub(fixed.f);
    let extra = match c == 0.0 {
        true => 0,
        false => (-c.abs().log2()).floor().clamp(0.0, f64::from(most)) as u32,
    };
    let bits = fixed.f + extra;
    let int = (c * 2f64.powi(bits as i32)).round() as i64;
    Ok((crate::Z64::from_signed(int), bits))
}
