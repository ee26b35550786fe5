//! Forward and backward passes of each layer kind, for any [`Backend`].
//!
//! Dense and convolution layers make one product forward, and backward `dW = X^T·delta`
//! and the bias gradient, applied by the optimizer's rule ([`super::optimizer`]), and
//! `delta·W^T` when a layer below has weights.
//! `crate::model` finds a network's demand by running these passes on a [`super::Tally`].

use ndarray::{Array2, Array4, ArrayD, Axis, Ix2, Ix4, IxDyn};

use super::Backend;
use super::im2col::{ConvShape, col2im, im2col, im2col_filled};
use super::optimizer::{self, Rule};
use super::params::LayerParams;
use crate::ProtocolError;
use crate::model::{Layer, Shape};

/// What a layer keeps from its forward pass for the backward pass.
#[derive(Debug)]
pub enum Cache<E> {
    /// The input, as a `batch x inputs` matrix.
    Dense(Array2<E>),
    /// The input patches and the convolution's geometry.
    Conv(Array2<E>, ConvShape),
    /// The 0/1 mask `[x >= 0]`.
    Relu(ArrayD<E>),
    /// The decisions of every window's tree (a row per window, one per output and channel) and
    /// the windows' geometry.
    MaxPool(Array2<E>, ConvShape),
    /// The input's shape.
    Flatten(Vec<usize>),
    /// The input's height and width.
    GlobalAvgPool(usize, usize),
    /// The windows' geometry.
    AvgPool(ConvShape),
    /// A [`Layer::Take`] or [`Layer::Add`]: nothing to keep, the pass over the graph routes
    /// their gradients (`super::graph`).
    Wiring,
}

fn shape_error(e: impl std::fmt::Display) -> ProtocolError {
    ProtocolError::Shape(e.to_string())
}

fn as_matrix<E: Clone>(x: ArrayD<E>) -> Result<Array2<E>, ProtocolError> {
    let batch = x.shape()[0];
    let rest = x.len() / batch.max(1);
    x.into_shape_with_order((batch, rest)).map_err(shape_error)
}

/// `(batch·oh·ow, channels)`, one row per output position (the layout of im2col's products),
/// to `(batch, channels, oh, ow)`.
fn rows_to_images<E: Clone>(
    z: Array2<E>,
    batch: usize,
    (oh, ow): (usize, usize),
) -> Result<ArrayD<E>, ProtocolError> {
    let channels = z.ncols();
    Ok(z.into_shape_with_order((batch, oh, ow, channels))
        .map_err(shape_error)?
        .permuted_axes([0, 3, 1, 2])
        .as_standard_layout()
        .into_owned()
        .into_dyn())
}

/// The inverse of [`rows_to_images`]: `(batch, channels, oh, ow)` to `(batch·oh·ow, channels)`.
fn images_to_rows<E: Clone>(y: ArrayD<E>) -> Result<Array2<E>, ProtocolError> {
    let y: Array4<E> = y.into_dimensionality::<Ix4>().map_err(shape_error)?;
    let (batch, channels, oh, ow) = y.dim();
    y.permuted_axes([0, 2, 3, 1])
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((batch * oh * ow, channels))
        .map_err(shape_error)
}

fn add_bias<E: Copy + std::ops::Add<Output = E>>(z: &mut Array2<E>, b: &ndarray::Array1<E>) {
    for mut row in z.rows_mut() {
        row.zip_mut_with(b, |v, &bias| *v = *v + bias);
    }
}

/// A pooling's windows of `x` (one image per batch entry, `input` its shape): one row per
/// output position and channel (im2col's columns are channel-major), `fill` in the padding;
/// and their geometry.
fn pooling_windows<E: Copy + Clone>(
    x: ArrayD<E>,
    input: Shape,
    kernel: usize,
    stride: usize,
    padding: usize,
    fill: E,
) -> Result<(Array2<E>, ConvShape), ProtocolError> {
    let x: Array4<E> = x.into_dimensionality::<Ix4>().map_err(shape_error)?;
    let shape = ConvShape {
        input: (input.channels, input.height, input.width),
        kernel,
        stride,
        padding,
    };
    let (oh, ow) = shape.output();
    let rows = x.dim().0 * oh * ow * input.channels;
    let windows = im2col_filled(&x, &shape, fill)
        .into_shape_with_order((rows, kernel * kernel))
        .map_err(shape_error)?;
    Ok((windows, shape))
}

