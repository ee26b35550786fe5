//! SIMD slots of `Z_p`: for a prime `p ≡ 1 (mod 2N)`, `Z_p[X]/(X^N + 1)` is isomorphic to
//! `Z_p^N` by the negacyclic NTT (evaluation at the `2N`-th roots of unity), so a product of
//! plaintext polynomials is the slotwise product of their values.

use tfhe_ntt::prime32::Plan;

use crate::OfflineError;

/// Slots per plaintext: the degree of [`crate::rlwe::setting::Setting::simd`].
pub const SLOTS: usize = 4096;

/// The slot transform of `Z_p`.
pub struct Slots {
    plan: Plan,
}

impl Slots {
    /// The transform for `p`, which must be a prime `≡ 1 (mod 2·SLOTS)`.
    pub fn new(p: u32) -> Result<Slots, OfflineError> {
        Plan::try_new(SLOTS, p)
            .map(|plan| Slots { plan })
            .ok_or_else(|| {
                OfflineError::Unsupported(format!(
                    "{p} is not a prime 1 mod {}: no SIMD slots",
                    2 * SLOTS
                ))
            })
    }

    /// The plaintext whose slots hold `values` (at most [`SLOTS`], the rest zero), as its
    /// coefficients `(power, value)`.
    pub fn encode(&self, values: &[u64]) -> Vec<(usize, u64)> {
        let mut buf = vec![0u32; SLOTS];
        for (b, &v) in buf.iter_mut().zip(values) {
            *b = v as u32;
        }
        self.plan.inv(&mut buf);
        self.plan.normalize(&mut buf);
        buf.iter()
            .enumerate()
            .map(|(j, &g)| (j, u64::from(g)))
            .collect()
    }

    /// The slot values of a plaintext given by its coefficients, in order.
    pub fn decode(&self, coefficients: &[u64]) -> Vec<u64> {
        let mut buf: Vec<u32> = coefficients.iter().map(|&g| g as u32).collect();
        buf.resize(SLOTS, 0);
        self.plan.fwd(&mut buf);
        buf.into_iter().map(u64::from).collect()
    }

    /// The coefficients holding results: all of them.
    pub fn results() -> Vec<usize> {
        (0..SLOTS).collect()
    }
}
