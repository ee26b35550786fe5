//! One SGD step, and evaluation, for any [`Backend`].

use ndarray::{Array2, ArrayD};

use super::graph::{backward_all, forward_all};
use super::layers::logits;
use super::{Backend, Params};
use crate::ProtocolError;
use crate::model::Network;

/// Training hyperparameters: the learning rate is `2^-lr_shift` (paper §7.4) and the batch
/// size `2^batch_shift`, so one SGD step scales gradients by `2^-(lr_shift + batch_shift)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hyper {
    /// `-log2` of the learning rate.
    pub lr_shift: u32,
    /// `log2` of the batch size.
    pub batch_shift: u32,
}

/// What a step computes besides the update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepResult<E> {
    /// The batch's summed cross-entropy loss, if asked for (not revealed).
    pub loss: Option<E>,
}

/// One SGD step on a batch: `x` is `(batch, channels, height, width)`, `onehot` the labels.
pub async fn train_step<B: Backend>(
    backend: &mut B,
    network: &Network,
    params: &mut Params<B::E>,
    x: ArrayD<B::E>,
    onehot: &Array2<B::E>,
    hyper: Hyper,
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
    let step = hyper.lr_shift + hyper.batch_shift;
    backward_all(backend, network, params, caches, grad.into_dyn(), step).await?;
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
