//! The passes over a network's graph: the forward pass keeps the values that later layers
//! read ([`Layer::Take`], [`Layer::Add`]), and the backward pass sums the gradients that meet
//! at a value (a residual block's shortcut and its main path) before passing them on.
//!
//! A network without `take` or `add` is a chain, and these passes do exactly what a loop
//! over its layers would, in the same order (so its demand and its randomness are unchanged).

use ndarray::{ArrayD, IxDyn};

use super::layers::{Cache, backward, forward};
use super::{Backend, Params};
use crate::ProtocolError;
use crate::model::{Layer, Network};

/// What the forward pass keeps for the backward pass.
pub struct Pass<E> {
    /// Each layer's cache.
    caches: Vec<Cache<E>>,
    /// The dimensions of each value (0 the input, `i` layer `i`'s output), batch first.
    dims: Vec<IxDyn>,
}

fn shape_error(e: impl std::fmt::Display) -> ProtocolError {
    ProtocolError::Shape(e.to_string())
}

/// The forward pass of `network` on the batch `x`: its output and what the backward pass
/// needs.
pub async fn forward_all<B: Backend>(
    backend: &mut B,
    network: &Network,
    params: &Params<B::E>,
    mut x: ArrayD<B::E>,
) -> Result<(ArrayD<B::E>, Pass<B::E>), ProtocolError> {
    let shapes = network.shapes().map_err(shape_error)?;
    let kept = network.kept_values();
    let mut values: Vec<Option<ArrayD<B::E>>> = vec![None; network.layers.len() + 1];
    let mut dims = vec![x.raw_dim()];
    if kept[0] {
        values[0] = Some(x.clone());
    }
    let mut caches = Vec::with_capacity(network.layers.len());
    let mut input = network.input;
    for (i, &layer) in network.layers.iter().enumerate() {
        let earlier = |from: usize| {
            values
                .get(from)
                .and_then(Option::as_ref)
                .ok_or_else(|| shape_error(format!("layer {}: no value {from} kept", i + 1)))
        };
        let (y, cache) = match layer {
            Layer::Take { from } => (earlier(from)?.clone(), Cache::Wiring),
            Layer::Add { from } => {
                let other = earlier(from)?
                    .view()
                    .into_shape_with_order(x.raw_dim())
                    .map_err(shape_error)?;
                (&x + &other, Cache::Wiring)
            }
            _ => forward(backend, layer, params.layers[i].as_ref(), x, input).await?,
        };
        input = shapes[i];
        dims.push(y.raw_dim());
        if kept[i + 1] {
            values[i + 1] = Some(y.clone());
        }
        caches.push(cache);
        x = y;
    }
    Ok((x, Pass { caches, dims }))
}

/// The backward pass from the gradient `dy` of the output: every weight updated by SGD with
/// the step `2^-step` (`super::layers::backward`), gradients computed only where they reach
/// a weight.
pub async fn backward_all<B: Backend>(
    backend: &mut B,
    network: &Network,
    params: &mut Params<B::E>,
    pass: Pass<B::E>,
    dy: ArrayD<B::E>,
    step: u32,
) -> Result<(), ProtocolError> {
    let needs = network.carries_gradient();
    let Pass { caches, dims } = pass;
    let mut grads: Vec<Option<ArrayD<B::E>>> = vec![None; network.layers.len() + 1];
    grads[network.layers.len()] = Some(dy);
    // Adds a gradient into value `at`'s, in that value's dimensions, if it reaches a weight.
    let accumulate = |grads: &mut Vec<Option<ArrayD<B::E>>>, at: usize, g: ArrayD<B::E>| {
        if !needs[at] {
            return Ok(());
        }
        let g = g
            .into_shape_with_order(dims[at].clone())
            .map_err(shape_error)?;
        grads[at] = Some(match grads[at].take() {
            None => g,
            Some(sum) => sum + g,
        });
        Ok::<(), ProtocolError>(())
    };
    for (i, cache) in caches.into_iter().enumerate().rev() {
        let Some(dy) = grads[i + 1].take() else {
            continue;
        };
        match network.layers[i] {
            Layer::Take { from } => accumulate(&mut grads, from, dy)?,
            Layer::Add { from } => {
                accumulate(&mut grads, from, dy.clone())?;
                accumulate(&mut grads, i, dy)?;
            }
            _ => {
                let below = needs[i];
                let params = params.layers[i].as_mut();
                if let Some(dx) = backward(backend, params, cache, dy, below, step).await? {
                    accumulate(&mut grads, i, dx)?;
                }
            }
        }
    }
    Ok(())
}
