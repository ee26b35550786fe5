//! The plaintext floating-point backend: real arithmetic with the same approximations as the
//! protocols (`e^x` by squaring or by chords, piecewise-linear `-ln`, the Newton reciprocal with its fixed guess and
//! schedule), their constants decoded from the very fixed-point tables the protocols use.

use ndarray::{Array1, Array2, ArrayD, Axis};

use super::Backend;
use crate::protocols::{Exp, NewtonReciprocal, Piecewise, SQUARINGS};
use crate::{FixedPoint, ProtocolError};

/// Plaintext floating point.
pub struct PlainFloat {
    /// The format whose tables the approximations use.
    pub fixed: FixedPoint,
    /// How softmax computes `e^x`.
    pub exp: Exp,
}

impl PlainFloat {
    fn piecewise_at(&self, table: &Piecewise, x: f64) -> f64 {
        let d = |v| self.fixed.decode(v);
        let mut y = d(table.below);
        for s in 0..table.segments() {
            if x >= d(table.breakpoints[s]) {
                y += d(table.slope_steps[s]) * x + d(table.intercept_steps[s]);
            }
        }
        y
    }

    fn reciprocal(&self, s: f64, max: f64) -> f64 {
        let newton = NewtonReciprocal::for_range(max, self.fixed);
        let (mut w, two) = (
            self.fixed.decode(newton.initial),
            self.fixed.decode(newton.two),
        );
        for _ in 0..newton.iterations {
            w *= two - s * w;
        }
        w
    }

    fn exp(&self, table: &Piecewise, x: f64) -> f64 {
        match self.exp {
            Exp::Segments => self.piecewise_at(table, x),
            Exp::Squaring => {
                let n = f64::from(1u32 << SQUARINGS);
                (1.0 + x / n).max(0.0).powf(n)
            }
        }
    }

    fn softmax(&self, logits: &Array2<f64>) -> Array2<f64> {
        let table = Piecewise::exp(self.fixed);
        let mut out = logits.clone();
        for mut row in out.rows_mut() {
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            row.mapv_inplace(|v| self.exp(&table, v - max));
            let inverse = self.reciprocal(row.sum(), row.len() as f64);
            row.mapv_inplace(|e| e * inverse);
        }
        out
    }
}

impl Backend for PlainFloat {
    type E = f64;

    fn import(&self, x: &ArrayD<f64>) -> ArrayD<f64> {
        // The same values the fixed-point backends start from.
        x.mapv(|v| {
            self.fixed
                .decode(self.fixed.encode(v).expect("public values are in range"))
        })
    }

    async fn product(
        &mut self,
        a: &Array2<f64>,
        b: &Array2<f64>,
    ) -> Result<Array2<f64>, ProtocolError> {
        Ok(a.dot(b))
    }

    async fn rescale(&mut self, x: &ArrayD<f64>, extra: u32) -> Result<ArrayD<f64>, ProtocolError> {
        self.scale_down(x, extra).await
    }

    async fn scale_down(
        &mut self,
        x: &ArrayD<f64>,
        extra: u32,
    ) -> Result<ArrayD<f64>, ProtocolError> {
        Ok(x / 2f64.powi(extra as i32))
    }

    async fn scale(&mut self, x: &ArrayD<f64>, c: f64) -> Result<ArrayD<f64>, ProtocolError> {
        Ok(x * c)
    }

    fn fixed(&self) -> FixedPoint {
        self.fixed
    }

    async fn mul(
        &mut self,
        a: &ArrayD<f64>,
        b: &ArrayD<f64>,
        bits: u32,
    ) -> Result<ArrayD<f64>, ProtocolError> {
        crate::protocols::same_shape(a.shape(), b.shape(), "mul")?;
        Ok(a * b * 2f64.powi(self.fixed.f as i32 - bits as i32))
    }

    async fn piecewise(
        &mut self,
        x: &ArrayD<f64>,
        table: &Piecewise,
    ) -> Result<ArrayD<f64>, ProtocolError> {
        Ok(x.mapv(|v| self.piecewise_at(table, v)))
    }

    async fn relu(&mut self, x: &ArrayD<f64>) -> Result<(ArrayD<f64>, ArrayD<f64>), ProtocolError> {
        Ok((
            x.mapv(|v| v.max(0.0)),
            x.mapv(|v| if v >= 0.0 { 1.0 } else { 0.0 }),
        ))
    }

    async fn relu_backward(
        &mut self,
        dy: &ArrayD<f64>,
        mask: &ArrayD<f64>,
    ) -> Result<ArrayD<f64>, ProtocolError> {
        Ok(dy * mask)
    }

    fn lowest(&self) -> f64 {
        f64::NEG_INFINITY
    }

    async fn maxpool(
        &mut self,
        windows: &Array2<f64>,
    ) -> Result<(Array1<f64>, Array2<f64>), ProtocolError> {
        Ok(crate::reference::max_rows_with_decisions_by(
            windows,
            |a, b| a >= b,
            1.0,
        ))
    }

    async fn maxpool_backward(
        &mut self,
        dy: &Array1<f64>,
        decisions: &Array2<f64>,
    ) -> Result<Array2<f64>, ProtocolError> {
        crate::reference::route_to_max_by(dy, decisions, |g, d| g * d)
    }

    async fn softmax_grad(
        &mut self,
        logits: &Array2<f64>,
        onehot: &Array2<f64>,
    ) -> Result<Array2<f64>, ProtocolError> {
        Ok(self.softmax(logits) - onehot)
    }

    async fn count_correct(
        &mut self,
        logits: &Array2<f64>,
        onehot: &Array2<f64>,
        valid: usize,
    ) -> Result<f64, ProtocolError> {
        let correct = logits
            .rows()
            .into_iter()
            .zip(onehot.rows())
            .take(valid)
            .filter(|(l, o)| {
                let max = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let at_label: f64 = l.iter().zip(o).map(|(a, b)| a * b).sum();
                at_label >= max
            })
            .count();
        Ok(correct as f64)
    }

    async fn loss_sum(
        &mut self,
        probs: &Array2<f64>,
        onehot: &Array2<f64>,
    ) -> Result<f64, ProtocolError> {
        let table = Piecewise::neg_ln(self.fixed);
        Ok((probs * onehot)
            .sum_axis(Axis(1))
            .iter()
            .map(|&p| self.piecewise_at(&table, p))
            .sum())
    }

    async fn reveal(&mut self, x: f64) -> Result<f64, ProtocolError> {
        Ok(x)
    }
}
