//! The secure backend: every operation is a two-party protocol on shares.

use ndarray::{Array1, Array2, ArrayD};

use super::Backend;
use super::profile::{Mark, Profile};
use crate::protocols::{self, WeightMasks};
use crate::randomness::Randomness;
use crate::{Party, ProtocolError, Z64};

/// A party running a network on shares with its peer.
pub struct Secure<'a, R> {
    /// The party.
    pub party: &'a mut Party<R>,
    /// Every matrix product splits its left operand's rows into this many equal blocks, one
    /// per example (see [`protocols::matmul_blocks`] and [`WeightMasks::product`]). Training
    /// uses 1; serving uses the number of requests evaluated together.
    pub blocks: usize,
    /// Serving's weight-bound triples, and how many products this pass has made (the
    /// forward pass multiplies by each weight matrix once, in order).
    masks: Option<(&'a mut WeightMasks, usize)>,
    /// Where this party's time went, per operation.
    pub profile: Profile,
}

impl<'a, R> Secure<'a, R> {
    /// One matrix triple per product.
    pub fn new(party: &'a mut Party<R>) -> Self {
        Secure {
            party,
            blocks: 1,
            masks: None,
            profile: Profile::default(),
        }
    }

    /// A forward pass of a batch of `examples` served requests: each product by a weight
    /// matrix uses that matrix's weight-bound triples from `masks`, one block of rows per
    /// example.
    pub fn serving(party: &'a mut Party<R>, examples: usize, masks: &'a mut WeightMasks) -> Self {
        Secure {
            party,
            blocks: examples,
            masks: Some((masks, 0)),
            profile: Profile::default(),
        }
    }
}

impl<R: Randomness> Secure<'_, R> {
    fn mark(&self) -> Mark {
        Mark::now(self.party.counters())
    }

    /// Records one call of `op` begun at `mark` and passes its result on.
    fn record<T>(&mut self, op: &'static str, mark: Mark, result: T) -> T {
        let link = self.party.counters();
        self.profile.record(op, mark, link);
        result
    }
}

