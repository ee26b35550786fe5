//! One training step, and evaluation, for any [`Backend`].

use ndarray::{Array2, ArrayD};

use super::graph::{backward_all, forward_all};
use super::layers::logits;
use super::optimizer::{Optimizer, Rule};
use super::{Backend, Params};
use crate::ProtocolError;
use crate::model::Network;

/// Training hyperparameters: the optimizer and the batch size `2^batch_shift`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyper {
    /// How gradients become updates.
    pub optimizer: Optimizer,
    /// `log2` of the batch size.
    pub batch_shift: u32,
}

impl Hyper {
    /// Plain SGD at the rate `2^-lr_shift` (the paper's, §7.4) on batches of `2^batch_shift`.
    pub fn sgd(lr_shift: u32, batch_shift: u32) -> Hyper {
        Hyper {
            optimizer: Optimizer::sgd(lr_shift),
            batch_shift,
        }
    }

    /// The update rule of step `t` (0-based).
    pub fn rule(&self, t: u64) -> Rule {
        self.optimizer.rule(t, self.batch_shift)
    }

    /// The optimizer's initial moments for `params` ([`Optimizer::moments`] of them): zeros of
    /// the same shapes.
    pub fn initial_moments<E: Clone + num_traits::Zero>(
        &self,
        params: &Params<E>,
    ) -> Vec<Params<E>> {
        (0..self.optimizer.moments())
            .map(|_| params.zeros_like())
            .collect()
    }
}

/// What a step computes besides the update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepResult<E> {
    /// The batch's summed cross-entropy loss, if asked for (not revealed).
    pub loss: Option<E>,
}

/// One training step on a batch `(x, onehot)`: `x` is `(batch, channels, height, width)`,
/// `onehot` the labels; the weights (and the `moments` the optimizer keeps of them)
/// are updated by `rule` ([`Hyper::rule`] of the step's index).
pub async fn train_step<B: Backend>(
    backend: &mut B,
    network: &Network,
    (params, moments): (&mut Params<B::E>, &mut [Params<B::E>]),
    (x, onehot): (ArrayD<B::E>, &Array2<B::E>),
    rule: Rule,
    with_loss: bool,
) -> Result<StepResult<B::E>, ProtocolError> {
    let (y, caches) = forward_all(backend, network, params, x).await?;
    let logits = logits(y)?;
    let grad = backend.softmax_grad(&logits, onehot).await?;
    let loss = match with_loss {
        // softmax - onehot + onehot = the probabilities.
        true => Some(backend.loss_sum(&(&grad + onehot), onehot).await?),
        false => None,
    };
    let weights = (params, moments);
    backward_all(backend, network, weights, caches, grad.into_dyn(), rule).await?;
    Ok(StepResult { loss })
}

/// The logits of a batch `x`: the forward pass alone (inference).
pub async fn predict<B: Backend>(
    backend: &mut B,
    network: &Network,
    params: &Params<B::E>,
    x: ArrayD<B::E>,
) -> Result<Array2<B::E>, ProtocolError> {
    let (y, _) = forward_all(backend, network, params, x).await?;
    logits(y)
}

/// How many of the first `valid` examples of a batch the model classifies correctly, as a
/// fixed-point number (not revealed; the rest of the batch is padding).
pub async fn evaluate<B: Backend>(
    backend: &mut B,
    network: &Network,
    params: &Params<B::E>,
    x: ArrayD<B::E>,
    onehot: &Array2<B::E>,
    valid: usize,
) -> Result<B::E, ProtocolError> {
    let (y, _) = forward_all(backend, network, params, x).await?;
    backend.count_correct(&logits(y)?, onehot, valid).await
}
