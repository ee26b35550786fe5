//! Comparison masks (PROTOCOLS.md, kind 2).
//!
//! The mask `r` has bits `r_j = s_j XOR c_j` (`s_j` from P0, `c_j` from P1); P1 also samples
//! the flip bit `beta`. Two rounds of COTs from P0 to P1:
//!
//! 1. per bit, choice `c_j` and correlation `1 - 2·s_j` in `Z_p` and `Z_{2^(64-j)}`: shares of
//!    `r_j` mod p and in the ring at once (`r_j = s_j + c_j·(1 - 2·s_j)`); the ring shares sum
//!    to `<r> = sum_j 2^j <r_j>`;
//! 2. per mask, one COT with choice `beta` whose correlation is P0's whole vector of shares
//!    `<r_j>_0` (64 fields of `Z_p`): P1 gets `beta·<r_j>_0` masked, adds `beta·<r_j>_1`
//!    itself, and the two hold shares of `beta·r_j` for every `j`.
//!
//! 65 COTs per mask. (PROTOCOLS.md suggests one 1-out-of-4 OT per bit on `(c_j, beta)`; the
//! first version here spent three COTs per bit, 192 per mask, for the same shares.) Finally
//! `alpha = wrap(r0, r1, L)` comes XOR-shared out of one garbled circuit for the whole batch
//! ([`Generator::wrap_shares`]).

use dyad_link::PartyId;
use dyad_randomness::ComparisonMasks;
use dyad_randomness::items::BITS;
use dyad_randomness::{Fp, Prime, Z64};
use ndarray::{Array1, Array2};
use rand::RngExt;

use super::Generator;
use super::shared_bits::Term;
use crate::OfflineError;
use crate::cot::{Field, Group};

impl Generator {
    /// This party's half of `n` comparison masks with bit shares in `Z_p`.
    pub async fn comparison_masks(
        &mut self,
        p: Prime,
        n: usize,
    ) -> Result<ComparisonMasks, OfflineError> {
        let modp = Field::Modp(p.value());
        // P0's s bits or P1's c bits, one u64 per mask; P1's flip bits.
        let mine: Vec<u64> = (0..n).map(|_| self.rng.random()).collect();
        let beta: Vec<bool> = (0..n)
            .map(|_| self.party == PartyId::P1 && self.rng.random())
            .collect();

        // Round 1: shares of every r_j, mod p and in the ring; each direction's positions into
        // its own matrix and sums (a position is one direction's), added up after.
        let half = || (Array2::from_elem((n, BITS), p.zero()), vec![0u64; n]);
        let mut halves = [half(), half()];
        let [sent, received] = &mut halves;
        let keep = |(bits, r): &mut (Array2<Fp>, Vec<u64>), i: usize, j: usize, a: &[u64]| {
            bits[[i, j]] = p.element(a[0]);
            r[i] = r[i].wrapping_add(a[1] << j);
        };
        self.random_bits(
            &mine,
            BITS,
            |j| vec![(modp, Term::Bit), (Field::Ring(64 - j as u32), Term::Bit)],
            |i, j, a| keep(sent, i, j, a),
            |i, j, a| keep(received, i, j, a),
        )
        .await?;
        let [(bits_sent, r_sent), (bits_received, r_received)] = halves;
        let mut masks = ComparisonMasks {
            r: r_sent
                .iter()
                .zip(&r_received)
                .map(|(a, b)| Z64(a.wrapping_add(*b)))
                .collect(),
            r_bits: bits_sent + bits_received,
            beta_r_bits: Array2::from_elem((n, BITS), p.zero()),
            beta: beta.iter().map(|&b| u8::from(b)).collect(),
            alpha: Array1::default(n),
        };

        // Round 2: beta·r_j = beta·<r_j>_0 + beta·<r_j>_1, the first term by one COT per mask
        // (choice beta, correlation P0's 64 shares), the second by P1 alone.
        let vector = [Group::new(n, vec![modp; BITS])];
        let r_bits = &masks.r_bits;
        let products = self
            .cot_from_p0(
                &vector,
                |_, i, d| {
                    for (d, share) in d.iter_mut().zip(r_bits.row(i)) {
                        *d = u64::from(share.value());
                    }
                },
                |_, i| beta[i],
            )
            .await?;
        for (i, &beta) in beta.iter().enumerate() {
            let cot = products.get(0, i);
            for (j, &masked) in cot.iter().enumerate() {
                let own = match beta {
                    true => u64::from(masks.r_bits[[i, j]].value()),
                    false => 0,
                };
                masks.beta_r_bits[[i, j]] = p.element(modp.add(own, masked));
            }
        }

        masks.alpha = self.wrap_shares(&masks.r, &mine).await?.into();
        Ok(masks)
    }
}
