//! Beaver multiplication (Algorithm 1) and matrix multiplication (Algorithm 9).

use ndarray::{Array, Array2, Axis, Dimension, s};

use super::{flat, same_shape, shaped, truncate};
use crate::randomness::{ElementwiseTriples, MatrixTriple, Randomness};
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
    let t = p.take::<ElementwiseTriples>((), n).await?;
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
    matmul_blocks(p, a, b, 1).await
}

/// [`matmul`] with `A`'s rows in `blocks` equal blocks (one per example of a batch), each
/// multiplied with its own triple of shape `(m / blocks, n, k)`. Single-example inference
/// randomness has those shapes, so a server can evaluate any number of requests together and
/// still pay one round; `B - V` is opened once per block, since each triple masks `B` anew.
pub async fn matmul_blocks<R: Randomness>(
    p: &mut Party<R>,
    a: &Array2<Z64>,
    b: &Array2<Z64>,
    blocks: usize,
) -> Result<Array2<Z64>, ProtocolError> {
    let ((m, n), (n2, k)) = (a.dim(), b.dim());
    if n != n2 {
        return Err(ProtocolError::Shape(format!(
            "matmul: {m}x{n} times {n2}x{k}: inner dimensions differ"
        )));
    }
    if blocks == 0 || m % blocks != 0 {
        return Err(ProtocolError::Shape(format!(
            "matmul: {m} rows do not fall into {blocks} equal blocks"
        )));
    }
    let h = m / blocks;
    let mut triples = Vec::with_capacity(blocks);
    for _ in 0..blocks {
        triples.push(p.take::<MatrixTriple>((h, n, k), 1).await?);
    }
    let rows = |i: usize| a.slice(s![i * h..(i + 1) * h, ..]);
    let mut mine = Vec::with_capacity(blocks * (h * n + n * k));
    for (i, t) in triples.iter().enumerate() {
        mine.extend(flat(&(&rows(i) - t.u())));
        mine.extend(flat(&(b - t.v())));
    }
    let opened = p.open_ring(&mine).await?;
    let mut c = Array2::default((m, k));
    for ((t, opened), mut out) in triples
        .into_iter()
        .zip(opened.chunks(h * n + n * k))
        .zip(c.axis_chunks_iter_mut(Axis(0), h.max(1)))
    {
        let (e, f) = opened.split_at(h * n);
        let e = shaped(ndarray::Dim([h, n]), e.to_vec());
        let f = shaped(ndarray::Dim([n, k]), f.to_vec());
        let (u, v, z) = t.into_parts();
        // C_i = i·E·F + U_i·F + E·V_i + Z_i, computed as (i·E + U_i)·F + E·V_i + Z_i: two
        // products per party instead of three.
        let left = match p.id() {
            dyad_link::PartyId::P0 => &e + &u,
            dyad_link::PartyId::P1 => u,
        };
        out.assign(&(ring::matmul(&left, &f) + ring::matmul(&e, &v) + &z));
    }
    Ok(c)
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
