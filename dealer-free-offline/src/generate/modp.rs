//! Beaver triples over `Z_p` for CheckZero (PROTOCOLS.md, kind 5), and the scaled triples of
//! its root product.
//!
//! Plain triples: each party samples `a_i, b_i`; the cross terms `a_0·b_1 + a_1·b_0` come
//! from SIMD homomorphic encryption when `p` has slots ([`crate::simd_product`]: 4096 triples
//! per reply ciphertext), otherwise from COTs on the bits of the receiver's value, one term
//! per direction.
//!
//! Scaled triples `(a, b, M, M·a, M·b, M·a·b)` with `M` uniform in `Z_p*`: each party samples
//! a nonzero `mu_i`, and `M = mu_0·mu_1` (uniform and nonzero) is the product of the shared
//! values `(mu_0, 0)` and `(0, mu_1)`, made in the same round as `c = a·b`; then `M·a`, `M·b`
//! and `M·c` are products of shared values, in a second round.

use dyad_link::PartyId;
use dyad_randomness::{Fp, Prime};
use dyad_randomness::{ModpTriples, ScaledModpTriples};
use ndarray::Array1;
use rand::RngExt;

use super::Generator;
use crate::{OfflineError, gilboa, simd_product};

impl Generator {
    /// Shares of `x ⊙ y` over `Z_p` for `x` and `y` both additively shared (this party holds
    /// `x_i`, `y_i`): local products plus the two cross terms.
    async fn shared_products(
        &mut self,
        p: Prime,
        x: &[u64],
        y: &[u64],
    ) -> Result<Vec<u64>, OfflineError> {
        let n = x.len();
        let q = u64::from(p.value());
        if simd_product::supports(p) {
            let cross = self.he.simd_cross_sum(p, x.to_vec(), y.to_vec()).await?;
            return Ok((0..n).map(|e| (x[e] * y[e] + cross[e]) % q).collect());
        }
        // As OT sender this party offers its x, as receiver its y, so the two directions give
        // x_0·y_1 and x_1·y_0.
        let (sent, received) = {
            let (mut sent, mut received) = (vec![0u64; n], vec![0u64; n]);
            let q = p.value();
            let send = gilboa::modp_send(
                &mut self.cots.sender,
                q,
                n,
                1,
                |e, c| c[0] = x[e],
                |e, s| sent[e] = s[0],
            );
            let receive = gilboa::modp_receive(
                &mut self.cots.receiver,
                q,
                n,
                1,
                |e| y[e],
                |e, s| received[e] = s[0],
            );
            let (s, r) = tokio::join!(send, receive);
            s?;
            r?;
            (sent, received)
        };
        Ok((0..n)
            .map(|e| (x[e] * y[e] + sent[e] + received[e]) % q)
            .collect())
    }

    fn random_fp(&mut self, p: Prime, n: usize, nonzero: bool) -> Vec<u64> {
        let low = u64::from(nonzero);
        let q = u64::from(p.value());
        (0..n).map(|_| self.rng.random_range(low..q)).collect()
    }

    /// This party's half of `n` Beaver triples over `Z_p`.
    pub async fn modp_triples(&mut self, p: Prime, n: usize) -> Result<ModpTriples, OfflineError> {
        let (a, b) = (self.random_fp(p, n, false), self.random_fp(p, n, false));
        let c = self.shared_products(p, &a, &b).await?;
        Ok(ModpTriples {
            a: to_fp(p, &a),
            b: to_fp(p, &b),
            c: to_fp(p, &c),
        })
    }

    /// This party's half of `n` scaled triples.
    pub async fn scaled_modp_triples(
        &mut self,
        p: Prime,
        n: usize,
    ) -> Result<ScaledModpTriples, OfflineError> {
        let (a, b) = (self.random_fp(p, n, false), self.random_fp(p, n, false));
        let mu = self.random_fp(p, n, true);
        // Round 1: c = a·b and M = mu_0·mu_1, as the shared products of (a, mu_0) and
        // (b, mu_1): P0 holds (a_0, mu_0) and (b_0, 0), P1 (a_1, 0) and (b_1, mu_1).
        let zeros = vec![0u64; n];
        let p0 = self.party == PartyId::P0;
        let x = [&a[..], if p0 { &mu } else { &zeros }].concat();
        let y = [&b[..], if p0 { &zeros } else { &mu }].concat();
        let first = self.shared_products(p, &x, &y).await?;
        let (c, m) = first.split_at(n);
        // Round 2: M·a, M·b, M·c.
        let ms = [m, m, m].concat();
        let others = [&a[..], &b, c].concat();
        let products = self.shared_products(p, &ms, &others).await?;
        Ok(ScaledModpTriples {
            a: to_fp(p, &a),
            b: to_fp(p, &b),
            m: to_fp(p, m),
            ma: to_fp(p, &products[..n]),
            mb: to_fp(p, &products[n..2 * n]),
            mab: to_fp(p, &products[2 * n..]),
        })
    }
}

fn to_fp(p: Prime, v: &[u64]) -> Array1<Fp> {
    v.iter().map(|&x| p.element(x)).collect()
}
