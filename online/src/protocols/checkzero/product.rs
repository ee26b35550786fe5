//! The `product` CheckZero: multiply all 64 `c[j]` of an element in a binary tree and reveal
//! `M · prod_j c[j]` to P0 for a fresh uniformly random nonzero shared `M`. That value is 0
//! iff some `c[j]` is 0 and otherwise uniform in `Z_p*`, so P0 learns exactly the bit.
//!
//! Levels 64 → 32 → 16 → 8 → 4 → 2 use plain mod-p triples; the last product uses a scaled
//! triple, which folds `M` in without an extra round: 6 product rounds, then P1 sends its
//! share of the result to P0 (one more flight).

use ndarray::{Array2, s};

use super::mul_fp;
use crate::randomness::{Randomness, ScaledModpTriples};
use crate::{Fp, Party, ProtocolError};
use dyad_link::PartyId;

pub(super) async fn check_zero<R: Randomness>(
    p: &mut Party<R>,
    mut level: Array2<Fp>,
) -> Result<Option<Vec<u8>>, ProtocolError> {
    let n = level.nrows();
    while level.ncols() > 2 {
        let half = level.ncols() / 2;
        // Pair column j with column j + half; the flattened views keep rows together.
        let x = level.slice(s![.., ..half]).to_owned();
        let y = level.slice(s![.., half..]).to_owned();
        let x = x
            .into_shape_with_order(n * half)
            .expect("n * half elements");
        let y = y
            .into_shape_with_order(n * half)
            .expect("n * half elements");
        let product = mul_fp(p, x.view(), y.view()).await?;
        level = product
            .into_shape_with_order((n, half))
            .expect("n * half elements");
    }
    // The root: M·x·y = e·f·M + e·(M·b) + f·(M·a) + M·a·b with e = x - a, f = y - b.
    let t = p.take::<ScaledModpTriples>(p.config().prime, n).await?;
    let mut mine: Vec<Fp> = (0..n).map(|e| level[[e, 0]] - t.a[e]).collect();
    mine.extend((0..n).map(|e| level[[e, 1]] - t.b[e]));
    let opened = p.open_fp(&mine).await?;
    let (e, f) = opened.split_at(n);
    let masked: Vec<Fp> = (0..n)
        .map(|j| e[j] * f[j] * t.m[j] + e[j] * t.mb[j] + f[j] * t.ma[j] + t.mab[j])
        .collect();
    match p.id() {
        PartyId::P1 => {
            p.send_fp(&masked).await?;
            Ok(None)
        }
        PartyId::P0 => {
            let theirs = p.recv_fp(n).await?;
            let z = masked
                .iter()
                .zip(theirs)
                .map(|(&a, b)| u8::from((a + b).value() == 0))
                .collect();
            Ok(Some(z))
        }
    }
}
