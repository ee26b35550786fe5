//! Matrix and elementwise Beaver triples over `Z_{2^64}` (PROTOCOLS.md, kind 1).
//!
//! Each party samples its own `U_i, V_i`; the cross terms `U_0·V_1` and `U_1·V_0` come from
//! correlated OT, one COT per bit of every entry of the receiver's matrix with the sender's
//! column as correlation (see [`crate::cross`]). The two cross terms run at once, one in each
//! direction of the link. Then `Z_i = U_i·V_i + share_i(U_0·V_1) + share_i(U_1·V_0)`.

use dyad_online::randomness::{ElementwiseTriples, MatrixTriple};
use dyad_online::{Z64, ring};
use ndarray::{Array1, Array2};
use rand::RngExt;

use super::Generator;
use crate::OfflineError;
use crate::cross;

impl Generator {
    /// This party's half of a matrix triple with `U: m x n`, `V: n x k`.
    pub async fn matrix_triple(
        &mut self,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<MatrixTriple, OfflineError> {
        let u = Array2::from_shape_simple_fn((m, n), || Z64(self.rng.random()));
        let v = Array2::from_shape_simple_fn((n, k), || Z64(self.rng.random()));
        // The sender's columns of U, contiguous; the cross-term shares, transposed (k x m).
        let u_columns = u.t().as_standard_layout().mapv(|z| z.0);
        let u_columns = u_columns.as_slice().expect("standard layout");
        let (mut sent, mut received) = (vec![0u64; k * m], vec![0u64; k * m]);
        // Entry e = j·k + l stands for V[j][l] times column j of U, added to column l of Z.
        let add = |acc: &mut Vec<u64>, e: usize, share: &[u64]| {
            let l = e % k;
            for (a, s) in acc[l * m..(l + 1) * m].iter_mut().zip(share) {
                *a = a.wrapping_add(*s);
            }
        };
        let send = cross::ring_send(
            &mut self.cots.sender,
            n * k,
            m,
            |e, column| column.copy_from_slice(&u_columns[(e / k) * m..(e / k + 1) * m]),
            |e, share| add(&mut sent, e, share),
        );
        let receive = cross::ring_receive(
            &mut self.cots.receiver,
            n * k,
            m,
            |e| v[[e / k, e % k]].0,
            |e, share| add(&mut received, e, share),
        );
        let (s, r) = tokio::join!(send, receive);
        s?;
        r?;
        let cross = Array2::from_shape_fn((m, k), |(i, l)| {
            Z64(sent[l * m + i].wrapping_add(received[l * m + i]))
        });
        let z = ring::matmul(&u, &v) + cross;
        Ok(MatrixTriple { u, v, z })
    }

    /// This party's half of `n` elementwise triples.
    pub async fn elementwise_triples(
        &mut self,
        n: usize,
    ) -> Result<ElementwiseTriples, OfflineError> {
        let u: Array1<Z64> = (0..n).map(|_| Z64(self.rng.random())).collect();
        let v: Array1<Z64> = (0..n).map(|_| Z64(self.rng.random())).collect();
        let (mut sent, mut received) = (vec![0u64; n], vec![0u64; n]);
        let send = cross::ring_send(
            &mut self.cots.sender,
            n,
            1,
            |e, x| x[0] = u[e].0,
            |e, s| sent[e] = s[0],
        );
        let receive = cross::ring_receive(
            &mut self.cots.receiver,
            n,
            1,
            |e| v[e].0,
            |e, s| received[e] = s[0],
        );
        let (s, r) = tokio::join!(send, receive);
        s?;
        r?;
        let z = (0..n)
            .map(|e| u[e] * v[e] + Z64(sent[e].wrapping_add(received[e])))
            .collect();
        Ok(ElementwiseTriples { u, v, z })
    }
}