/// The forward pass of `layer` on `x` (batch first; `input` is one example's shape).
pub async fn forward<B: Backend>(
    backend: &mut B,
    layer: Layer,
    params: Option<&LayerParams<B::E>>,
    x: ArrayD<B::E>,
    input: Shape,
) -> Result<(ArrayD<B::E>, Cache<B::E>), ProtocolError> {
    let missing = || ProtocolError::Shape("a layer with weights has no parameters".into());
    Ok(match layer {
        Layer::Dense { .. } => {
            let p = params.ok_or_else(missing)?;
            let x = as_matrix(x)?;
            let mut z = backend.matmul(&x, &p.w, 0).await?;
            add_bias(&mut z, &p.b);
            (z.into_dyn(), Cache::Dense(x))
        }
        Layer::Conv {
            kernel,
            stride,
            padding,
            ..
        } => {
            let p = params.ok_or_else(missing)?;
            let x: Array4<B::E> = x.into_dimensionality::<Ix4>().map_err(shape_error)?;
            let batch = x.dim().0;
            let shape = ConvShape {
                input: (input.channels, input.height, input.width),
                kernel,
                stride,
                padding,
            };
            let cols = im2col(&x, &shape);
            let mut z = backend.matmul(&cols, &p.w, 0).await?;
            add_bias(&mut z, &p.b);
            (
                rows_to_images(z, batch, shape.output())?,
                Cache::Conv(cols, shape),
            )
        }
        Layer::Relu => {
            let (y, mask) = backend.relu(&x).await?;
            (y, Cache::Relu(mask))
        }
        Layer::MaxPool {
            kernel,
            stride,
            padding,
        } => {
            let batch = x.shape()[0];
            let (windows, shape) =
                pooling_windows(x, input, kernel, stride, padding, backend.lowest())?;
            let (channels, (oh, ow)) = (input.channels, shape.output());
            let (max, decisions) = backend.maxpool(&windows).await?;
            let max = max
                .into_shape_with_order((batch * oh * ow, channels))
                .map_err(shape_error)?;
            (
                rows_to_images(max, batch, (oh, ow))?,
                Cache::MaxPool(decisions, shape),
            )
        }
        Layer::Flatten => {
            let shape = x.shape().to_vec();
            (as_matrix(x)?.into_dyn(), Cache::Flatten(shape))
        }
        Layer::GlobalAvgPool => {
            let x: Array4<B::E> = x.into_dimensionality::<Ix4>().map_err(shape_error)?;
            let (batch, channels, h, w) = x.dim();
            // The sum is local; the mean is one public multiplication and a rescale.
            let sums = x
                .map_axis(Axis(3), |r| r.sum())
                .map_axis(Axis(2), |r| r.sum());
            let mean = backend
                .scale(&sums.into_dyn(), ((h * w) as f64).recip())
                .await?
                .into_shape_with_order(IxDyn(&[batch, channels, 1, 1]))
                .map_err(shape_error)?;
            (mean, Cache::GlobalAvgPool(h, w))
        }
        Layer::AvgPool { kernel, stride } => {
            let batch = x.shape()[0];
            let (windows, shape) = pooling_windows(x, input, kernel, stride, 0, B::E::default())?;
            let (channels, (oh, ow)) = (input.channels, shape.output());
            let window = kernel * kernel;
            let sums = windows
                .sum_axis(Axis(1))
                .into_shape_with_order((batch * oh * ow, channels))
                .map_err(shape_error)?;
            let mean = backend
                .scale(&sums.into_dyn(), (window as f64).recip())
                .await?
                .into_dimensionality::<Ix2>()
                .map_err(shape_error)?;
            (
                rows_to_images(mean, batch, shape.output())?,
                Cache::AvgPool(shape),
            )
        }
        Layer::Take { .. } | Layer::Add { .. } => {
            return Err(ProtocolError::Shape(
                "take and add read earlier values: the pass over the graph runs them".into(),
            ));
        }
    })
}

/// A layer's parameters and the optimizer's moments of them ([`super::Optimizer::moments`]).
pub type LayerWeights<'a, E> = (Option<&'a mut LayerParams<E>>, Vec<&'a mut LayerParams<E>>);

