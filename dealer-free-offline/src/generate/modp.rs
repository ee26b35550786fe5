//! Beaver triples over `Z_p` for CheckZero (PROTOCOLS.md, kind 5), and the scaled triples of
//! its root product.
//!
//! Plain triples: each party samples `a_i, b_i`; the cross terms `a_0·b_1` and `a_1·b_0` come
//! from COTs on the bits of the receiver's value, one direction each, at once.
//!
//! Scaled triples `(a, b, M, M·a, M·b, M·a·b)` with `M` uniform in `Z_p*`: each party samples
//! a nonzero `mu_i` and `M = mu_0·mu_1` (uniform and nonzero if either factor is), shared by
//! one cross product in the same round as the plain triple's; then `M·a`, `M·b` and
//! `M·(a·b)` are products of two shared values: four local products and cross terms in both
//! directions, in a second round.

use dyad_link::PartyId;
use dyad_online::randomness::{ModpTriples, ScaledModpTriples};
use dyad_online::{Fp, Prime};
use ndarray::Array1;
use rand::RngExt;

use super::Generator;
use crate::OfflineError;
use crate::cross;

impl Generator {
    /// Shares of `x ⊙ y` for `x` and `y` both additively shared (this party holds `x_i`,
    /// `y_i`): local products plus the two cross terms, one per direction.
    async fn shared_products(
        &mut self,
        p: Prime,
        x: &[u64],
        y: &[u64],
    ) -> Result<Vec<u64>, OfflineError> {
        let q = u64::from(p.value());
        let n = x.len();
        let (mut sent, mut received) = (vec![0u64; n], vec![0u64; n]);
        // As sender this party offers its x; as receiver its y, so the two directions give
        // x_0·y_1 and x_1·y_0.
        let send = cross::modp_send(
            &mut self.cots.sender,
            p.value(),
            n,
            1,
            |e, c| c[0] = x[e],
            |e, s| sent[e] = s[0],
        );
        let receive = cross::modp_receive(
            &mut self.cots.receiver,
            p.value(),
            n,
            1,
            |e| y[e],
            |e, s| received[e] = s[0],
        );
        let (s, r) = tokio::join!(send, receive);
        s?;
        r?;
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
        let q = u64::from(p.value());
        let (a, b) = (self.random_fp(p, n, false), self.random_fp(p, n, false));
        let mu = self.random_fp(p, n, true);
        // Round 1: c = a·b (both directions) and M = mu_0·mu_1 (P0 offers mu_0, P1 chooses by
        // mu_1), in one COT batch per direction.
        let p0 = self.party == PartyId::P0;
        let (mut sent, mut received) = (vec![0u64; 2 * n], vec![0u64; n]);
        let offer = |e: usize, col: &mut [u64]| col[0] = if e < n { a[e] } else { mu[e - n] };
        let (s, r) = match p0 {
            // P0 sends a_0 (for a_0·b_1) and mu_0; receives for a_1·b_0 with b_0.
            true => tokio::join!(
                cross::modp_send(&mut self.cots.sender, p.value(), 2 * n, 1, offer, |e, s| {
                    sent[e] = s[0]
                }),
                cross::modp_receive(
                    &mut self.cots.receiver,
                    p.value(),
                    n,
                    1,
                    |e| b[e],
                    |e, s| received[e] = s[0]
                ),
            ),
            // P1 sends a_1 (for a_1·b_0); receives for a_0·b_1 with b_1 and for mu_0·mu_1 with mu_1.
            false => {
                let mut received2 = vec![0u64; 2 * n];
                let choice = |e: usize| if e < n { b[e] } else { mu[e - n] };
                let (s, r) = tokio::join!(
                    cross::modp_send(
                        &mut self.cots.sender,
                        p.value(),
                        n,
                        1,
                        |e, c| c[0] = a[e],
                        |e, s| sent[e] = s[0]
                    ),
                    cross::modp_receive(
                        &mut self.cots.receiver,
                        p.value(),
                        2 * n,
                        1,
                        choice,
                        |e, s| received2[e] = s[0]
                    ),
                );
                // Put P1's view in the same arrangement as P0's: products in `received`/`sent`
                // first n entries, the M shares in `sent[n..]`.
                received.copy_from_slice(&received2[..n]);
                sent[n..].copy_from_slice(&received2[n..]);
                (s, r)
            }
        };
        s?;
        r?;
        let c: Vec<u64> = (0..n)
            .map(|e| (a[e] * b[e] + sent[e] + received[e]) % q)
            .collect();
        let m: Vec<u64> = sent[n..].to_vec();
        // Round 2: M·a, M·b, M·c.
        let ms: Vec<u64> = [&m, &m, &m].into_iter().flatten().copied().collect();
        let others: Vec<u64> = [&a, &b, &c].into_iter().flatten().copied().collect();
        let products = self.shared_products(p, &ms, &others).await?;
        Ok(ScaledModpTriples {
            a: to_fp(p, &a),
            b: to_fp(p, &b),
            m: to_fp(p, &m),
            ma: to_fp(p, &products[..n]),
            mb: to_fp(p, &products[n..2 * n]),
            mab: to_fp(p, &products[2 * n..]),
        })
    }
}

fn to_fp(p: Prime, v: &[u64]) -> Array1<Fp> {
    v.iter().map(|&x| p.element(x)).collect()
}
