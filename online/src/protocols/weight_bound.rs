//! Serving's matrix products with weight-bound triples.
//!
//! A served model's weights `W` stay the same from request to request, so the mask `V` of a
//! matrix triple can too. One triple `(U, V, Z = U·V)` whose `U` has the rows of
//! [`REQUESTS_PER_TRIPLE`] examples serves that many requests: `F = W - V` is opened once,
//! when the triple is taken, and each request opens only its own `E = X - U_rows` (for
//! Network-A's first layer 784 values instead of 784 + 784·128). This is the Beaver product
//! `[X_1; ...; X_Q]·W` with one triple, evaluated a block of rows at a time as requests come:
//! every row of `U` masks one input once, and `V` masks one `W` once. A bank therefore refuses
//! any other weights — `W - V` and `W' - V` together would reveal `W - W'`.
//!
//! Both servers evaluate the same requests in the same order, so their banks advance in step;
//! banks live as long as one connected session and are dropped with it (unused rows are never
//! used later).

use ndarray::{Array2, Dim, s};

use super::{flat, shaped};
use crate::randomness::{MatrixTriple, Randomness};
use crate::{Party, ProtocolError, Z64, ring};

/// How many examples' rows each weight-bound triple holds. Larger amortises the opening of
/// `W - V` (and the store's copy of `V`) over more requests; smaller wastes fewer rows when a
/// session ends. The offline plan stocks triples of `REQUESTS_PER_TRIPLE` times one example's
/// rows.
pub const REQUESTS_PER_TRIPLE: usize = 64;

/// This party's weight-bound triples, one bank per weight matrix of a served model.
pub struct WeightMasks {
    /// The weight shares the banks are bound to, in the order the forward pass uses them.
    weights: Vec<Array2<Z64>>,
    banks: Vec<Option<Bank>>,
}

/// A triple whose `V` masks one weight matrix, and how many of its rows are used.
struct Bank {
    u: Array2<Z64>,
    v: Array2<Z64>,
    z: Array2<Z64>,
    /// `F = W - V`, opened with the first request the triple serves.
    f: Option<Array2<Z64>>,
    next: usize,
}

impl WeightMasks {
    /// Banks for these weight shares, in the order the forward pass multiplies by them.
    pub fn new(weights: Vec<Array2<Z64>>) -> WeightMasks {
        let banks = weights.iter().map(|_| None).collect();
        WeightMasks { weights, banks }
    }

    /// `A · W` for the `layer`-th weight matrix `W`, without truncation, with `A`'s rows in
    /// `blocks` equal blocks (one per request). One round: every block's `E` and, for each
    /// triple taken now, its `F`.
    pub async fn product<R: Randomness>(
        &mut self,
        p: &mut Party<R>,
        layer: usize,
        a: &Array2<Z64>,
        w: &Array2<Z64>,
        blocks: usize,
    ) -> Result<Array2<Z64>, ProtocolError> {
        match self.weights.get(layer) {
            Some(bound) if bound == w => {}
            _ => {
                return Err(ProtocolError::MaskRebinding(format!(
                    "weight matrix {layer} is not the one its masks were bound to"
                )));
            }
        }
        let ((m, n), (n2, k)) = (a.dim(), w.dim());
        if n != n2 {
            return Err(ProtocolError::Shape(format!(
                "matmul: {m}x{n} times {n2}x{k}: inner dimensions differ"
            )));
        }
        if blocks == 0 || m % blocks != 0 || m == 0 {
            return Err(ProtocolError::Shape(format!(
                "matmul: {m} rows do not fall into {blocks} equal, non-empty blocks"
            )));
        }
        let h = m / blocks;
        // Consecutive blocks drawn from one bank form a segment `(bank, first row, rows)`; new
        // triples are taken as the banks run out. The bank of the previous product comes
        // first, the new ones after it.
        let mut banks: Vec<Bank> = self.banks[layer].take().into_iter().collect();
        let mut segments: Vec<(usize, usize, usize)> = Vec::new();
        for _ in 0..blocks {
            if banks.last().is_none_or(|b| b.next + h > b.u.nrows()) {
                let (u, v, z) = p
                    .take::<MatrixTriple>((REQUESTS_PER_TRIPLE * h, n, k), 1)
                    .await?
                    .into_parts();
                banks.push(Bank {
                    u,
                    v,
                    z,
                    f: None,
                    next: 0,
                });
            }
            let i = banks.len() - 1;
            match segments.last_mut() {
                Some((j, _, rows)) if *j == i => *rows += h,
                _ => segments.push((i, banks[i].next, h)),
            }
            banks[i].next += h;
        }
        let mut mine = Vec::with_capacity(m * n + n * k);
        let mut start = 0;
        for &(i, r, rows) in &segments {
            let u = banks[i].u.slice(s![r..r + rows, ..]);
            mine.extend(
                a.slice(s![start..start + rows, ..])
                    .iter()
                    .zip(&u)
                    .map(|(&a, &u)| a - u),
            );
            start += rows;
        }
        let fresh: Vec<usize> = (0..banks.len()).filter(|&i| banks[i].f.is_none()).collect();
        for &i in &fresh {
            mine.extend(flat(&(w - &banks[i].v)));
        }
        let opened = p.open_ring(&mine).await?;
        let (e, fs) = opened.split_at(m * n);
        let e = shaped(Dim([m, n]), e.to_vec());
        for (&i, f) in fresh.iter().zip(fs.chunks(n * k)) {
            banks[i].f = Some(shaped(Dim([n, k]), f.to_vec()));
        }
        let mut c = Array2::default((m, k));
        let mut start = 0;
        for &(i, r, rows) in &segments {
            let bank = &banks[i];
            let f = bank.f.as_ref().expect("opened above");
            let e = e.slice(s![start..start + rows, ..]);
            let u = bank.u.slice(s![r..r + rows, ..]);
            // C_i = i·E·F + U_i·F + E·V_i + Z_i, as (i·E + U_i)·F + E·V_i + Z_i.
            let left = match p.id() {
                dyad_link::PartyId::P0 => &e + &u,
                dyad_link::PartyId::P1 => u.to_owned(),
            };
            c.slice_mut(s![start..start + rows, ..]).assign(
                &(ring::matmul(&left, f)
                    + ring::matmul(&e, &bank.v)
                    + bank.z.slice(s![r..r + rows, ..])),
            );
            start += rows;
        }
        // Earlier banks are used up; the latest serves the next product.
        self.banks[layer] = banks.pop();
        Ok(c)
    }
}
