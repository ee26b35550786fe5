//! The plaintext fixed-point backend: the reference functions of `crate::reference`, which
//! the secure backend matches up to a unit per truncation.

use ndarray::{Array2, Array4, ArrayD};

use super::Backend;
use crate::{FixedPoint, ProtocolError, Z64, reference, ring};

/// Plaintext fixed-point arithmetic.
pub struct PlainFixed {
    /// The format.
    pub fixed: FixedPoint,
}

impl Backend for PlainFixed {
    type E = Z64;

    fn import(&self, x: &ArrayD<f64>) -> ArrayD<Z64> {
        x.mapv(|v| self.fixed.encode(v).expect("public values are in range"))
    }

    async fn product(
        &mut self,
        a: &Array2<Z64>,
        b: &Array2<Z64>,
    ) -> Result<Array2<Z64>, ProtocolError> {
        Ok(ring::matmul(a, b))
    }

    async fn rescale(&mut self, x: &ArrayD<Z64>, extra: u32) -> Result<ArrayD<Z64>, ProtocolError> {
        let bits = self.fixed.f + extra;
        Ok(x.mapv(|v| reference::truncate(v, bits)))
    }

    async fn scale_down(
        &mut self,
        x: &ArrayD<Z64>,
        extra: u32,
    ) -> Result<ArrayD<Z64>, ProtocolError> {
        Ok(x.mapv(|v| reference::truncate(v, extra)))
    }

    async fn relu(&mut self, x: &ArrayD<Z64>) -> Result<(ArrayD<Z64>, ArrayD<Z64>), ProtocolError> {
        Ok((x.mapv(reference::relu), x.mapv(reference::drelu)))
    }

    async fn relu_backward(
        &mut self,
        dy: &ArrayD<Z64>,
        mask: &ArrayD<Z64>,
    ) -> Result<ArrayD<Z64>, ProtocolError> {
        Ok(dy * mask)
    }

    async fn maxpool_backward(
        &mut self,
        dy: &Array4<Z64>,
        argmax: &Array4<Z64>,
    ) -> Result<Array4<Z64>, ProtocolError> {
        Ok(crate::reference::upsample2x2(dy) * argmax)
    }

    async fn maxpool(
        &mut self,
        x: &Array4<Z64>,
    ) -> Result<(Array4<Z64>, Array4<Z64>), ProtocolError> {
        Ok(reference::maxpool2x2(x))
    }

    async fn softmax_grad(
        &mut self,
        logits: &Array2<Z64>,
        onehot: &Array2<Z64>,
    ) -> Result<Array2<Z64>, ProtocolError> {
        Ok(reference::cross_entropy_grad(logits, onehot, self.fixed))
    }

    async fn count_correct(
        &mut self,
        logits: &Array2<Z64>,
        onehot: &Array2<Z64>,
        valid: usize,
    ) -> Result<Z64, ProtocolError> {
        let bits = reference::correct(logits, onehot, self.fixed.f);
        Ok(bits
            .iter()
            .take(valid)
            .map(|&b| b * Z64::from_signed(self.fixed.one()))
            .sum())
    }

    async fn loss_sum(
        &mut self,
        probs: &Array2<Z64>,
        onehot: &Array2<Z64>,
    ) -> Result<Z64, ProtocolError> {
        Ok(reference::cross_entropy(probs, onehot, self.fixed).sum())
    }

    async fn reveal(&mut self, x: Z64) -> Result<f64, ProtocolError> {
        Ok(self.fixed.decode(x))
    }
}
