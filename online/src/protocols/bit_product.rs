//! Products of shared ring values with XOR-shared bits, with bit triples: the bit never needs
//! converting to the ring (no daBit, no extra round).

use ndarray::{Array, Dimension};

use super::{flat, shaped};
use crate::randomness::{BitTriples, Randomness};
use crate::{Party, ProtocolError, Z64};

/// `a·b` for shared ring values `a` and XOR-shared bits `b`: open `e = a - u` and
/// `f = b XOR v` in one round; then, with `b = f XOR v = f + (1 - 2f)·v`,
/// `a·b = e·f + e·(1-2f)·v + f·u + (1-2f)·z`, linear in the triple's shares. One round.
pub async fn mul_bits<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    a: &Array<Z64, D>,
    b: &Array<u8, D>,
) -> Result<Array<Z64, D>, ProtocolError> {
    let n = a.len();
    let t = p.take::<BitTriples>((), n).await?;
    let e_mine: Vec<Z64> = flat(a).iter().zip(&t.u).map(|(&a, &u)| a - u).collect();
    let f_mine: Vec<u8> = flat(b).iter().zip(&t.v_xor).map(|(&b, &v)| b ^ v).collect();
    let (e, f) = p.open_ring_and_bits(&e_mine, &f_mine).await?;
    let out = (0..n)
        .map(|i| {
            let (e, f) = (e[i], f[i] == 1);
            // 1 - 2f is +1 or -1; e·f is e or 0.
            let flip = |x: Z64| if f { -x } else { x };
            let public = if f { e } else { Z64::ZERO };
            p.constant(public)
                + flip(e * t.v[i])
                + if f { t.u[i] } else { Z64::ZERO }
                + flip(t.z[i])
        })
        .collect();
    Ok(shaped(a.raw_dim(), out))
}
