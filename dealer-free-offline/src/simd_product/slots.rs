//! SIMD slots of `Z_p`: for a prime `p ≡ 1 (mod 2S)`, `Z_p[Y]/(Y^S + 1)` is isomorphic to
//! `Z_p^S` by the negacyclic NTT (evaluation at the `2S`-th roots of unity), so a product of
//! polynomials is the slotwise product of their values. The scheme's ring has `N = 2S`; a
//! plaintext uses only its even powers, `m(X) = g(X^2)`, and `g(X^2)·g'(X^2) = (g·g')(X^2)`
//! modulo `X^N + 1` because `(X^2)^S = -1`: the products happen in a copy of
//! `Z[Y]/(Y^S + 1)`.

use tfhe_ntt::prime32::Plan;

use crate::OfflineError;
use crate::rlwe::params::N;

/// Slots per plaintext.
pub const SLOTS: usize = N / 2;

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

    /// The plaintext whose slots hold `values` (at most [`SLOTS`], the rest zero), as the
    /// coefficients `(power, value)` of its even powers.
    pub fn encode(&self, values: &[u64]) -> Vec<(usize, u64)> {
        let mut buf = vec![0u32; SLOTS];
        for (b, &v) in buf.iter_mut().zip(values) {
            *b = v as u32;
        }
        self.plan.inv(&mut buf);
        self.plan.normalize(&mut buf);
        buf.iter()
            .enumerate()
            .map(|(j, &g)| (2 * j, u64::from(g)))
            .collect()
    }

    /// The slot values of a plaintext given by the coefficients of its even powers, in order.
    pub fn decode(&self, even: &[u64]) -> Vec<u64> {
        let mut buf: Vec<u32> = even.iter().map(|&g| g as u32).collect();
        buf.resize(SLOTS, 0);
        self.plan.fwd(&mut buf);
        buf.into_iter().map(u64::from).collect()
    }

    /// The coefficients holding results: the even powers.
    pub fn results() -> Vec<usize> {
        (0..SLOTS).map(|j| 2 * j).collect()
    }
}
