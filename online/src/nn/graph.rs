//! The passes over a network's graph: the forward pass keeps the values that later layers
//! read ([`Layer::Take`], [`Layer::Add`]), and the backward pass sums the gradients that meet
//! at a value (a residual block's shortcut and its main path) before passing them on.
//!
//! A network without `take` or `add` is a chain, and these passes do what a loop over its
//! layers would, in the same order, but for one rewrite ([`evaluation_order`]): a ReLU right
//! before a max pooling runs after it.

use std::borrow::Cow;

use ndarray::{ArrayD, IxDyn};

use super::layers::{Cache, backward, forward};
use super::optimizer::Rule;
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

/// The network as the passes run it: every ReLU directly followed by a max pooling swapped
/// with it, unless a later layer reads the ReLU's output. Both are monotone, so
/// `ReLU(max(window)) = max(ReLU(window))`: the same outputs from one ReLU per window instead
/// of one per input (a 2x2 pooling's ReLU takes a quarter of the comparisons: Networks B and C
/// lose 42% of their comparisons per step). The gradient is the same except where a window's
/// maximum is exactly 0 and an earlier position of it is negative (then the 0 takes the
/// gradient instead of no one); `docs/departures.md`, 5. The model's description, files and
/// agreement keep the order written.
pub(crate) fn evaluation_order(network: &Network) -> Cow<'_, Network> {
    let read: Vec<usize> = network.layers.iter().filter_map(|l| l.reads()).collect();
    let mut layers = network.layers.clone();
    let mut swapped = false;
    for i in 0..layers.len().saturating_sub(1) {
        // Layer `i` makes value `i + 1`, which after the swap holds the pooled inputs.
        if layers[i] == Layer::Relu
            && matches!(layers[i + 1], Layer::MaxPool { .. })
            && !read.contains(&(i + 1))
        {
            layers.swap(i, i + 1);
            swapped = true;
        }
    }
    match swapped {
        true => Cow::Owned(Network {
            layers,
            ..network.clone()
        }),
        false => Cow::Borrowed(network),
    }
}

/// The forward pass of `network` on the batch `x`: its output and what the backward pass
/// needs.
pub async fn forward_all<B: Backend>(
    backend: &mut B,
    network: &Network,
    params: &Params<B::E>,
    mut x: ArrayD<B::E>,
) -> Result<(ArrayD<B::E>, Pass<B::E>), ProtocolError> {
    let network = &*evaluation_order(network);
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

/// The backward pass from the gradient `dy` of the output: every weight (and the moments the
/// optimizer keeps of it) updated by `rule` (`super::layers::backward`), gradients
/// computed only where they reach a weight.
pub async fn backward_all<B: Backend>(
    backend: &mut B,
    network: &Network,
    (params, moments): (&mut Params<B::E>, &mut [Params<B::E>]),
    pass: Pass<B::E>,
    dy: ArrayD<B::E>,
    rule: Rule,
) -> Result<(), ProtocolError> {
    let network = &*evaluation_order(network);
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
                let layer = (
                    params.layers[i].as_mut(),
                    moments
                        .iter_mut()
                        .filter_map(|m| m.layers[i].as_mut())
                        .collect(),
                );
                if let Some(dx) = backward(backend, layer, cache, dy, below, rule).await? {
                    accumulate(&mut grads, i, dx)?;
                }
            }
        }
    }
    Ok(())
}
