//! `alpha = wrap(r0, r1, L)` of comparison masks, XOR-shared out of one garbled circuit for the
//! whole batch (PROTOCOLS.md, kind 2): P0 garbles with `MSB(r0)` and `s_63`, P1 evaluates with
//! `MSB(r1)` and `c_63`, where `r = s XOR c` bitwise and `r = r0 + r1` in the ring.

use dyad_link::PartyId;
use dyad_randomness::Z64;
use ndarray::Array1;

use super::Generator;
use crate::OfflineError;
use crate::garble::{Circuit, evaluate_batch, garble_batch};

impl Generator {
    /// This party's XOR shares of `wrap(r0, r1, L)` for its ring shares `r` and its XOR shares
    /// `mine` of the same masks.
    pub(super) async fn wrap_shares(
        &mut self,
        r: &Array1<Z64>,
        mine: &[u64],
    ) -> Result<Vec<u8>, OfflineError> {
        let circuit = Circuit::wrap();
        let inputs: Vec<bool> = r
            .iter()
            .zip(mine)
            .flat_map(|(r, mine)| [r.msb() == 1, mine >> 63 == 1])
            .collect();
        let alpha = match self.party {
            PartyId::P0 => garble_batch(&mut self.cots.sender, &circuit, &inputs).await?,
            PartyId::P1 => evaluate_batch(&mut self.cots.receiver, &circuit, &inputs).await?,
        };
        Ok(alpha.into_iter().map(u8::from).collect())
    }
}
