//! The plaintext fixed-point backend: the reference functions of `crate::reference`, which
//! the secure backend matches up to a unit per truncation.
//!
//! The secure truncation (`crate::protocols::truncate_by`, with uniformly random shares)
//! returns `floor(x / 2^d)` plus a carry that occurs with probability `(x mod 2^d) / 2^d`: it
//! rounds stochastically, without bias. That matters in training, where SGD steps are often below one unit: rounding them
//! down every time (the floor of the exact reference) drifts the weights. So this backend
//! truncates either by floor (to check protocols exactly) or stochastically (to reproduce a
//! secure training run's statistics).
//!
//! It also notes the largest magnitude any truncation of the run saw, its own and those
//! inside softmax and the other reference functions ([`PlainFixed::headroom`]): the secure
//! truncation is valid only inside the window `[-2^61, 2^61)` and silently wrong outside it
//! (PROTOCOLS.md, "Accepted departures"), so a plaintext run of a job shows how much room its
//! secure run had.

use ndarray::{Array1, Array2, ArrayD};

use super::Backend;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::fixed::Headroom;
use crate::protocols::{Exp, Piecewise};
use crate::{FixedPoint, ProtocolError, Z64, reference, ring};

/// Plaintext fixed-point arithmetic.
pub struct PlainFixed {
    /// The format.
    pub fixed: FixedPoint,
    /// How softmax computes `e^x`.
    pub exp: Exp,
    /// Draws the carries of stochastic rounding; `None`: round down.
    carries: Option<ChaCha20Rng>,
    /// The largest magnitude truncated so far.
    headroom: Headroom,
}

impl PlainFixed {
    /// Truncation rounds down, as [`reference::truncate`].
    pub fn new(fixed: FixedPoint) -> PlainFixed {
        PlainFixed {
            fixed,
            exp: Exp::default(),
            carries: None,
            headroom: Headroom::default(),
        }
    }

    /// Truncation rounds up with probability equal to the dropped fraction, as the secure
    /// truncation does.
    pub fn stochastic(fixed: FixedPoint, seed: u64) -> PlainFixed {
        PlainFixed {
            fixed,
            exp: Exp::default(),
            carries: Some(ChaCha20Rng::seed_from_u64(seed)),
            headroom: Headroom::default(),
        }
    }

    /// The largest magnitude any truncation of this backend's run has seen, against the
    /// truncation window.
    pub fn headroom(&self) -> Headroom {
        self.headroom
    }

    fn truncate(&mut self, x: &ArrayD<Z64>, bits: u32) -> ArrayD<Z64> {
        x.iter().for_each(|&v| self.headroom.see(v));
        match &mut self.carries {
            None => x.mapv(|v| reference::truncate(v, bits)),
            Some(rng) => x.mapv(|v| {
                let dropped = v.0 & ((1 << bits) - 1);
                let carry = dropped + (rng.next_u64() >> (64 - bits)) >= 1 << bits;
                reference::truncate(v, bits) + Z64(u64::from(carry))
            }),
        }
    }
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
        Ok(self.truncate(x, self.fixed.f + extra))
    }

    async fn scale_down(
        &mut self,
        x: &ArrayD<Z64>,
        extra: u32,
    ) -> Result<ArrayD<Z64>, ProtocolError> {
        Ok(self.truncate(x, extra))
    }

    async fn scale(&mut self, x: &ArrayD<Z64>, c: f64) -> Result<ArrayD<Z64>, ProtocolError> {
        let (c, bits) = super::backend::public_factor(self.fixed, c)?;
        Ok(self.truncate(&x.mapv(|v| v * c), bits))
    }

    fn fixed(&self) -> FixedPoint {
        self.fixed
    }

    async fn mul(
        &mut self,
        a: &ArrayD<Z64>,
        b: &ArrayD<Z64>,
        bits: u32,
    ) -> Result<ArrayD<Z64>, ProtocolError> {
        crate::protocols::same_shape(a.shape(), b.shape(), "mul")?;
        let product = a * b;
        Ok(match bits {
            0 => product,
            bits => self.truncate(&product, bits),
        })
    }

    async fn piecewise(
        &mut self,
        x: &ArrayD<Z64>,
        table: &Piecewise,
    ) -> Result<ArrayD<Z64>, ProtocolError> {
        let f = self.fixed.f;
        Ok(x.mapv(|v| reference::piecewise(table, v, f, &mut self.headroom)))
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

    fn lowest(&self) -> Z64 {
        Z64::from_signed(-(1 << 62))
    }

    async fn maxpool(
        &mut self,
        windows: &Array2<Z64>,
    ) -> Result<(Array1<Z64>, Array2<Z64>), ProtocolError> {
        Ok(reference::max_rows_with_decisions(windows))
    }

    async fn maxpool_backward(
        &mut self,
        dy: &Array1<Z64>,
        decisions: &Array2<Z64>,
    ) -> Result<Array2<Z64>, ProtocolError> {
        crate::reference::route_to_max_by(dy, decisions, |g, d| g * d)
    }

    async fn softmax_grad(
        &mut self,
        logits: &Array2<Z64>,
        onehot: &Array2<Z64>,
    ) -> Result<Array2<Z64>, ProtocolError> {
        Ok(reference::cross_entropy_grad(
            logits,
            onehot,
            self.fixed,
            self.exp,
            &mut self.headroom,
        ))
    }

    async fn count_correct(
        &mut self,
        logits: &Array2<Z64>,
        onehot: &Array2<Z64>,
        valid: usize,
    ) -> Result<Z64, ProtocolError> {
        let bits = reference::correct(logits, onehot, self.fixed.f, &mut self.headroom);
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
        Ok(reference::cross_entropy(probs, onehot, self.fixed, &mut self.headroom).sum())
    }

    async fn reveal(&mut self, x: Z64) -> Result<f64, ProtocolError> {
        Ok(self.fixed.decode(x))
    }
}
