//! The secure backend: every operation is a two-party protocol on shares.

use ndarray::{Array2, Array4, ArrayD};

use super::Backend;
use crate::protocols;
use crate::randomness::Randomness;
use crate::{Party, ProtocolError, Z64};

/// A party running a network on shares with its peer.
pub struct Secure<'a, R> {
    /// The party.
    pub party: &'a mut Party<R>,
    /// Every matrix product splits its left operand's rows into this many equal blocks, one
    /// matrix triple each (see [`protocols::matmul_blocks`]). Training uses 1; inference uses
    /// the number of requests evaluated together, so that randomness stocked for single
    /// inferences serves batches of any size.
    pub blocks: usize,
}

impl<'a, R> Secure<'a, R> {
    /// One matrix triple per product.
    pub fn new(party: &'a mut Party<R>) -> Self {
        Secure { party, blocks: 1 }
    }

    /// One matrix triple per example of a batch of `examples` in every product.
    pub fn per_example(party: &'a mut Party<R>, examples: usize) -> Self {
        Secure {
            party,
            blocks: examples,
        }
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
        protocols::matmul_blocks(self.party, a, b, self.blocks).await
    }

    async fn rescale(&mut self, x: &ArrayD<Z64>, extra: u32) -> Result<ArrayD<Z64>, ProtocolError> {
        let f = self.party.fixed().f;
        protocols::truncate_by(self.party, x, f + extra).await
    }

    async fn scale_down(
        &mut self,
        x: &ArrayD<Z64>,
        extra: u32,
    ) -> Result<ArrayD<Z64>, ProtocolError> {
        protocols::truncate_by(self.party, x, extra).await
    }

    async fn relu(&mut self, x: &ArrayD<Z64>) -> Result<(ArrayD<Z64>, ArrayD<Z64>), ProtocolError> {
        let r = protocols::relu(self.party, x).await?;
        Ok((r.y, r.drelu))
    }

    async fn relu_backward(
        &mut self,
        dy: &ArrayD<Z64>,
        mask: &ArrayD<Z64>,
    ) -> Result<ArrayD<Z64>, ProtocolError> {
        protocols::relu_backward(self.party, dy, mask).await
    }

    async fn maxpool(
        &mut self,
        x: &Array4<Z64>,
    ) -> Result<(Array4<Z64>, Array4<Z64>), ProtocolError> {
        let m = protocols::maxpool2x2(self.party, x).await?;
        Ok((m.y, m.argmax))
    }

    async fn maxpool_backward(
        &mut self,
        dy: &Array4<Z64>,
        argmax: &Array4<Z64>,
    ) -> Result<Array4<Z64>, ProtocolError> {
        protocols::maxpool2x2_backward(self.party, dy, argmax).await
    }

    async fn softmax_grad(
        &mut self,
        logits: &Array2<Z64>,
        onehot: &Array2<Z64>,
    ) -> Result<Array2<Z64>, ProtocolError> {
        protocols::cross_entropy_grad(self.party, logits, onehot).await
    }

    async fn count_correct(
        &mut self,
        logits: &Array2<Z64>,
        onehot: &Array2<Z64>,
        valid: usize,
    ) -> Result<Z64, ProtocolError> {
        let bits = protocols::correct(self.party, logits, onehot).await?;
        let one = Z64::from_signed(self.party.fixed().one());
        Ok(bits.iter().take(valid).map(|&b| b * one).sum())
    }

    async fn loss_sum(
        &mut self,
        probs: &Array2<Z64>,
        onehot: &Array2<Z64>,
    ) -> Result<Z64, ProtocolError> {
        Ok(protocols::cross_entropy(self.party, probs, onehot)
            .await?
            .sum())
    }

    async fn reveal(&mut self, x: Z64) -> Result<f64, ProtocolError> {
        let value = protocols::open_sum(self.party, &[x]).await?;
        Ok(self.party.fixed().decode(value))
    }
}
