//! Matrix and elementwise Beaver triples over `Z_{2^64}` (PROTOCOLS.md, kind 1).
//!
//! Each party samples its own `U_i, V_i`; the cross terms `U_0·V_1` and `U_1·V_0` come, for
//! matrix triples, from one-sided RLWE encryption by default ([`crate::he_product`],
//! PROTOCOLS.md "Matrix triples by RLWE") or from correlated OT, one COT per bit of every
//! entry of the receiver's thinner factor with the sender's matching row or column of the
//! other factor as correlation ([`crate::gilboa`]); elementwise triples always use OT. The two
//! cross terms run at once, one in each direction of the link. Then
//! `Z_i = U_i·V_i + share_i(U_0·V_1) + share_i(U_1·V_0)`.

use dyad_randomness::{ElementwiseTriples, MatrixTriple, ShareSeed};
use dyad_randomness::{Z64, matmul};
use ndarray::{Array1, Array2};
use rand::RngExt;

use super::{Generator, MatrixTripleMethod};
use crate::OfflineError;
use crate::gilboa;
use crate::he_product::ProductPlan;

impl Generator {
    /// This party's half of a matrix triple with `U: m x n`, `V: n x k`, its cross terms made
    /// by the generator's [`MatrixTripleMethod`].
    pub async fn matrix_triple(
        &mut self,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<MatrixTriple, OfflineError> {
        let seed = ShareSeed::random(&mut self.rng);
        let refused = |e: dyad_randomness::RecordError| OfflineError::Unsupported(e.to_string());
        // U_i, V_i expanded once, Z_i filled in once the cross terms are known.
        let mut triple =
            MatrixTriple::new(seed, (m, n, k), Array2::zeros((m, k))).map_err(refused)?;
        let (u, v) = (triple.u(), triple.v());
        let cross = match self.matrix_method {
            MatrixTripleMethod::He => self.cross_by_he(u, v).await?,
            MatrixTripleMethod::Ot => self.cross_by_ot(u, v).await?,
        };
        let z = matmul(u, v) + cross.mapv(Z64);
        triple.set_z(z).map_err(refused)?;
        Ok(triple)
    }

    /// This party's share of `U_0·V_1 + U_1·V_0` by RLWE ([`crate::he_product`]): it encrypts
    /// its `U_i` and multiplies by its `V_i`, or, when the cost model prefers the transposed
    /// product, encrypts `V_i^T` and multiplies by `U_i^T`.
    async fn cross_by_he(
        &mut self,
        u: &Array2<Z64>,
        v: &Array2<Z64>,
    ) -> Result<Array2<u64>, OfflineError> {
        let ((m, n), k) = (u.dim(), v.ncols());
        let plan = ProductPlan::for_triple(m, n, k)?;
        let raw = |x: ndarray::ArrayView2<Z64>| x.mapv(|z| z.0);
        let (a, b) = match plan.transposed {
            false => (raw(u.view()), raw(v.view())),
            true => (raw(v.t()), raw(u.t())),
        };
        let (encrypted, evaluated) = self.he.cross_terms(plan.shape, plan.dims, a, b).await?;
        let sum = Array2::from_shape_fn(encrypted.dim(), |ij| {
            encrypted[ij].wrapping_add(evaluated[ij])
        });
        Ok(match plan.transposed {
            false => sum,
            true => sum.reversed_axes().as_standard_layout().into_owned(),
        })
    }

    /// This party's share of `U_0·V_1 + U_1·V_0` by correlated OT ([`crate::gilboa`]).
    ///
    /// The OTs are driven by the bits of the thinner factor. Each entry of the driving factor
    /// costs 64 OTs (128 bits of IKNP each) plus about 2,080 bits of corrections per entry of
    /// the vector it multiplies, so for `m < k` (an inference: `m = 1`) taking the bits of
    /// `U` instead of `V` needs `k/m` times fewer OTs; for square shapes either does.
    async fn cross_by_ot(
        &mut self,
        u: &Array2<Z64>,
        v: &Array2<Z64>,
    ) -> Result<Array2<u64>, OfflineError> {
        let ((m, n), k) = (u.dim(), v.ncols());
        Ok(if m < k {
            // Entry e = i·n + j: the receiver's U[i][j] times the sender's row j of V, added
            // to row i of Z.
            let v_rows = v.mapv(|z| z.0);
            let v_rows = v_rows.as_slice().expect("standard layout");
            let sums = self
                .cross_terms(
                    m * n,
                    (m, k),
                    |e, row| row.copy_from_slice(&v_rows[(e % n) * k..(e % n + 1) * k]),
                    |e| u[[e / n, e % n]].0,
                    |e| e / n,
                )
                .await?;
            Array2::from_shape_vec((m, k), sums).expect("m x k")
        } else {
            // Entry e = j·k + l: the receiver's V[j][l] times the sender's column j of U,
            // added to column l of Z (kept transposed, k x m).
            let u_columns = u.t().as_standard_layout().mapv(|z| z.0);
            let u_columns = u_columns.as_slice().expect("standard layout");
            let sums = self
                .cross_terms(
                    n * k,
                    (k, m),
                    |e, column| column.copy_from_slice(&u_columns[(e / k) * m..(e / k + 1) * m]),
                    |e| v[[e / k, e % k]].0,
                    |e| e % k,
                )
                .await?;
            Array2::from_shape_vec((k, m), sums)
                .expect("k x m")
                .reversed_axes()
                .as_standard_layout()
                .into_owned()
        })
    }

    /// This party's share of both cross terms `y_0·x_1 + y_1·x_0` summed into a `rows x width`
    /// matrix: for each of `entries` entries this party sends its vector `x(e)` (length
    /// `width`) as a COT correlation, receives with the bits of its value `y(e)`, and adds
    /// both products to row `row(e)`. The two directions run at once.
    async fn cross_terms(
        &mut self,
        entries: usize,
        (rows, width): (usize, usize),
        x: impl FnMut(usize, &mut [u64]),
        y: impl Fn(usize) -> u64,
        row: impl Fn(usize) -> usize + Copy,
    ) -> Result<Vec<u64>, OfflineError> {
        let (mut sent, mut received) = (vec![0u64; rows * width], vec![0u64; rows * width]);
        let add = |acc: &mut Vec<u64>, e: usize, share: &[u64]| {
            let r = row(e);
            for (a, s) in acc[r * width..(r + 1) * width].iter_mut().zip(share) {
                *a = a.wrapping_add(*s);
            }
        };
        let send = gilboa::ring_send(&mut self.cots.sender, entries, width, x, |e, share| {
            add(&mut sent, e, share)
        });
        let receive =
            gilboa::ring_receive(&mut self.cots.receiver, entries, width, y, |e, share| {
                add(&mut received, e, share)
            });
        let (s, r) = tokio::join!(send, receive);
        s?;
        r?;
        for (s, r) in sent.iter_mut().zip(&received) {
            *s = s.wrapping_add(*r);
        }
        Ok(sent)
    }

    /// This party's half of `n` elementwise triples.
    pub async fn elementwise_triples(
        &mut self,
        n: usize,
    ) -> Result<ElementwiseTriples, OfflineError> {
        let u: Array1<Z64> = (0..n).map(|_| Z64(self.rng.random())).collect();
        let v: Array1<Z64> = (0..n).map(|_| Z64(self.rng.random())).collect();
        let sums = self
            .cross_terms(n, (n, 1), |e, x| x[0] = u[e].0, |e| v[e].0, |e| e)
            .await?;
        let z = (0..n).map(|e| u[e] * v[e] + Z64(sums[e])).collect();
        Ok(ElementwiseTriples { u, v, z })
    }
}
