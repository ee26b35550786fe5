//! The maximum of each row with its one-hot argmax: max pooling's windows, one per row.

use ndarray::Array2;
use rand::RngExt;

use super::*;
use crate::protocols::{max_rows_with_argmax, route_to_argmax};
use crate::reference;

/// Windows of 1 to 9 positions (odd widths carry a column over a level) of random values,
/// plus rows of ties, zeros, the operand limit's extremes and max pooling's padding value:
/// the maxima and one-hots equal the reference's tree, and each one-hot marks a position
/// holding the maximum, the first of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_maximum_and_its_one_hot_match_the_reference() {
    let mut rng = rng(20);
    let mut pair = parties(Config::default()).await;
    let fixed = FixedPoint::default();
    let limit = Z64::from_signed(crate::fixed::MAX_MAGNITUDE);
    let padding = Z64::from_signed(-(1 << 62));
    for cols in 1..=9 {
        let mut x = Array2::from_shape_fn((12, cols), |_| {
            fixed.encode(rng.random_range(-4.0..4.0)).expect("in range")
        });
        x.row_mut(0).fill(Z64::ZERO);
        x.row_mut(1).fill(Z64::from_signed(-5));
        x.row_mut(2).fill(-limit);
        x[[3, cols - 1]] = limit;
        x[[4, 0]] = -limit;
        x[[5, 0]] = padding;
        x.row_mut(6).fill(padding);
        x[[6, cols / 2]] = -limit;
        let sh = share(&x, &mut rng);
        let (a, b) = both!(pair, |p, i| max_rows_with_argmax(p, &sh[i]));
        let (max, hot) = (open(&(a.0, b.0)), open(&(a.1, b.1)));
        let (want_max, want_hot) = reference::max_rows_with_argmax(&x);
        assert_eq!(max, want_max, "{cols} columns");
        assert_eq!(hot, want_hot, "{cols} columns");
        for (r, row) in x.rows().into_iter().enumerate() {
            let first = row
                .iter()
                .position(|&v| v == max[r])
                .expect("the maximum is an entry");
            assert!(row.iter().all(|v| v.signed() <= max[r].signed()), "row {r}");
            let mut one_hot = vec![Z64::ZERO; cols];
            one_hot[first] = Z64::ONE;
            assert_eq!(hot.row(r).to_vec(), one_hot, "row {r} of {cols}");
        }
    }
}

/// The backward product against `dy ⊙ hot` in the clear, for the one-hots the tree makes and
/// for hand-made ones whose shares are uniform in all 64 bits (only the lowest bit of each
/// share carries the entry): gradients of every sign, the operand limit's extremes and zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gradients_go_to_the_argmax_exactly() {
    let mut rng = rng(21);
    let mut pair = parties(Config::default()).await;
    let fixed = FixedPoint::default();
    let limit = Z64::from_signed(crate::fixed::MAX_MAGNITUDE);
    for cols in [1, 4, 9] {
        let x = Array2::from_shape_fn((10, cols), |_| {
            fixed.encode(rng.random_range(-4.0..4.0)).expect("in range")
        });
        let (_, tree_hot) = reference::max_rows_with_argmax(&x);
        let hand_hot = Array2::from_shape_fn((10, cols), |_| Z64(rng.random_range(0..2)));
        for hot in [tree_hot, hand_hot] {
            let mut dy = Array2::from_shape_fn((10, cols), |_| {
                fixed.encode(rng.random_range(-8.0..8.0)).expect("in range")
            });
            dy[[0, 0]] = limit;
            dy[[1, 0]] = -limit;
            dy[[2, 0]] = Z64::ZERO;
            let (sd, sh) = (share(&dy, &mut rng), share(&hot, &mut rng));
            let (a, b) = both!(pair, |p, i| route_to_argmax(p, &sd[i], &sh[i]));
            let want = Array2::from_shape_fn(dy.dim(), |(r, c)| dy[[r, c]] * hot[[r, c]]);
            assert_eq!(open(&(a, b)), want, "{cols} columns");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_rows_are_refused() {
    let mut pair = parties(Config::default()).await;
    let [p0, _] = &mut pair.parties;
    let x = Array2::from_elem((3, 0), Z64::ZERO);
    let err = max_rows_with_argmax(p0, &x).await.expect_err("no columns");
    assert!(err.to_string().contains("empty"), "{err}");
}
