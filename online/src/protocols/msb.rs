//! MSB and DReLU of shared values: Algorithm 5 as corrected by PROTOCOLS.md, with the flip bit
//! `beta` so that P0 never learns `eta = [r > x]` for the public `x` (CheckZero variants), or
//! with `eta` XOR-shared straight out of the mask's bits (`bits`, [`super::bitwise`]).

use dyad_link::PartyId;
use ndarray::{Array, Array1, Array2, Dimension};

use super::bitwise::mask_exceeds;
use super::checkzero::{CheckZeroVariant, check_zero};
use super::{b2a, shaped};
use crate::randomness::items::BITS;
use crate::randomness::{ComparisonBits, ComparisonMasks, Randomness};
use crate::{Fp, Party, Prime, ProtocolError, Z64};

/// XOR shares of `MSB(a)` (bit 63) for shared `a`. Any `a` works: there is no range
/// restriction. Rounds: 1 to open `x`, then 5 for `bits`, or CheckZero (7 for `product`, 3 for
/// `paper`).
pub async fn msb<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    a: &Array<Z64, D>,
) -> Result<Array<u8, D>, ProtocolError> {
    Ok(msb_and_eta(p, a).await?.0)
}

/// [`msb`], also returning this party's XOR share of `eta = [r > x]`: `z` at P0 (the one bit
/// CheckZero reveals, which the flip bit makes uniform) and `beta` at P1, or with `bits` each
/// party's share out of the AND tree.
pub(crate) async fn msb_and_eta<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    a: &Array<Z64, D>,
) -> Result<(Array<u8, D>, Vec<u8>), ProtocolError> {
    // Step 1: y_i = 2·a_i, x_i = y_i + r_i, omega_i = wrap(y_i, r_i); open x.
    let y: Vec<Z64> = a.iter().map(|&a| a + a).collect();
    let (opened, alpha, eta) = match p.config().checkzero {
        CheckZeroVariant::Bits => {
            let masks = p.take::<ComparisonBits>((), a.len()).await?;
            let opened = open_x(p, &y, &masks.r).await?;
            let eta = mask_exceeds(p, &opened.x, &masks).await?;
            (opened, masks.alpha, eta)
        }
        CheckZeroVariant::Product | CheckZeroVariant::Paper => {
            let masks = p.take::<ComparisonMasks>(p.config().prime, a.len()).await?;
            let opened = open_x(p, &y, &masks.r).await?;
            let eta = eta_by_check_zero(p, &opened.x, &masks).await?;
            (opened, masks.alpha, eta)
        }
    };

    // Step 4: MSB(a) = MSB(a0) ^ MSB(a1) ^ omega0 ^ omega1 ^ delta ^ alpha ^ eta.
    let shares = a
        .iter()
        .enumerate()
        .map(|(e, a_e)| {
            let delta = match p.id() {
                PartyId::P0 => Z64::wrap(opened.x0[e], opened.x1[e]),
                PartyId::P1 => 0,
            };
            a_e.msb() ^ opened.omega[e] ^ delta ^ alpha[e] ^ eta[e]
        })
        .collect();
    Ok((shaped(a.raw_dim(), shares), eta))
}

/// The opened `x = y + r` with both parties' summands and this party's `omega = wrap(y, r)`.
struct Opened {
    x: Vec<Z64>,
    x0: Vec<Z64>,
    x1: Vec<Z64>,
    omega: Vec<u8>,
}

/// Step 1 of MSB: `x_i = y_i + r_i` is exchanged; one round.
async fn open_x<R: Randomness>(
    p: &mut Party<R>,
    y: &[Z64],
    r: &Array1<Z64>,
) -> Result<Opened, ProtocolError> {
    let x_mine: Vec<Z64> = y.iter().zip(r).map(|(&y, &r)| y + r).collect();
    let omega = y.iter().zip(r).map(|(&y, &r)| Z64::wrap(y, r)).collect();
    let x_theirs = p.exchange_ring(&x_mine).await?;
    let (x0, x1) = match p.id() {
        PartyId::P0 => (x_mine, x_theirs),
        PartyId::P1 => (x_theirs, x_mine),
    };
    let x = x0.iter().zip(&x1).map(|(&u, &v)| u + v).collect();
    Ok(Opened { x, x0, x1, omega })
}