/// The backward pass of `layer`: updates its parameters (and their moments) by `rule` and
/// returns the gradient for the layer below if `below`.
pub async fn backward<B: Backend>(
    backend: &mut B,
    (params, moments): LayerWeights<'_, B::E>,
    cache: Cache<B::E>,
    dy: ArrayD<B::E>,
    below: bool,
    rule: Rule,
) -> Result<Option<ArrayD<B::E>>, ProtocolError> {
    let missing = || ProtocolError::Shape("a layer with weights has no parameters".into());
    Ok(match cache {
        Cache::Dense(x) => {
            let p = params.ok_or_else(missing)?;
            let dy = as_matrix(dy)?;
            let dx = match below {
                true => Some(
                    backend
                        .matmul(&dy, &p.w.t().to_owned(), 0)
                        .await?
                        .into_dyn(),
                ),
                false => None,
            };
            update(backend, (p, moments), &x, &dy, rule).await?;
            dx
        }
        Cache::Conv(cols, shape) => {
            let p = params.ok_or_else(missing)?;
            let batch = dy.shape()[0];
            // The layout of the forward product.
            let dy = images_to_rows(dy)?;
            let dx = match below {
                true => {
                    // Sum the patches' products first, then rescale once.
                    let dcols = backend.product(&dy, &p.w.t().to_owned()).await?;
                    let dx = col2im(&dcols, batch, &shape).into_dyn();
                    Some(backend.rescale(&dx, 0).await?)
                }
                false => None,
            };
            update(backend, (p, moments), &cols, &dy, rule).await?;
            dx
        }
        Cache::Relu(mask) => Some(backend.relu_backward(&dy, &mask).await?),
        Cache::MaxPool(decisions, shape) => {
            let batch = dy.shape()[0];
            let dy = images_to_rows(dy)?;
            let (rows, channels) = dy.dim();
            // Each window's gradient to its argmax, then the windows summed back (col2im).
            let dy = dy
                .into_shape_with_order(rows * channels)
                .map_err(shape_error)?;
            let dcols = backend
                .maxpool_backward(&dy, &decisions)
                .await?
                .into_shape_with_order((rows, channels * shape.kernel * shape.kernel))
                .map_err(shape_error)?;
            Some(col2im(&dcols, batch, &shape).into_dyn())
        }
        Cache::Flatten(shape) => Some(
            dy.into_shape_with_order(IxDyn(&shape))
                .map_err(shape_error)?,
        ),
        Cache::GlobalAvgPool(h, w) => {
            let dy = as_matrix(dy)?;
            let (batch, channels) = dy.dim();
            // Scale once per channel, then spread over the window.
            let share = backend
                .scale(&dy.into_dyn(), ((h * w) as f64).recip())
                .await?
                .into_shape_with_order((batch, channels, 1, 1))
                .map_err(shape_error)?;
            let dx = share
                .broadcast((batch, channels, h, w))
                .ok_or_else(|| shape_error("the pooled gradient does not spread"))?
                .to_owned();
            Some(dx.into_dyn())
        }
        Cache::AvgPool(shape) => {
            let batch = dy.shape()[0];
            let dy = images_to_rows(dy)?;
            let (rows, channels) = dy.dim();
            let window = shape.kernel * shape.kernel;
            // Scale once per output, then give each of its window's inputs that share.
            let share = backend
                .scale(&dy.into_dyn(), (window as f64).recip())
                .await?;
            let dcols =
                Array2::from_shape_fn((rows, channels * window), |(r, c)| share[[r, c / window]]);
            Some(col2im(&dcols, batch, &shape).into_dyn())
        }
        Cache::Wiring => {
            return Err(ProtocolError::Shape(
                "take and add route their gradients in the pass over the graph".into(),
            ));
        }
    })
}

/// The gradients `X^T·delta` and `sum_rows(delta)`, scaled down by the rule's shift, applied
/// by `rule` ([`super::optimizer`]).
async fn update<B: Backend>(
    backend: &mut B,
    (p, moments): (&mut LayerParams<B::E>, Vec<&mut LayerParams<B::E>>),
    x: &Array2<B::E>,
    dy: &Array2<B::E>,
    rule: Rule,
) -> Result<(), ProtocolError> {
    let shift = rule.gradient_shift();
    let dw = backend.matmul(&x.t().to_owned(), dy, shift).await?;
    let db = dy.sum_axis(Axis(0));
    let db = match shift {
        0 => db,
        _ => backend
            .scale_down(&db.into_dyn(), shift)
            .await?
            .into_dimensionality::<ndarray::Ix1>()
            .map_err(shape_error)?,
    };
    optimizer::apply_layer(backend, rule, p, (dw, db), moments).await
}

/// The logits of the last layer as a matrix.
pub fn logits<E: Clone>(y: ArrayD<E>) -> Result<Array2<E>, ProtocolError> {
    let m = as_matrix(y)?;
    m.into_dimensionality::<Ix2>().map_err(shape_error)
}
