//! exp, the Newton reciprocal, row maxima, softmax and the cross-entropy gradient.

use ndarray::{Array1, Array2};
use rand::RngExt;

use super::*;
use crate::fixed::Headroom;
use crate::protocols::{Exp, argmax_rows, cross_entropy_grad, exp, max_rows, reciprocal, softmax};
use crate::reference;

/// Largest |MPC - reference| in units of the last place.
fn max_ulps<D: ndarray::Dimension>(got: &Array<Z64, D>, want: &Array<Z64, D>) -> i64 {
    got.iter()
        .zip(want)
        .map(|(&g, &w)| (g - w).signed().abs())
        .max()
        .unwrap_or(0)
}

/// Largest distance of the `exp` protocol from the reference, in units: one truncation for
/// the chords; for squaring, under one unit from the squarings at the finer scale and one
/// from the last truncation (see the `exp` module).
fn exp_ulps(method: Exp) -> i64 {
    match method {
        Exp::Segments => 1,
        Exp::Squaring => 2,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exp_matches_the_reference_and_is_close_to_the_real_function() {
    let fixed = FixedPoint::default();
    let mut rng = rng(30);
    let mut x: Vec<Z64> = (0..2000)
        .map(|_| {
            fixed
                .encode(rng.random_range(-12.0..=0.0))
                .expect("in range")
        })
        .collect();
    // Every breakpoint and its neighbours, the squaring's clip at -64 and its neighbours, 0,
    // -1 ulp, below the chords' domain, very negative.
    let clip = fixed.encode(-64.0).expect("ok");
    for &t in crate::protocols::Piecewise::exp(fixed)
        .breakpoints
        .iter()
        .chain([&clip])
    {
        x.extend([t - Z64::ONE, t, t + Z64::ONE]);
    }
    x.extend([
        Z64::ZERO,
        Z64::from_signed(-1),
        fixed.encode(-10.5).expect("ok"),
        fixed.encode(-200.0).expect("ok"),
    ]);
    x.push(Z64::from_signed(-crate::fixed::MAX_MAGNITUDE));
    let x = Array1::from(x);
    for (method, bound) in [(Exp::Segments, 0.05), (Exp::Squaring, 0.0045)] {
        let mut pair = parties(Config {
            exp: method,
            ..Config::default()
        })
        .await;
        let sh = share(&x, &mut rng);
        let got = open(&both!(pair, |p, i| exp(p, &sh[i])));
        let want = x.mapv(|v| reference::exp(v, fixed, method, &mut Headroom::default()));
        let off = max_ulps(&got, &want);
        assert!(off <= exp_ulps(method), "exp by {method} off by {off} ulp");
        // And the approximation itself (chords of width 0.625, or the limit (1 + x/64)^64).
        for (&xi, &yi) in x.iter().zip(&got) {
            let (xr, yr) = (fixed.decode(xi), fixed.decode(yi));
            let err = (yr - xr.exp()).abs();
            assert!(err < bound, "exp({xr}) by {method} = {yr}");
        }
        assert_eq!(
            got[got.len() - 1],
            Z64::ZERO,
            "far below the domain gives 0"
        );
    }
}

/// Newton's iteration keeps truncation errors from growing: the result stays within a few
/// units of the reference (bound: 1 unit per truncation of the last step, plus the
/// propagated error of `s·w`, which is at most `w <= 1` units).
const RECIPROCAL_ULPS: i64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reciprocal_is_within_bound_across_its_range() {
    let mut rng = rng(31);
    let mut pair = parties(Config::default()).await;
    let fixed = FixedPoint::default();
    let mut s: Vec<Z64> = (0..2000)
        .map(|_| {
            fixed
                .encode(rng.random_range(1.0..=10.0))
                .expect("in range")
        })
        .collect();
    s.extend([1.0, 10.0, 5.5, 1.0 + fixed.ulp()].map(|v| fixed.encode(v).expect("ok")));
    let s = Array1::from(s);
    let sh = share(&s, &mut rng);
    let got = open(&both!(pair, |p, i| reciprocal(p, &sh[i], 10.0)));
    let want = s.mapv(|v| reference::reciprocal(v, 10.0, fixed, &mut Headroom::default()));
    assert!(
        max_ulps(&got, &want) <= RECIPROCAL_ULPS,
        "{} ulp",
        max_ulps(&got, &want)
    );
    for (&si, &wi) in s.iter().zip(&got) {
        let rel = fixed.decode(wi) * fixed.decode(si) - 1.0;
        assert!(
            rel.abs() < 1e-3,
            "1/{} = {}",
            fixed.decode(si),
            fixed.decode(wi)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_rows_finds_each_row_maximum() {
    let mut rng = rng(32);
    let mut pair = parties(Config::default()).await;
    for cols in [1, 2, 3, 10] {
        let x = uniform(7 * cols, 100.0, &mut rng)
            .into_shape_with_order((7, cols))
            .expect("shape");
        let sh = share(&x, &mut rng);
        let got = open(&both!(pair, |p, i| max_rows(p, &sh[i])));
        assert_eq!(got, reference::max_rows(&x), "{cols} columns");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argmax_rows_finds_the_first_maximum() {
    let mut rng = rng(33);
    let mut pair = parties(Config::default()).await;
    for cols in [1, 2, 3, 10] {
        // Random logits, then few distinct values so that ties are common.
        let wide = uniform(9 * cols, 100.0, &mut rng);
        let tied = wide.mapv(|v| Z64::from_signed(v.signed().signum() << 16));
        for x in [wide, tied] {
            let x = x.into_shape_with_order((9, cols)).expect("shape");
            let sh = share(&x, &mut rng);
            let before = pair.parties[0].counters();
            let got = open(&both!(pair, |p, i| argmax_rows(p, &sh[i])));
            assert_eq!(got, reference::argmax_rows(&x), "{cols} columns: {x:?}");
            if cols == 10 {
                // One comparison of all pairs (7 rounds with the default bitwise comparison),
                // then 9 bits ANDed in 4 levels.
                assert_eq!((pair.parties[0].counters() - before).rounds, 11);
            }
        }
    }
}

/// Fixed-point one-hot rows of `labels`.
fn onehot(labels: &[usize], cols: usize, fixed: FixedPoint) -> Array2<Z64> {
    Array2::from_shape_fn((labels.len(), cols), |(r, c)| match labels[r] == c {
        true => Z64::from_signed(fixed.one()),
        false => Z64::ZERO,
    })
}

/// Softmax composes exp (1 unit), a row sum of `cols` of them, the reciprocal (whose input
/// error of up to `cols·E` units moves `1/s` by at most as many, since `1/s^2 <= 1`, plus its
/// own `RECIPROCAL_ULPS`) and one product: `(cols + 1)·E + RECIPROCAL_ULPS + 2` units bounds
/// it, for exps within `E` units.
fn softmax_ulps(cols: usize, method: Exp) -> i64 {
    (cols as i64 + 1) * exp_ulps(method) + RECIPROCAL_ULPS + 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn softmax_and_cross_entropy_gradient_match_the_reference() {
    let mut rng = rng(33);
    let fixed = FixedPoint::default();
    let (rows, cols) = (64, 10);
    let mut logits = uniform(rows * cols, 8.0, &mut rng)
        .into_shape_with_order((rows, cols))
        .expect("shape");
    logits.row_mut(0).fill(Z64::ZERO); // all equal
    logits[[1, 3]] = fixed.encode(30.0).expect("ok"); // one dominant class
    let labels: Vec<usize> = (0..rows).map(|_| rng.random_range(0..cols)).collect();
    let onehot = onehot(&labels, cols, fixed);
    let (l_sh, y_sh) = (share(&logits, &mut rng), share(&onehot, &mut rng));

    for method in [Exp::Segments, Exp::Squaring] {
        let mut pair = parties(Config {
            exp: method,
            ..Config::default()
        })
        .await;
        let got = open(&both!(pair, |p, i| softmax(p, &l_sh[i])));
        let want = reference::softmax(&logits, fixed, method, &mut Headroom::default());
        let off = max_ulps(&got, &want);
        assert!(off <= softmax_ulps(cols, method), "{method}: {off} ulp");
        for row in got.rows() {
            let total: f64 = row.iter().map(|&v| fixed.decode(v)).sum();
            assert!((total - 1.0).abs() < 0.01, "row sums to {total}");
        }

        let grad = open(&both!(pair, |p, i| cross_entropy_grad(
            p, &l_sh[i], &y_sh[i]
        )));
        let want = reference::cross_entropy_grad(
            &logits,
            &onehot,
            fixed,
            method,
            &mut Headroom::default(),
        );
        assert!(max_ulps(&grad, &want) <= softmax_ulps(cols, method));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accuracy_bits_loss_and_revealed_sums_match_the_reference() {
    use crate::protocols::{correct, cross_entropy, open_sum};
    let mut rng = rng(34);
    let mut pair = parties(Config::default()).await;
    let fixed = FixedPoint::default();
    let (rows, cols) = (40, 10);
    let mut logits = uniform(rows * cols, 6.0, &mut rng)
        .into_shape_with_order((rows, cols))
        .expect("shape");
    logits.row_mut(0).fill(Z64::ZERO); // a tie everywhere: counts as correct
    let labels: Vec<usize> = (0..rows).map(|_| rng.random_range(0..cols)).collect();
    let onehot = onehot(&labels, cols, fixed);
    let (l_sh, y_sh) = (share(&logits, &mut rng), share(&onehot, &mut rng));
    let got = open(&both!(pair, |p, i| correct(p, &l_sh[i], &y_sh[i])));
    assert_eq!(
        got,
        reference::correct(&logits, &onehot, fixed.f, &mut Headroom::default())
    );
    assert_eq!(got[0], Z64::ONE);

    let probs = reference::softmax(&logits, fixed, Exp::default(), &mut Headroom::default());
    let p_sh = share(&probs, &mut rng);
    let loss = open(&both!(pair, |p, i| cross_entropy(p, &p_sh[i], &y_sh[i])));
    let want = reference::cross_entropy(&probs, &onehot, fixed, &mut Headroom::default());
    assert!(
        max_ulps(&loss, &want) <= 2,
        "{} ulp",
        max_ulps(&loss, &want)
    );
    for (r, &l) in loss.iter().enumerate() {
        let p_label = fixed.decode(probs[[r, labels[r]]]).max(2f64.powi(-12));
        // Chords of ln over octaves are off by at most 0.06 (+ fixed-point rounding).
        assert!(
            (fixed.decode(l) + p_label.ln()).abs() < 0.065,
            "-ln {p_label} ~ {}",
            fixed.decode(l)
        );
    }

    let total = both!(pair, |p, i| open_sum(p, got_shares(&l_sh, i)));
    assert_eq!(total.0, total.1, "both parties learn the same sum");
    assert_eq!(total.0, logits.iter().copied().sum::<Z64>());
}

/// All of party `i`'s logit shares, flat.
fn got_shares(sh: &[Array2<Z64>; 2], i: usize) -> &[Z64] {
    sh[i].as_slice().expect("standard layout")
}
