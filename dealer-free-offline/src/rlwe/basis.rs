//! A ciphertext modulus `Q` of one ring degree, as its RNS primes, with what arithmetic modulo
//! them needs: one negacyclic NTT plan per prime, Barrett constants, and Garner's constants.
//!
//! Each setting has its own basis (PROTOCOLS.md: "every key and ciphertext at its own
//! modulus"), so a polynomial carries the basis it lives in and a key made for one setting
//! cannot be sent at another's modulus. The bases are built once per process.

use std::fmt;
use std::sync::OnceLock;

use tfhe_ntt::prime32::Plan;

use super::modulus::Modulus;
use super::params::{MATRIX_PRIMES, SIMD_PRIMES, inv_mod};
use super::strided::StridedNtt;

/// One ciphertext modulus of one ring degree.
pub struct Basis {
    /// The ring degree `N`.
    degree: usize,
    /// The RNS primes, in the order of a polynomial's limbs.
    primes: &'static [u32],
    /// Each prime with its reduction constants.
    moduli: Vec<Modulus>,
    /// One negacyclic NTT plan of degree `N` per prime.
    plans: Vec<Plan>,
    /// For Garner's reconstruction: `(q_0···q_{j-1})^-1 mod q_j`.
    garner_inverse: Vec<u32>,
    /// The tables of transforms of polynomials in `X^s`, one per prime.
    strided: Vec<StridedNtt>,
}

impl Basis {
    fn new(degree: usize, primes: &'static [u32]) -> Basis {
        let plans: Vec<Plan> = primes
            .iter()
            .map(|&p| Plan::try_new(degree, p).expect("every prime is NTT-friendly for N"))
            .collect();
        let strided = plans
            .iter()
            .zip(primes)
            .map(|(plan, &q)| StridedNtt::new(plan, q))
            .collect();
        let garner_inverse = (0..primes.len())
            .map(|j| {
                let q = u64::from(primes[j]);
                let before = primes[..j]
                    .iter()
                    .fold(1u64, |acc, &p| acc * (u64::from(p) % q) % q);
                inv_mod(before, q) as u32
            })
            .collect();
        Basis {
            degree,
            primes,
            moduli: primes.iter().map(|&q| Modulus::new(q)).collect(),
            plans,
            garner_inverse,
            strided,
        }
    }

    /// The ring degree `N`.
    pub fn degree(&self) -> usize {
        self.degree
    }

    /// The primes.
    pub fn primes(&self) -> &'static [u32] {
        self.primes
    }

    /// How many primes.
    pub fn len(&self) -> usize {
        self.primes.len()
    }

    /// Never: every basis has primes (for clippy's `len` rule).
    pub fn is_empty(&self) -> bool {
        self.primes.is_empty()
    }

    /// `log2 Q` of the first `limbs` primes.
    pub fn log2_q(&self, limbs: usize) -> f64 {
        self.primes[..limbs]
            .iter()
            .map(|&p| f64::from(p).log2())
            .sum()
    }

    /// The moduli, in limb order.
    pub fn moduli(&self) -> &[Modulus] {
        &self.moduli
    }

    /// The NTT plans, in limb order.
    pub fn plans(&self) -> &[Plan] {
        &self.plans
    }

    /// The strided transform of limb `i` ([`super::strided`]).
    pub fn strided(&self, i: usize) -> &StridedNtt {
        &self.strided[i]
    }

    /// Garner's constants, in limb order.
    pub fn garner_inverse(&self) -> &[u32] {
        &self.garner_inverse
    }

    /// Bits a residue of limb `i` takes on the wire.
    pub fn residue_bits(&self, i: usize) -> u32 {
        32 - (self.primes[i] - 1).leading_zeros()
    }
}

impl PartialEq for Basis {
    fn eq(&self, other: &Basis) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Basis {}

impl fmt::Debug for Basis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Basis(N = {}, {:?})", self.degree, self.primes)
    }
}

/// The matrix products' basis: `N = 8192`, [`MATRIX_PRIMES`].
pub fn matrix() -> &'static Basis {
    static BASIS: OnceLock<Basis> = OnceLock::new();
    BASIS.get_or_init(|| Basis::new(8192, &MATRIX_PRIMES))
}

/// The SIMD products' basis: `N = 4096`, [`SIMD_PRIMES`].
pub fn simd() -> &'static Basis {
    static BASIS: OnceLock<Basis> = OnceLock::new();
    BASIS.get_or_init(|| Basis::new(4096, &SIMD_PRIMES))
}
