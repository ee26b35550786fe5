//! 2x2 max pooling with the one-hot argmax its backward pass needs.

use ndarray::{Array1, Array4, Axis, concatenate, s};

use super::{ge, mul};
use crate::randomness::Randomness;
use crate::{Party, ProtocolError, Z64};

/// The output of [`maxpool2x2`].
#[derive(Debug, Clone)]
pub struct MaxPool {
    /// Shares of the pooled maxima, `(N, C, H/2, W/2)`.
    pub y: Array4<Z64>,
    /// Ring shares of the one-hot argmax, `(N, C, H, W)`: 1 where a window's maximum was.
    pub argmax: Array4<Z64>,
}

/// 2x2 max pooling with stride 2 over `(N, C, H, W)` (`H`, `W` even). Two levels of
/// compare-and-select: the pairs (0,0)-(0,1) and (1,0)-(1,1) of every window, then their
/// winners; the second level's product round also builds the one-hot argmax. On ties the
/// earlier position (row-major) wins. 2 × (comparison + B2A + product) rounds.
pub async fn maxpool2x2<R: Randomness>(
    p: &mut Party<R>,
    x: &Array4<Z64>,
) -> Result<MaxPool, ProtocolError> {
    let (n, c, h, w) = x.dim();
    if h % 2 != 0 || w % 2 != 0 {
        return Err(ProtocolError::Shape(format!(
            "maxpool2x2: height and width must be even, got {h}x{w}"
        )));
    }
    let pooled = (n, c, h / 2, w / 2);
    let m = n * c * (h / 2) * (w / 2);
    let corner = |dy: usize, dx: usize| -> Array1<Z64> {
        x.slice(s![.., .., dy..;2, dx..;2])
            .iter()
            .copied()
            .collect()
    };
    let (x0, x1, x2, x3) = (corner(0, 0), corner(0, 1), corner(1, 0), corner(1, 1));

    // Level 1: both rows of every window at once.
    let left = concatenate![Axis(0), x0, x2];
    let right = concatenate![Axis(0), x1, x3];
    let s1 = ge(p, &left, &right).await?;
    let winners = &right + &mul(p, &s1, &(&left - &right)).await?;
    let (m01, m23) = winners.view().split_at(Axis(0), m);
    let (s01, s23) = s1.view().split_at(Axis(0), m);

    // Level 2: t = [m01 >= m23]; one product round gives the maximum and t·s01, t·s23.
    let t = ge(p, &m01.to_owned(), &m23.to_owned()).await?;
    let ts = concatenate![Axis(0), t, t, t];
    let others = concatenate![Axis(0), &m01 - &m23, s01, s23];
    let products = mul(p, &ts, &others).await?;
    let (t_diff, rest) = products.view().split_at(Axis(0), m);
    let (t_s01, t_s23) = rest.split_at(Axis(0), m);
    let y = &m23 + &t_diff;

    let one = p.constant(Z64::ONE);
    let hot = [
        t_s01.to_owned(),
        &t - &t_s01,
        &s23 - &t_s23,
        (&t_s23 - &t - s23).mapv(|v| v + one),
    ];
    let mut argmax = Array4::from_elem((n, c, h, w), Z64::ZERO);
    for (i, values) in hot.iter().enumerate() {
        let mut target = argmax.slice_mut(s![.., .., i / 2..;2, i % 2..;2]);
        let values = values
            .view()
            .into_shape_with_order(pooled)
            .expect("one value per window");
        target.assign(&values);
    }
    let y = y
        .into_shape_with_order(pooled)
        .expect("one value per window");
    Ok(MaxPool { y, argmax })
}

/// The gradient through max pooling: each window's gradient goes to its argmax. One round.
pub async fn maxpool2x2_backward<R: Randomness>(
    p: &mut Party<R>,
    dy: &Array4<Z64>,
    argmax: &Array4<Z64>,
) -> Result<Array4<Z64>, ProtocolError> {
    let (n, c, h, w) = argmax.dim();
    if dy.dim() != (n, c, h / 2, w / 2) {
        return Err(ProtocolError::Shape(format!(
            "maxpool2x2_backward: gradient {:?} does not match argmax {:?}",
            dy.dim(),
            argmax.dim()
        )));
    }
    mul(p, &crate::reference::upsample2x2(dy), argmax).await
}
