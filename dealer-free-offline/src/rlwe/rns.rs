//! Polynomials of `R_Q = Z_Q[X]/(X^N + 1)` in residue number system form: one limb of `N`
//! residues per prime,
//! either as coefficients or in the NTT domain (where the ring product is pointwise).
//!
//! The NTTs are `tfhe-ntt`'s 32-bit negacyclic plans. Its forward transform leaves the values
//! in bit-reversed order and its inverse does not divide by `N`; [`RnsPoly::to_coefficients`]
//! does that. Both domains keep every residue in `[0, q_i)`.

use super::basis::Basis;

/// A polynomial of degree below `N` over `R_Q` of a [`Basis`] (or over the product of its
/// first `limbs` primes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RnsPoly {
    basis: &'static Basis,
    degree: usize,
    residues: Vec<u32>,
}

impl RnsPoly {
    /// The zero polynomial of `basis`, over its first `limbs` primes.
    pub fn zero(basis: &'static Basis, limbs: usize) -> RnsPoly {
        debug_assert!(limbs <= basis.len());
        RnsPoly {
            basis,
            degree: basis.degree(),
            residues: vec![0; limbs * basis.degree()],
        }
    }

    /// From the limbs' residues laid end to end (each `N` long).
    pub fn from_residues(basis: &'static Basis, residues: Vec<u32>) -> RnsPoly {
        let degree = basis.degree();
        debug_assert!(
            residues.len().is_multiple_of(degree) && residues.len() <= basis.len() * degree
        );
        RnsPoly {
            basis,
            degree,
            residues,
        }
    }

    /// The basis.
    pub fn basis(&self) -> &'static Basis {
        self.basis
    }

    /// `N`.
    pub fn degree(&self) -> usize {
        self.degree
    }

    /// How many primes.
    pub fn limbs(&self) -> usize {
        self.residues.len() / self.degree
    }

    /// The residues of limb `i`.
    pub fn limb(&self, i: usize) -> &[u32] {
        &self.residues[i * self.degree..(i + 1) * self.degree]
    }

    /// Every limb, mutably, in prime order.
    pub fn limbs_mut(&mut self) -> std::slice::ChunksExactMut<'_, u32> {
        self.residues.chunks_exact_mut(self.degree)
    }

    /// All residues, limb after limb.
    pub fn residues(&self) -> &[u32] {
        &self.residues
    }

    /// Coefficients to the NTT domain.
    pub fn to_ntt(&mut self) {
        for (limb, plan) in self
            .residues
            .chunks_exact_mut(self.degree)
            .zip(self.basis.plans())
        {
            plan.fwd(limb);
        }
    }

    /// The NTT domain back to coefficients.
    pub fn to_coefficients(&mut self) {
        for (limb, plan) in self
            .residues
            .chunks_exact_mut(self.degree)
            .zip(self.basis.plans())
        {
            plan.inv(limb);
            plan.normalize(limb);
        }
    }

    /// `self += a ⊙ b` in the NTT domain (over as many limbs as the shortest of the three).
    pub fn mul_accumulate(&mut self, a: &RnsPoly, b: &RnsPoly) {
        debug_assert!(a.basis == self.basis && b.basis == self.basis);
        let (n, plans) = (self.degree, self.basis.plans());
        for (((acc, a), b), plan) in self
            .residues
            .chunks_exact_mut(n)
            .zip(a.residues.chunks_exact(n))
            .zip(b.residues.chunks_exact(n))
            .zip(plans)
        {
            plan.mul_accumulate(acc, a, b);
        }
    }

    /// `self -= b` (either domain, both the same).
    pub fn sub_assign(&mut self, b: &RnsPoly) {
        debug_assert!(b.basis == self.basis);
        for ((acc, b), &q) in self
            .residues
            .chunks_exact_mut(self.degree)
            .zip(b.residues.chunks_exact(self.degree))
            .zip(self.basis.primes())
        {
            for (x, &y) in acc.iter_mut().zip(b) {
                // `x - y` wraps above 2^32 - q when negative (both below q < 2^31): the lesser
                // of it and it plus q is the residue. Branch-free, so the loop vectorises.
                let d = x.wrapping_sub(y);
                *x = d.min(d.wrapping_add(q));
            }
        }
    }

    /// Adds the signed integer `value` (192-bit two's complement, least significant word
    /// first) to coefficient `at` (coefficient domain).
    pub fn add_at(&mut self, at: usize, value: [u64; 3]) {
        for (limb, q) in self
            .residues
            .chunks_exact_mut(self.degree)
            .zip(self.basis.moduli())
        {
            limb[at] = q.reduce(u64::from(limb[at]) + u64::from(q.reduce_signed_192(value)));
        }
    }

    /// Adds the small signed polynomial `e` (an error or a secret) in the coefficient domain.
    pub fn add_small(&mut self, e: &[i8]) {
        for (limb, &q) in self
            .residues
            .chunks_exact_mut(self.degree)
            .zip(self.basis.primes())
        {
            for (x, &v) in limb.iter_mut().zip(e) {
                // With |v| < q < 2^31, `x + v` wraps below 0 to above 2^32 - q, or lands in
                // [0, 2q): the least of s, s - q and s + q (all mod 2^32) is the residue.
                // Branch-free, so the loop vectorises.
                let s = x.wrapping_add(v as i32 as u32);
                *x = s.min(s.wrapping_sub(q)).min(s.wrapping_add(q));
            }
        }
    }
}
