//! What a network consumes, found by running its real code on a [`Tally`], which adds up
//! each operation's cost instead of computing it.

use ndarray::{Array2, ArrayD, IxDyn};

use super::{ModelError, Network};
use crate::cost::argmax_rows;
use crate::nn::{Hyper, Optimizer, Params, Tally, evaluate, predict, train_step};
use crate::protocols::{Comparison, Exp, REQUESTS_PER_TRIPLE};
use crate::{Config, FixedPoint, Z64};
use dyad_randomness::{Demand, Kind};

impl Network {
    /// What the forward pass over `batch` examples consumes.
    pub fn inference_demand(&self, batch: usize, cmp: Comparison) -> Result<Demand, ModelError> {
        let mut tally = Tally::new(FixedPoint::default(), cmp, Exp::default());
        let params = self.zero_params(&tally)?;
        let x = self.zero_batch(batch);
        Tally::run(predict(&mut tally, self, &params, x))?;
        Ok(tally.demand)
    }

    /// What serving `requests` requests consumes at most: each the forward pass of one example
    /// and the argmax of its logits (a request may ask for the class only). Requests evaluated
    /// together take exactly the sum of their single demands, except that the products by
    /// weights draw on weight-bound triples of [`REQUESTS_PER_TRIPLE`] requests' rows each
    /// (see [`crate::protocols::WeightMasks`]).
    pub fn serving_demand(&self, requests: u64, cmp: Comparison) -> Result<Demand, ModelError> {
        let single = self.inference_demand(1, cmp)? + argmax_rows(1, self.classes(), cmp);
        let triples = requests.div_ceil(REQUESTS_PER_TRIPLE as u64);
        let mut demand = Demand::default();
        for (kind, count) in single.0 {
            demand += match kind {
                Kind::MatrixTriple { m, n, k } => Demand::of(
                    Kind::MatrixTriple {
                        m: m * REQUESTS_PER_TRIPLE,
                        n,
                        k,
                    },
                    count * triples,
                ),
                _ => Demand::of(kind, count * requests),
            };
        }
        Ok(demand)
    }

    /// What evaluating `batch` examples consumes: the forward pass and the correctness count.
    pub fn evaluation_demand(&self, batch: usize, cmp: Comparison) -> Result<Demand, ModelError> {
        let mut tally = Tally::new(FixedPoint::default(), cmp, Exp::default());
        let params = self.zero_params(&tally)?;
        let (x, onehot) = (
            self.zero_batch(batch),
            Array2::zeros((batch, self.classes())),
        );
        Tally::run(evaluate(&mut tally, self, &params, x, &onehot, batch))?;
        Ok(tally.demand)
    }

    /// What one training step on a batch of `batch` examples consumes, with `loss` the batch's
    /// loss too, updated by `optimizer`. `batch` must be a power of two (the average is a
    /// shift). The learning rate's value does not matter: a truncation costs the same by any
    /// number of bits, and every step of a job's schedule costs the same.
    pub fn training_demand(
        &self,
        batch: usize,
        loss: bool,
        optimizer: &Optimizer,
        config: (FixedPoint, Comparison, Exp),
    ) -> Result<Demand, ModelError> {
        if !batch.is_power_of_two() {
            return Err(ModelError::BatchNotPowerOfTwo(batch));
        }
        let (fixed, cmp, exp) = config;
        let mut tally = Tally::new(fixed, cmp, exp);
        let mut params = self.zero_params(&tally)?;
        let (x, onehot) = (
            self.zero_batch(batch),
            Array2::zeros((batch, self.classes())),
        );
        let hyper = Hyper {
            optimizer: *optimizer,
            batch_shift: batch.trailing_zeros(),
        };
        let mut moments = hyper.initial_moments(&params);
        let weights = (&mut params, moments.as_mut_slice());
        let step = train_step(&mut tally, self, weights, (x, &onehot), hyper.rule(0), loss);
        Tally::run(step)?;
        Ok(tally.demand)
    }

    /// The stock a plan keeps for `iterations` training steps of `batch` examples and
    /// `inferences` served requests (`dyad serve`), trained by `optimizer` and run with the
    /// online `config`.
    pub fn stock_demand(
        &self,
        (batch, iterations): (usize, u64),
        inferences: u64,
        optimizer: &Optimizer,
        config: Config,
    ) -> Result<Demand, ModelError> {
        let (fixed, cmp) = (config.fixed, config.comparison());
        let mut demand = Demand::default();
        if iterations > 0 {
            let step = (fixed, cmp, config.exp);
            demand += self.training_demand(batch, false, optimizer, step)? * iterations;
        }
        if inferences > 0 {
            demand += self.serving_demand(inferences, cmp)?;
        }
        Ok(demand)
    }

    /// Parameters of the right shapes for a [`Tally`] (zeros).
    fn zero_params(&self, tally: &Tally) -> Result<Params<Z64>, ModelError> {
        Ok(Params::initial(self, 0, FixedPoint::default())?.import(tally))
    }

    /// A batch of `batch` zero inputs.
    fn zero_batch(&self, batch: usize) -> ArrayD<Z64> {
        let i = self.input;
        ArrayD::zeros(IxDyn(&[batch, i.channels, i.height, i.width]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> (FixedPoint, Comparison, Exp) {
        (FixedPoint::default(), Comparison::default(), Exp::default())
    }

    #[test]
    fn network_a_training_takes_its_matrix_triples() {
        let net = Network::by_name("net-a").expect("known");
        let d = net
            .training_demand(128, false, &Optimizer::sgd(0), defaults())
            .expect("ok");
        use crate::randomness::Kind::*;
        assert_eq!(
            d.0[&MatrixTriple {
                m: 128,
                n: 784,
                k: 128
            }],
            1
        );
        assert_eq!(
            d.0[&MatrixTriple {
                m: 784,
                n: 128,
                k: 128
            }],
            1,
            "dW of the first layer"
        );
        assert!(
            !d.0.contains_key(&MatrixTriple {
                m: 128,
                n: 128,
                k: 784
            }),
            "no gradient below the first layer"
        );
        // Every truncation takes a daBit: at least one per weight and bias update.
        let weights = 784 * 128 + 128 * 128 + 128 * 10 + 128 + 128 + 10;
        assert!(d.0[&DaBit] > weights, "{} daBits", d.0[&DaBit]);
        assert!(
            net.training_demand(100, false, &Optimizer::sgd(0), defaults())
                .is_err()
        );
    }
}
