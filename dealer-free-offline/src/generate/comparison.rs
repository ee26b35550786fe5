//! Comparison masks (PROTOCOLS.md, kind 2).
//!
//! The mask `r` has bits `r_j = s_j XOR c_j` (`s_j` from P0, `c_j` from P1); P1 also samples
//! the flip bit `beta`. Per bit, three COTs from P0 to P1 give:
//!
//! - choice `c_j`, correlation `1 - 2·s_j` in `Z_p` and `Z_{2^(64-j)}`: shares of `r_j`
//!   mod p and in the ring at once (`r_j = s_j + c_j·(1 - 2·s_j)`); the ring shares sum to
//!   `<r> = sum_j 2^j <r_j>`;
//! - choice `beta`, correlation `s_j` mod p, and choice `beta·c_j`, correlation
//!   `1 - 2·s_j` mod p: shares of `beta·r_j = beta·s_j + beta·c_j·(1 - 2·s_j)`.
//!
//! (PROTOCOLS.md suggests one 1-out-of-4 OT on `(c_j, beta)`; three COTs give the same shares
//! with the same security from the plain COT primitive, at about the same cost.) Finally
//! `alpha = wrap(r0, r1, L)` comes XOR-shared out of one garbled circuit for the whole batch:
//! P0 garbles with `MSB(r0)` and `s_63`, P1 evaluates with `MSB(r1)` and `c_63`.

use dyad_link::PartyId;
use dyad_online::randomness::ComparisonMasks;
use dyad_online::randomness::items::BITS;
use dyad_online::{Prime, Z64};
use ndarray::{Array1, Array2};
use rand::RngExt;

use super::Generator;
use super::bits::{field_add, field_value};
use crate::OfflineError;
use crate::cot::{Field, Group};
use crate::garble::{Circuit, evaluate_batch, garble_batch};

/// Group `j` (bits of `r`), then `BITS` (beta·s) and `BITS + 1` (beta·c·(1-2s)).
const BETA_S: usize = BITS;
const BETA_C: usize = BITS + 1;

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
        let bit = |i: usize, j: usize| (mine[i] >> j) & 1;
        let mut groups: Vec<Group> = (0..BITS)
            .map(|j| Group::new(n, vec![modp, Field::Ring(64 - j as u32)]))
            .collect();
        for _ in [BETA_S, BETA_C] {
            groups.push(Group::new(n * BITS, vec![modp]));
        }
        let shares = self
            .cot_from_p0(
                &groups,
                |g, i, d| match g {
                    BETA_S => d[0] = bit(i / BITS, i % BITS),
                    BETA_C => d[0] = field_value(modp, 1 - 2 * bit(i / BITS, i % BITS) as i64),
                    j => {
                        let one_minus_2s = 1 - 2 * bit(i, j) as i64;
                        d[0] = field_value(modp, one_minus_2s);
                        d[1] = field_value(Field::Ring(64 - j as u32), one_minus_2s);
                    }
                },
                |g, i| match g {
                    BETA_S => beta[i / BITS],
                    BETA_C => beta[i / BITS] && bit(i / BITS, i % BITS) == 1,
                    j => bit(i, j) == 1,
                },
            )
            .await?;

        let p0 = self.party == PartyId::P0;
        let mut masks = ComparisonMasks {
            r: Array1::default(n),
            r_bits: Array2::from_elem((n, BITS), p.zero()),
            beta_r_bits: Array2::from_elem((n, BITS), p.zero()),
            beta: beta.iter().map(|&b| u8::from(b)).collect(),
            alpha: Array1::default(n),
        };
        for i in 0..n {
            let mut r = 0u64;
            for j in 0..BITS {
                let own = if p0 { bit(i, j) } else { 0 };
                let a = shares.get(j, i);
                masks.r_bits[[i, j]] = p.element(field_add(modp, own, a[0]));
                r = r.wrapping_add(field_add(Field::Ring(64 - j as u32), own, a[1]) << j);
                let beta_r =
                    shares.get(BETA_S, i * BITS + j)[0] + shares.get(BETA_C, i * BITS + j)[0];
                masks.beta_r_bits[[i, j]] = p.element(beta_r);
            }
            masks.r[i] = Z64(r);
        }

        // alpha = wrap(r0, r1, L), XOR-shared, from one garbled circuit for the batch.
        let circuit = Circuit::wrap();
        let inputs: Vec<bool> = (0..n)
            .flat_map(|i| [masks.r[i].msb() == 1, bit(i, 63) == 1])
            .collect();
        let alpha = match self.party {
            PartyId::P0 => garble_batch(&mut self.cots.sender, &circuit, &inputs).await?,
            PartyId::P1 => evaluate_batch(&mut self.cots.receiver, &circuit, &inputs).await?,
        };
        masks.alpha = alpha.iter().map(|&a| u8::from(a)).collect();
        Ok(masks)
    }
}
