//! Demand by running the real code: a backend that computes nothing and adds up the
//! correlated randomness [`super::Secure`] would take for each operation (`crate::cost`).
//! The layers, the training step and evaluation run on it exactly as on shares, so the
//! demand of a network follows its code instead of a second, hand-written walk of it (as
//! swanky's `Informer` counts gates by running a circuit).
//!
//! Every operation's cost is the cost of the protocol [`super::Secure::new`] calls for it (one
//! matrix triple per product; serving's weight-bound triples are `Network::serving_demand`'s
//! business); the tests in `nn/tests.rs` compare what a real secure run takes with this tally.

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use ndarray::{Array1, Array2, ArrayD};

use super::Backend;
use crate::cost;
use crate::protocols::{Comparison, Exp, Piecewise};
use crate::{FixedPoint, ProtocolError, Z64};
use dyad_randomness::Demand;

/// A backend of zeros that tallies demand.
pub struct Tally {
    fixed: FixedPoint,
    cmp: Comparison,
    exp: Exp,
    /// What the operations so far would take.
    pub demand: Demand,
}

impl Tally {
    /// An empty tally for a run with the online configuration's fixed point, comparison and
    /// exp.
    pub fn new(fixed: FixedPoint, cmp: Comparison, exp: Exp) -> Tally {
        Tally {
            fixed,
            cmp,
            exp,
            demand: Demand::default(),
        }
    }

    /// Runs `work` on this backend to its end. Its operations never wait, so one poll does:
    /// no runtime is needed, and this may be called from inside one.
    pub fn run<T>(
        work: impl Future<Output = Result<T, ProtocolError>>,
    ) -> Result<T, ProtocolError> {
        match pin!(work).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(ProtocolError::Shape(
                "a tallied computation waited for something".into(),
            )),
        }
    }
}

impl Backend for Tally {
    type E = Z64;

    fn import(&self, x: &ArrayD<f64>) -> ArrayD<Z64> {
        ArrayD::zeros(x.raw_dim())
    }

    async fn product(
        &mut self,
        a: &Array2<Z64>,
        b: &Array2<Z64>,
    ) -> Result<Array2<Z64>, ProtocolError> {
        let ((m, n), (n_b, k)) = (a.dim(), b.dim());
        if n != n_b {
            return Err(ProtocolError::Shape(format!(
                "product of {m}x{n} and {n_b}x{k}: inner dimensions differ"
            )));
        }
        self.demand += cost::matmul(m, n, k);
        Ok(Array2::zeros((m, k)))
    }

    async fn rescale(&mut self, x: &ArrayD<Z64>, _: u32) -> Result<ArrayD<Z64>, ProtocolError> {
        self.demand += cost::truncate(x.len());
        Ok(x.clone())
    }

    async fn scale_down(&mut self, x: &ArrayD<Z64>, _: u32) -> Result<ArrayD<Z64>, ProtocolError> {
        self.demand += cost::truncate(x.len());
        Ok(x.clone())
    }

    async fn scale(&mut self, x: &ArrayD<Z64>, c: f64) -> Result<ArrayD<Z64>, ProtocolError> {
        super::backend::public_factor(self.fixed, c)?;
        self.demand += cost::truncate(x.len());
        Ok(x.clone())
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
        self.demand += match bits {
            0 => cost::mul(a.len()),
            _ => cost::mul_fixed(a.len()),
        };
        Ok(a.clone())
    }

    async fn piecewise(
        &mut self,
        x: &ArrayD<Z64>,
        table: &Piecewise,
    ) -> Result<ArrayD<Z64>, ProtocolError> {
        self.demand += cost::piecewise(table, x.len(), self.cmp);
        Ok(x.clone())
    }

    async fn relu(&mut self, x: &ArrayD<Z64>) -> Result<(ArrayD<Z64>, ArrayD<Z64>), ProtocolError> {
        self.demand += cost::relu(x.len(), self.cmp);
        Ok((x.clone(), x.clone()))
    }

    async fn relu_backward(
        &mut self,
        dy: &ArrayD<Z64>,
        _: &ArrayD<Z64>,
    ) -> Result<ArrayD<Z64>, ProtocolError> {
        self.demand += cost::relu_backward(dy.len());
        Ok(dy.clone())
    }

    fn lowest(&self) -> Z64 {
        Z64::ZERO
    }

    async fn maxpool(
        &mut self,
        windows: &Array2<Z64>,
    ) -> Result<(Array1<Z64>, Array2<Z64>), ProtocolError> {
        let (rows, cols) = windows.dim();
        self.demand += cost::max_rows(rows, cols, self.cmp);
        Ok((
            Array1::zeros(rows),
            Array2::zeros((rows, cols.saturating_sub(1))),
        ))
    }

    async fn maxpool_backward(
        &mut self,
        dy: &Array1<Z64>,
        decisions: &Array2<Z64>,
    ) -> Result<Array2<Z64>, ProtocolError> {
        let (rows, cols) = (dy.len(), decisions.ncols() + 1);
        self.demand += cost::route_to_max(rows, cols);
        Ok(Array2::zeros((rows, cols)))
    }

    async fn softmax_grad(
        &mut self,
        logits: &Array2<Z64>,
        _: &Array2<Z64>,
    ) -> Result<Array2<Z64>, ProtocolError> {
        let (rows, cols) = logits.dim();
        self.demand += cost::softmax(rows, cols, self.fixed, self.cmp, self.exp);
        Ok(logits.clone())
    }

    async fn count_correct(
        &mut self,
        logits: &Array2<Z64>,
        _: &Array2<Z64>,
        _: usize,
    ) -> Result<Z64, ProtocolError> {
        let (rows, cols) = logits.dim();
        self.demand += cost::correct(rows, cols, self.cmp);
        Ok(Z64::ZERO)
    }

    async fn loss_sum(
        &mut self,
        probs: &Array2<Z64>,
        _: &Array2<Z64>,
    ) -> Result<Z64, ProtocolError> {
        let (rows, cols) = probs.dim();
        self.demand += cost::cross_entropy(rows, cols, self.fixed, self.cmp);
        Ok(Z64::ZERO)
    }

    async fn reveal(&mut self, _: Z64) -> Result<f64, ProtocolError> {
        Ok(0.0)
    }
}
