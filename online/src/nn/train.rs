//! One SGD step, and evaluation, for any [`Backend`].

use ndarray::{Array2, ArrayD};

use super::layers::{backward, forward, logits};
use super::{Backend, Params};
use crate::ProtocolError;
use crate::model::{Layer, Network};

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

/// Forward pass with caches.
async fn forward_all<B: Backend>(
    backend: &mut B,
    network: &Network,
    params: &Params<B::E>,
    mut x: ArrayD<B::E>,
) -> Result<(ArrayD<B::E>, Vec<super::Cache<B::E>>), ProtocolError> {
    let shapes = network
        .shapes()
        .map_err(|e| ProtocolError::Shape(e.to_string()))?;
    let mut input = network.input;
    let mut caches = Vec::with_capacity(network.layers.len());
    for (i, layer) in network.layers.iter().enumerate() {
        let (y, cache) = forward(backend, *layer, params.layers[i].as_ref(), x, input).await?;
        caches.push(cache);
        x = y;
        input = shapes[i];
    }
    Ok((x, caches))
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
    let mut dy = grad.into_dyn();
    for (i, cache) in caches.into_iter().enumerate().rev() {
        let below = network.layers[..i]
            .iter()
            .any(|l| matches!(l, Layer::Dense { .. } | Layer::Conv { .. }));
        match backward(backend, params.layers[i].as_mut(), cache, dy, below, step).await? {
            Some(next) => dy = next,
            None => break,
        }
    }
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
