//! The `paper` CheckZero: Algorithm 4 of Ge et al. as published, three rounds.
//!
//! 1. Both parties shuffle each element's `c[0..64]` with a common permutation (from the
//!    link's shared coin `theta`), then compute `d[j] = c[j] · c[j + 32]` (32 products).
//! 2. P0 picks one multiplier `N` per element and sends `N · <d[j]>_0`.
//! 3. P1 picks a multiplier `M_j` per slot, multiplies both parties' shares by it, shuffles the
//!    32 pairs privately, and sends both lists back.
//! 4. P0 unmasks its own share with `N`, adds, and looks for a zero.
//!
//! **This variant leaks.** Its security argument in the paper is informal, and it is wrong:
//! per (privately shuffled) slot P0 receives both `M_j·N·d0` and `M_j·d1`, whose ratio is
//! `N·d0/d1`. P0 knows `N` and every `d0`, so each slot tells it `d0/d1`, a relation between
//! the two shares of `d[j]` that the product variant never reveals. Use it only to compare
//! against the paper; the default is [`super::CheckZeroVariant::Product`].

use ndarray::{Array2, s};
use rand::RngExt;
use rand::seq::SliceRandom;

use super::mul_fp;
use crate::randomness::Randomness;
use crate::{Fp, Party, ProtocolError};
use dyad_link::PartyId;

const HALF: usize = 32;

pub(super) async fn check_zero<R: Randomness>(
    p: &mut Party<R>,
    mut c: Array2<Fp>,
) -> Result<Option<Vec<u8>>, ProtocolError> {
    let n = c.nrows();
    let prime = p.config().prime;
    let nonzero =
        |p: &mut Party<R>| prime.element(p.local().random_range(1..u64::from(prime.value())));
    // Step 1: the common shuffle, then d[j] = c[j] · c[j + 32].
    for mut row in c.rows_mut() {
        let mut permuted: Vec<Fp> = row.to_vec();
        permuted.shuffle(p.coin());
        row.assign(&ndarray::ArrayView1::from(&permuted));
    }
    let x = c.slice(s![.., ..HALF]).to_owned();
    let y = c.slice(s![.., HALF..]).to_owned();
    let x = x.into_shape_with_order(n * HALF).expect("n * 32 elements");
    let y = y.into_shape_with_order(n * HALF).expect("n * 32 elements");
    let d = mul_fp(p, x.view(), y.view()).await?;

    match p.id() {
        PartyId::P0 => {
            let multipliers: Vec<Fp> = (0..n).map(|_| nonzero(p)).collect();
            let d_star: Vec<Fp> = (0..n * HALF)
                .map(|j| d[j] * multipliers[j / HALF])
                .collect();
            p.send_fp(&d_star).await?;
            let back = p.recv_fp(2 * n * HALF).await?;
            let (d_star_star_0, d_star_1) = back.split_at(n * HALF);
            let z = (0..n)
                .map(|e| {
                    let zero = (e * HALF..(e + 1) * HALF)
                        .any(|j| (d_star_star_0[j] + d_star_1[j] * multipliers[e]).value() == 0);
                    u8::from(zero)
                })
                .collect();
            Ok(Some(z))
        }
        PartyId::P1 => {
            let d_star_0 = p.recv_fp(n * HALF).await?;
            let mut out0 = Vec::with_capacity(n * HALF);
            let mut out1 = Vec::with_capacity(n * HALF);
            for e in 0..n {
                let mut slots: Vec<(Fp, Fp)> = (e * HALF..(e + 1) * HALF)
                    .map(|j| {
                        let m = nonzero(p);
                        (d_star_0[j] * m, d[j] * m)
                    })
                    .collect();
                slots.shuffle(p.local());
                out0.extend(slots.iter().map(|s| s.0));
                out1.extend(slots.iter().map(|s| s.1));
            }
            out0.extend(out1);
            p.send_fp(&out0).await?;
            Ok(None)
        }
    }
}
