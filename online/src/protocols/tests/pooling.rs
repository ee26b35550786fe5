//! 2x2 max pooling, forward and backward.

use ndarray::Array4;
use rand::RngExt;

use super::*;
use crate::protocols::{maxpool2x2, maxpool2x2_backward};
use crate::reference;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maxpool_and_argmax_match_the_reference() {
    let mut rng = rng(20);
    let mut pair = parties(Config::default()).await;
    let fixed = FixedPoint::default();
    // Random values, plus windows full of ties, zeros and negative extremes.
    let mut x = Array4::from_shape_fn((3, 2, 6, 4), |_| {
        fixed.encode(rng.random_range(-4.0..4.0)).expect("in range")
    });
    x.slice_mut(ndarray::s![0, 0, 0..2, 0..2]).fill(Z64::ZERO);
    x.slice_mut(ndarray::s![0, 1, 0..2, 0..2])
        .fill(Z64::from_signed(-5));
    x[[1, 0, 2, 3]] = Z64::from_signed(-crate::fixed::MAX_MAGNITUDE);
    x[[1, 0, 3, 3]] = Z64::from_signed(crate::fixed::MAX_MAGNITUDE);
    let sh = share(&x, &mut rng);
    let out = both!(pair, |p, i| maxpool2x2(p, &sh[i]));
    let (want_y, want_argmax) = reference::maxpool2x2(&x);
    assert_eq!(open(&(out.0.y.clone(), out.1.y.clone())), want_y);
    let argmax = open(&(out.0.argmax.clone(), out.1.argmax.clone()));
    assert_eq!(argmax, want_argmax);

    let dy = Array4::from_shape_fn(want_y.dim(), |_| Z64(rng.random()));
    let dy_sh = share(&dy, &mut rng);
    let (g0, g1) = both!(pair, |p, i| {
        let hot = if i == 0 { &out.0.argmax } else { &out.1.argmax };
        maxpool2x2_backward(p, &dy_sh[i], hot)
    });
    let want = Array4::from_shape_fn(x.dim(), |(a, b, h, w)| {
        want_argmax[[a, b, h, w]] * dy[[a, b, h / 2, w / 2]]
    });
    assert_eq!(open(&(g0, g1)), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maxpool_rejects_odd_sizes() {
    let mut pair = parties(Config::default()).await;
    let [p0, _] = &mut pair.parties;
    let x = Array4::from_elem((1, 1, 3, 4), Z64::ZERO);
    let err = maxpool2x2(p0, &x).await.expect_err("odd height");
    assert!(err.to_string().contains("even"), "{err}");
}