/// Steps 2-3 with a CheckZero: shares of `c[j]`, then CheckZero gives P0 `z = eta XOR beta`,
/// so `<eta>^B = (z, beta)`, except that `x = L - 1` makes `eta = 0` public.
async fn eta_by_check_zero<R: Randomness>(
    p: &mut Party<R>,
    x: &[Z64],
    masks: &ComparisonMasks,
) -> Result<Vec<u8>, ProtocolError> {
    let c = comparison_terms(p.id(), p.config().prime, x, masks);
    let z = check_zero(p, c).await?;
    Ok((0..x.len())
        .map(|e| match (&z, x[e] == Z64(u64::MAX)) {
            (_, true) => 0,
            (Some(z), false) => z[e],
            (None, false) => masks.beta[e],
        })
        .collect())
}

/// Shares of `c[j]` for every element (`n x 64`, column `j` = `c[j]`):
///
/// `c[j] = 1 - (1 - 2·beta)·D_j + sum_{k>j} w_k` with `D_j = r_j - x^beta_j`,
/// `w_k = x^beta_k XOR r_k` and `x^beta = x + beta`. Written in terms of the public bits
/// `X = x`, `X' = x + 1` and the offline shares of `r_j` and `beta·r_j`, this is
///
/// `c[j] = 1 + X_j - r_j + 2·(beta·r_j) - beta·(X_j + X'_j) + sum_{k>j} w_k`,
/// `w_k  = X_k + beta·(X'_k - X_k) + (1 - 2·X_k)·r_k - 2·(X'_k - X_k)·(beta·r_k)`,
///
/// linear in the shares; P0 adds the constants and P1, who knows `beta`, the `beta` terms.
/// Terms are accumulated as non-negative integers (`-v` as `p - v`) and reduced once per
/// output.
fn comparison_terms(
    party: PartyId,
    prime: Prime,
    x: &[Z64],
    masks: &ComparisonMasks,
) -> Array2<Fp> {
    let p = u64::from(prime.value());
    let n = x.len();
    let p0 = u64::from(party == PartyId::P0);
    let mut c = Array2::from_elem((n, BITS), prime.zero());
    for (e, mut row) in c.rows_mut().into_iter().enumerate() {
        let (x, x_plus_1) = (x[e].0, x[e].0.wrapping_add(1));
        let beta = u64::from(party == PartyId::P1 && masks.beta[e] == 1);
        let r = masks.r_bits.row(e);
        let beta_r = masks.beta_r_bits.row(e);
        let mut suffix = 0u64; // sum_{k>j} w_k, unreduced: at most 64 · 6p
        for j in (0..BITS).rev() {
            let xj = (x >> j) & 1;
            let xpj = (x_plus_1 >> j) & 1;
            let (r_j, beta_r_j) = (r[j].wide(), beta_r[j].wide());
            row[j] = prime.element(
                suffix + (p - r_j) + 2 * beta_r_j + p0 * (1 + xj) + beta * (2 * p - xj - xpj),
            );
            let signed_r = if xj == 1 { p - r_j } else { r_j };
            let flip = match (xj, xpj) {
                (0, 1) => 2 * (p - beta_r_j),
                (1, 0) => 2 * beta_r_j,
                _ => 0,
            };
            suffix += signed_r + flip + p0 * xj + beta * (p + xpj - xj);
        }
    }
    c
}

/// XOR shares of `DReLU(a) = 1 - MSB(a)`, i.e. `[a >= 0]` for `a` read as signed.
pub async fn drelu<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    a: &Array<Z64, D>,
) -> Result<Array<u8, D>, ProtocolError> {
    let mut bits = msb(p, a).await?;
    if p.id() == PartyId::P0 {
        bits.mapv_inplace(|b| b ^ 1);
    }
    Ok(bits)
}

/// Ring shares (0 or 1) of `DReLU(a)`: [`drelu`] then [`b2a`].
pub async fn drelu_ring<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    a: &Array<Z64, D>,
) -> Result<Array<Z64, D>, ProtocolError> {
    let bits = drelu(p, a).await?;
    b2a(p, &bits).await
}
