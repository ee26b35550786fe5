//! Every cost function in `crate::cost` against what its protocol actually takes.

use std::sync::{Arc, Mutex};

use ndarray::Array1;

use super::*;
use crate::Prime;
use crate::cost;
use crate::protocols::{self, CheckZeroVariant, Comparison, Exp};
use crate::testing::{Counting, pair_with};
use dyad_randomness::Demand;
use dyad_testing::fixture;

/// Runs `$call` at both parties and returns what P0 took.
macro_rules! taken_by {
    ($variant:expr, |$p:ident, $i:ident| $call:expr) => {
        taken_by!($variant, Exp::default(), |$p, $i| $call)
    };
    ($variant:expr, $exp:expr, |$p:ident, $i:ident| $call:expr) => {{
        let taken = Arc::new(Mutex::new(Demand::default()));
        let [f0, f1] = fixture::pair(9);
        let sources = [
            Counting::new(f0, taken.clone()),
            Counting::new(f1, Arc::new(Mutex::new(Demand::default()))),
        ];
        let cmp: Comparison = $variant;
        let config = Config {
            checkzero: cmp.checkzero,
            prime: cmp.prime,
            exp: $exp,
            ..Config::default()
        };
        let mut pair = pair_with([config; 2], sources).await.expect("parties");
        let [p0, p1] = &mut pair.parties;
        let run = async |$p: &mut crate::Party<Counting>, $i: usize| $call.await.map(|_| ());
        let (a, b) = tokio::join!(run(p0, 0), run(p1, 1));
        a.expect("P0");
        b.expect("P1");
        let demand = taken.lock().expect("lock").clone();
        demand
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cost_function_matches_its_protocol() {
    let fixed = FixedPoint::default();
    let mut rng = rng(60);
    let v = share(&uniform(37, 4.0, &mut rng), &mut rng);
    let m = share(
        &uniform(7 * 10, 4.0, &mut rng)
            .into_shape_with_order((7, 10))
            .expect("shape"),
        &mut rng,
    );
    let w = share(
        &uniform(10 * 3, 4.0, &mut rng)
            .into_shape_with_order((10, 3))
            .expect("shape"),
        &mut rng,
    );
    let windows = |cols: usize, rng: &mut ChaCha20Rng| {
        share(
            &uniform(5 * cols, 4.0, rng)
                .into_shape_with_order((5, cols))
                .expect("shape"),
            rng,
        )
    };
    let pools = [4, 7, 9].map(|cols| windows(cols, &mut rng));
    let s = share(
        &Array1::from_elem(5, fixed.encode(3.0).expect("ok")),
        &mut rng,
    );
    for variant in [
        (CheckZeroVariant::Product, Prime::P67),
        (CheckZeroVariant::Paper, Prime::P67),
        (CheckZeroVariant::Product, Prime::P40961),
        (CheckZeroVariant::Bits, Prime::default()),
    ]
    .map(|(checkzero, prime)| Comparison { checkzero, prime })
    {
        assert_eq!(
            taken_by!(variant, |p, i| protocols::mul_fixed(p, &v[i], &v[i])),
            cost::mul_fixed(37)
        );
        assert_eq!(
            taken_by!(variant, |p, i| protocols::matmul_fixed(p, &m[i], &w[i])),
            cost::matmul_fixed(7, 10, 3)
        );
        assert_eq!(
            taken_by!(variant, |p, i| protocols::relu(p, &v[i])),
            cost::relu(37, variant)
        );
        for pool in &pools {
            assert_eq!(
                taken_by!(variant, |p, i| protocols::max_rows_with_decisions(
                    p, &pool[i]
                )),
                cost::max_rows(5, pool[0].ncols(), variant)
            );
            let (rows, cols) = pool[0].dim();
            let decisions = pool[0].slice(ndarray::s![.., 1..]).mapv(|v| Z64(v.0 & 1));
            assert_eq!(
                taken_by!(variant, |p, i| protocols::route_to_max(
                    p,
                    &pool[i].column(0).to_owned(),
                    &decisions
                )),
                cost::route_to_max(rows, cols)
            );
        }
        assert_eq!(
            taken_by!(variant, |p, i| protocols::max_rows(p, &m[i])),
            cost::max_rows(7, 10, variant)
        );
        assert_eq!(
            taken_by!(variant, |p, i| protocols::argmax_rows(p, &m[i])),
            cost::argmax_rows(7, 10, variant)
        );
        for method in [Exp::Segments, Exp::Squaring] {
            assert_eq!(
                taken_by!(variant, method, |p, i| protocols::exp(p, &v[i])),
                cost::exp(37, fixed, variant, method)
            );
            assert_eq!(
                taken_by!(variant, method, |p, i| protocols::softmax(p, &m[i])),
                cost::softmax(7, 10, fixed, variant, method)
            );
        }
        assert_eq!(
            taken_by!(variant, |p, i| protocols::reciprocal(p, &s[i], 10.0)),
            cost::reciprocal(5, 10.0, fixed)
        );
    }
}
