//! The maximum of each row with the tree's decisions, and the gradient routed back down them:
//! max pooling's windows, one per row.

use ndarray::{Array1, Array2};
use rand::RngExt;

use super::*;
use crate::protocols::{max_rows_with_decisions, route_to_max};
use crate::reference;

/// Windows of 1 to 9 positions (odd widths carry a column over a level) of random values,
/// plus rows of ties, zeros, the operand limit's extremes and max pooling's padding value:
/// the maxima and the decisions equal the reference's tree, and the gradient routed down the
/// decisions lands whole on the first position holding the maximum, nowhere else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_maximum_and_its_route_match_the_reference() {
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
        let (a, b) = both!(pair, |p, i| max_rows_with_decisions(p, &sh[i]));
        let max = open(&(a.0, b.0));
        // XOR shares, each 0 or 1.
        let decisions = Array2::from_shape_fn(a.1.dim(), |ij| Z64(a.1[ij].0 ^ b.1[ij].0));
        let (want_max, want_decisions) = reference::max_rows_with_decisions(&x);
        assert_eq!(max, want_max, "{cols} columns");
        assert_eq!(decisions, want_decisions, "{cols} columns");

        let mut dy = Array1::from_shape_fn(12, |_| {
            fixed.encode(rng.random_range(-8.0..8.0)).expect("in range")
        });
        dy[0] = limit;
        dy[1] = -limit;
        dy[2] = Z64::ZERO;
        let sd = share(&dy, &mut rng);
        let (g0, g1) = both!(pair, |p, i| route_to_max(p, &sd[i], [&a.1, &b.1][i]));
        let routed = open(&(g0, g1));
        for (r, row) in x.rows().into_iter().enumerate() {
            let first = row
                .iter()
                .position(|&v| v == max[r])
                .expect("the maximum is an entry");
            assert!(row.iter().all(|v| v.signed() <= max[r].signed()), "row {r}");
            let mut want = vec![Z64::ZERO; cols];
            want[first] = dy[r];
            assert_eq!(routed.row(r).to_vec(), want, "row {r} of {cols}");
        }
    }
}

/// The route against the reference's for decisions drawn at random (not only those a tree of
/// real values makes), gradients of every sign, the operand limit's extremes and zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_decisions_route_as_the_reference_does() {
    let mut rng = rng(21);
    let mut pair = parties(Config::default()).await;
    let fixed = FixedPoint::default();
    let limit = Z64::from_signed(crate::fixed::MAX_MAGNITUDE);
    for cols in [1, 2, 3, 4, 9] {
        let decisions = Array2::from_shape_fn((10, cols - 1), |_| Z64(rng.random_range(0..2)));
        let mut dy = Array1::from_shape_fn(10, |_| {
            fixed.encode(rng.random_range(-8.0..8.0)).expect("in range")
        });
        dy[0] = limit;
        dy[1] = -limit;
        dy[2] = Z64::ZERO;
        let xor0 = Array2::from_shape_fn(decisions.dim(), |_| Z64(rng.random_range(0..2)));
        let xor = [
            xor0.clone(),
            Array2::from_shape_fn(xor0.dim(), |ij| Z64(xor0[ij].0 ^ decisions[ij].0)),
        ];
        let sd = share(&dy, &mut rng);
        let (a, b) = both!(pair, |p, i| route_to_max(p, &sd[i], &xor[i]));
        let want = reference::route_to_max_by(&dy, &decisions, |g, d| g * d).expect("shapes");
        assert_eq!(open(&(a, b)), want, "{cols} columns");
        assert_eq!(
            want.sum_axis(ndarray::Axis(1)),
            dy,
            "the route keeps the gradient whole"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_rows_and_mismatched_gradients_are_refused() {
    let mut pair = parties(Config::default()).await;
    let [p0, _] = &mut pair.parties;
    let x = Array2::from_elem((3, 0), Z64::ZERO);
    let err = max_rows_with_decisions(p0, &x)
        .await
        .expect_err("no columns");
    assert!(err.to_string().contains("empty"), "{err}");
    let decisions = Array2::from_elem((3, 3), Z64::ZERO);
    let dy = Array1::from_elem(2, Z64::ZERO);
    let err = route_to_max(p0, &dy, &decisions)
        .await
        .expect_err("2 for 3");
    assert!(
        err.to_string().contains("2 gradients for 3 windows"),
        "{err}"
    );
}
