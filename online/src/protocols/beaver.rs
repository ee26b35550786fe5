//! Beaver multiplication (Algorithm 1) and matrix multiplication (Algorithm 9).

use ndarray::{Array, Array2, Dimension};

use super::{flat, same_shape, shaped, truncate};
use crate::randomness::Randomness;
use crate::{Party, ProtocolError, Z64, ring};

/// Elementwise product `a * b` of shared ring elements, without truncation: for a fixed-point
/// operand times a 0/1 value, or as the first half of [`mul_fixed`]. One round.
pub async fn mul<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    a: &Array<Z64, D>,
    b: &Array<Z64, D>,
) -> Result<Array<Z64, D>, ProtocolError> {
    same_shape(a.shape(), b.shape(), "mul")?;
    let n = a.len();
    let t = p.elementwise_triples(n).await?;
    // Open e = a - u and f = b - v in one round.
    let mut mine: Vec<Z64> = a.iter().zip(&t.u).map(|(&a, &u)| a - u).collect();
    mine.extend(b.iter().zip(&t.v).map(|(&b, &v)| b - v));
    let opened = p.open_ring(&mine).await?;
    let (e, f) = opened.split_at(n);
    // c_i = i·e·f + u_i·f + e·v_i + z_i
    let c = (0..n)
        .map(|j| p.constant(e[j] * f[j]) + t.u[j] * f[j] + e[j] * t.v[j] + t.z[j])
        .collect();
    Ok(shaped(a.raw_dim(), c))
}

/// Fixed-point product: [`mul`] then [`truncate`]. Two rounds.
pub async fn mul_fixed<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    a: &Array<Z64, D>,
    b: &Array<Z64, D>,
) -> Result<Array<Z64, D>, ProtocolError> {
    let product = mul(p, a, b).await?;
    truncate(p, &product).await
}

/// Matrix product `A · B` of shared matrices with one matrix triple, without truncation.
/// One round: `E = A - U` and `F = B - V` are opened together.
pub async fn matmul<R: Randomness>(
    p: &mut Party<R>,
    a: &Array2<Z64>,
    b: &Array2<Z64>,
) -> Result<Array2<Z64>, ProtocolError> {
    let ((m, n), (n2, k)) = (a.dim(), b.dim());
    if n != n2 {
        return Err(ProtocolError::Shape(format!(
            "matmul: {m}x{n} times {n2}x{k}: inner dimensions differ"
        )));
    }
    let t = p.matrix_triple(m, n, k).await?;
    let mut mine = flat(&(a - &t.u));
    mine.extend(flat(&(b - &t.v)));
    let opened = p.open_ring(&mine).await?;
    let (e, f) = opened.split_at(m * n);
    let e = shaped(ndarray::Dim([m, n]), e.to_vec());
    let f = shaped(ndarray::Dim([n, k]), f.to_vec());
    // C_i = i·E·F + U_i·F + E·V_i + Z_i, computed as (i·E + U_i)·F + E·V_i + Z_i: two
    // products per party instead of three.
    let left = match p.id() {
        dyad_link::PartyId::P0 => &e + &t.u,
        dyad_link::PartyId::P1 => t.u,
    };
    Ok(ring::matmul(&left, &f) + ring::matmul(&e, &t.v) + &t.z)
}

/// Fixed-point matrix product: [`matmul`] then [`truncate`]. Two rounds.
pub async fn matmul_fixed<R: Randomness>(
    p: &mut Party<R>,
    a: &Array2<Z64>,
    b: &Array2<Z64>,
) -> Result<Array2<Z64>, ProtocolError> {
    let product = matmul(p, a, b).await?;
    truncate(p, &product).await
}
