//! Truncation by `f` bits with a truncation pair (PROTOCOLS.md): exact up to one unit in the
//! last place, never a wrap (unlike SecureML's local truncation).

use ndarray::{Array, Dimension};

use super::shaped;
use crate::fixed::K;
use crate::randomness::Randomness;
use crate::{Party, ProtocolError, Z64};

/// `x >> f` for shared `x` with `|x| < 2^(k-1)`, `f` the fixed-point format's fractional
/// bits. One round.
pub async fn truncate<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    x: &Array<Z64, D>,
) -> Result<Array<Z64, D>, ProtocolError> {
    let f = p.fixed().f;
    truncate_by(p, x, f).await
}

/// `x >> bits` for shared `x` with `|x| < 2^(k-1)` and `bits < k - 1`: a fixed-point product's
/// truncation (`bits = f`), or a scaling by a power of two (an SGD step). One round.
///
/// With `x' = x + 2^(k-1)` (now in `[0, 2^k)`), open `c = x' + r`. For `c' = c mod 2^63` and
/// `r' = r mod 2^63`, `x' = c' - r' + b·2^63` with `b = c_63 XOR r_63`, so
/// `x' >> f = (c' >> f) - (r' >> f) + b·2^(63-f)` up to a borrow of one unit; subtracting
/// `2^(k-1-f)` undoes the offset. The result is `floor(x / 2^f)` or one more.
pub async fn truncate_by<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    x: &Array<Z64, D>,
    bits: u32,
) -> Result<Array<Z64, D>, ProtocolError> {
    if bits == 0 || bits >= K - 1 {
        return Err(ProtocolError::Shape(format!(
            "cannot truncate by {bits} bits"
        )));
    }
    let f = bits;
    let pairs = p.truncation_pairs(x.len(), bits).await?;
    let offset = p.constant(Z64(1 << (K - 1)));
    let mine: Vec<Z64> = x
        .iter()
        .zip(&pairs.r)
        .map(|(&x, &r)| x + offset + r)
        .collect();
    let c = p.open_ring(&mine).await?;
    let low_mask = u64::MAX >> 1;
    let unoffset = p.constant(Z64(1 << (K - 1 - f)));
    let out = c
        .iter()
        .enumerate()
        .map(|(j, &c)| {
            // <b> = c_63 XOR <r_63>, linear because c is public.
            let b = match c.msb() {
                0 => pairs.r_msb[j],
                _ => p.constant(Z64::ONE) - pairs.r_msb[j],
            };
            p.constant(Z64((c.0 & low_mask) >> f)) - pairs.r_low[j] + b * Z64(1 << (63 - f))
                - unoffset
        })
        .collect();
    Ok(shaped(x.raw_dim(), out))
}
