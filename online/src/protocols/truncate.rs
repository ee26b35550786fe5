//! Truncation by `f` bits from the shares' top bits: exact up to one unit in the last place,
//! never a wrap (unlike SecureML's local truncation, which PROTOCOLS.md forbids in training),
//! for one daBit per element.
//!
//! This replaces PROTOCOLS.md's truncation pair (`<r>`, `<r_63>`, `<(r mod 2^63) >> f>`, 64
//! OTs and about 1.6 KB to make) with the known-MSB truncation of Cheetah (Huang et al., USENIX
//! Security 2022, §4.2) and SirNN, its one OT precomputed as the daBit PROTOCOLS.md already
//! has (kind 4). It keeps the guarantees: the error is one unit at most and never a wrap, and
//! what is opened is `m0 XOR m1 XOR rho` for a daBit `rho` neither party knows, a uniform bit
//! whatever `x` is.

use ndarray::{Array, Dimension};

use super::{b2a, shaped};
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
/// truncation (`bits = f`), or a scaling by a power of two (an SGD step). One round, one bit
/// each way per element.
///
/// With `x' = x + 2^(k-1)`, now in `[0, 2^k)` and so below `2^63`, party `i` holds the share
/// `x'_i` with top bit `m_i`. Over the integers `x'_0 + x'_1 = x' + w·2^64` with the wrap
/// `w = m0 OR m1`: two top bits set always wrap, none never does, and one alone must wrap or
/// the sum would reach `2^63`. Hence
/// `x' >> f = (x'_0 >> f) + (x'_1 >> f) + carry - w·2^(64-f)`, with `carry` the carry out of
/// the low `f` bits, which neither party can see. In its place P0 adds `[x'_0 mod 2^f != 0]`
/// (it rounds its own share up): with `a = x'_0 mod 2^f` and `l = x' mod 2^f`, the carry is
/// `[a > l]`, so the result is `floor(x' / 2^f)`, or one more exactly when `1 <= a <= l`:
/// with probability `l / 2^f` for a uniform share, an unbiased stochastic rounding, and exact
/// when `2^f` divides `x`.
///
/// `w` itself: `m0 + m1 + (m0 XOR m1) = 2·w` exactly, so `w·2^(64-f) = 2^(63-f)·(m0 + m1 +
/// <m0 XOR m1>)`, the XOR turned into ring shares by [`b2a`] on the XOR sharing `(m0, m1)`.
/// Subtracting `2^(k-1-f)` undoes the offset.
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
    let offset = p.constant(Z64(1 << (K - 1)));
    let x_offset = x.mapv(|x| x + offset);
    let m = x_offset.mapv(Z64::msb);
    let m_xor = b2a(p, &m).await?;
    let unoffset = p.constant(Z64(1 << (K - 1 - f)));
    let low = (1u64 << f) - 1;
    let out = x_offset
        .iter()
        .zip(&m)
        .zip(&m_xor)
        .map(|((&x, &m), &m_xor)| {
            let round_up = p.constant(Z64(u64::from(x.0 & low != 0)));
            let twice_w = Z64(u64::from(m)) + m_xor;
            Z64(x.0 >> f) + round_up - twice_w * Z64(1 << (63 - f)) - unoffset
        })
        .collect();
    Ok(shaped(x.raw_dim(), out))
}