impl<R: Randomness> Backend for Secure<'_, R> {
    type E = Z64;

    fn import(&self, x: &ArrayD<f64>) -> ArrayD<Z64> {
        let fixed = self.party.fixed();
        x.mapv(|v| {
            self.party
                .constant(fixed.encode(v).expect("public values are in range"))
        })
    }

    async fn product(
        &mut self,
        a: &Array2<Z64>,
        b: &Array2<Z64>,
    ) -> Result<Array2<Z64>, ProtocolError> {
        let mark = self.mark();
        let result = async {
            match &mut self.masks {
                Some((masks, products)) => {
                    *products += 1;
                    masks
                        .product(self.party, *products - 1, a, b, self.blocks)
                        .await
                }
                None => protocols::matmul_blocks(self.party, a, b, self.blocks).await,
            }
        }
        .await;
        self.record("product", mark, result)
    }

    async fn rescale(&mut self, x: &ArrayD<Z64>, extra: u32) -> Result<ArrayD<Z64>, ProtocolError> {
        let mark = self.mark();
        let result = async {
            let f = self.party.fixed().f;
            protocols::truncate_by(self.party, x, f + extra).await
        }
        .await;
        self.record("rescale", mark, result)
    }

    async fn scale_down(
        &mut self,
        x: &ArrayD<Z64>,
        extra: u32,
    ) -> Result<ArrayD<Z64>, ProtocolError> {
        let mark = self.mark();
        let result = protocols::truncate_by(self.party, x, extra).await;
        self.record("scale_down", mark, result)
    }

    async fn scale(&mut self, x: &ArrayD<Z64>, c: f64) -> Result<ArrayD<Z64>, ProtocolError> {
        let mark = self.mark();
        let result = async {
            let fixed = self.party.fixed();
            let (c, bits) = super::backend::public_factor(fixed, c)?;
            protocols::truncate_by(self.party, &x.mapv(|v| v * c), bits).await
        }
        .await;
        self.record("scale", mark, result)
    }

    fn fixed(&self) -> crate::FixedPoint {
        self.party.fixed()
    }

    async fn mul(
        &mut self,
        a: &ArrayD<Z64>,
        b: &ArrayD<Z64>,
        bits: u32,
    ) -> Result<ArrayD<Z64>, ProtocolError> {
        let mark = self.mark();
        let result = async {
            let product = protocols::mul(self.party, a, b).await?;
            match bits {
                0 => Ok(product),
                bits => protocols::truncate_by(self.party, &product, bits).await,
            }
        }
        .await;
        self.record("mul", mark, result)
    }

    async fn piecewise(
        &mut self,
        x: &ArrayD<Z64>,
        table: &protocols::Piecewise,
    ) -> Result<ArrayD<Z64>, ProtocolError> {
        let mark = self.mark();
        let result = protocols::piecewise(self.party, table, x).await;
        self.record("piecewise", mark, result)
    }

    /// The mask kept for the backward pass is this party's XOR share of each DReLU bit
    /// (as 0 or 1): the gradient multiplies by it with a bit triple.
    async fn relu(&mut self, x: &ArrayD<Z64>) -> Result<(ArrayD<Z64>, ArrayD<Z64>), ProtocolError> {
        let mark = self.mark();
        let result = async {
            let r = protocols::relu(self.party, x).await?;
            Ok((r.y, r.drelu.mapv(|b| Z64(u64::from(b)))))
        }
        .await;
        self.record("relu", mark, result)
    }

    async fn relu_backward(
        &mut self,
        dy: &ArrayD<Z64>,
        mask: &ArrayD<Z64>,
    ) -> Result<ArrayD<Z64>, ProtocolError> {
        let mark = self.mark();
        let result = async {
            let bits = mask.mapv(|m| (m.0 & 1) as u8);
            protocols::relu_backward(self.party, dy, &bits).await
        }
        .await;
        self.record("relu_backward", mark, result)
    }

    fn lowest(&self) -> Z64 {
        self.party.constant(Z64::from_signed(-(1 << 62)))
    }

    async fn maxpool(
        &mut self,
        windows: &Array2<Z64>,
    ) -> Result<(Array1<Z64>, Array2<Z64>), ProtocolError> {
        let mark = self.mark();
        let result = protocols::max_rows_with_decisions(self.party, windows).await;
        self.record("maxpool", mark, result)
    }

    async fn maxpool_backward(
        &mut self,
        dy: &Array1<Z64>,
        decisions: &Array2<Z64>,
    ) -> Result<Array2<Z64>, ProtocolError> {
        let mark = self.mark();
        let result = protocols::route_to_max(self.party, dy, decisions).await;
        self.record("maxpool_backward", mark, result)
    }

    async fn softmax_grad(
        &mut self,
        logits: &Array2<Z64>,
        onehot: &Array2<Z64>,
    ) -> Result<Array2<Z64>, ProtocolError> {
        let mark = self.mark();
        let result = protocols::cross_entropy_grad(self.party, logits, onehot).await;
        self.record("softmax_grad", mark, result)
    }

    async fn count_correct(
        &mut self,
        logits: &Array2<Z64>,
        onehot: &Array2<Z64>,
        valid: usize,
    ) -> Result<Z64, ProtocolError> {
        let mark = self.mark();
        let result = async {
            let bits = protocols::correct(self.party, logits, onehot).await?;
            let one = Z64::from_signed(self.party.fixed().one());
            Ok(bits.iter().take(valid).map(|&b| b * one).sum())
        }
        .await;
        self.record("count_correct", mark, result)
    }

    async fn loss_sum(
        &mut self,
        probs: &Array2<Z64>,
        onehot: &Array2<Z64>,
    ) -> Result<Z64, ProtocolError> {
        let mark = self.mark();
        let result = protocols::cross_entropy(self.party, probs, onehot)
            .await
            .map(|losses| losses.sum());
        self.record("loss_sum", mark, result)
    }

    async fn reveal(&mut self, x: Z64) -> Result<f64, ProtocolError> {
        let mark = self.mark();
        let result = async {
            let value = protocols::open_sum(self.party, &[x]).await?;
            Ok(self.party.fixed().decode(value))
        }
        .await;
        self.record("reveal", mark, result)
    }
}
