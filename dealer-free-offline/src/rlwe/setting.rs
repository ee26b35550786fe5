//! How one kind of product uses the scheme: its ciphertext modulus (a [`Basis`] of its own),
//! its plaintext modulus `t`, the modulus `2^k` its replies are switched down to, and how many
//! result coefficients one key pair may reveal.
//!
//! * [`Setting::MATRIX`]: `N = 8192`, `t = 2^64`, seven primes (`log2 Q = 217`), `k = 80` —
//!   matrix products in Cheetah's coefficient encoding, whose worst-case noise is about
//!   `2^80·g` for `g` accumulated blocks. The HE Standard allows `log2 Q <= 218` at `N = 8192`.
//! * [`Setting::simd`]: `N = 4096`, `t = p` prime with `p ≡ 1 (mod 8192)`, three 31-bit primes
//!   and `65537` (`log2 Q = 108.9995`), `k = 30` — elementwise mod-p products in `N` SIMD slots,
//!   whose noise is about `2^32`. The HE Standard allows `log2 Q <= 109` at `N = 4096`.
//!
//! Keys are made per setting, at the setting's modulus (PROTOCOLS.md, "every key and ciphertext
//! at its own modulus"; [`crate::he_session`]).
//!
//! # The flooding budget of a key
//!
//! A reply coefficient flooded uniformly in `[-2^phi, 2^phi)` over a product noise of at most
//! `B` is within statistical distance `B / 2^(phi+1)` of the flooding alone, and these
//! distances add up over everything a key's owner decrypts. So every reply is flooded by
//! `phi >= log2 B + 40 + c` bits ([`Setting::flood_bits`]) and one key pair serves at most
//! `2^c` result coefficients ([`Setting::key_lifetime_bits`]; the owner makes a fresh one
//! before the next would pass it): over the key's lifetime the distance is at most
//! `2^c · 2^-(41 + c) = 2^-41`, below PROTOCOLS.md's `2^-40`. `c` is as large as the modulus
//! allows with room for the products' noise: `2^24` coefficients per key for matrix products
//! (a 128x784x128 triple reveals `2^15`), `2^20` for SIMD products.

use super::basis::{self, Basis};
use super::params::{ERROR_BOUND, FLOOD_SECURITY_BITS, inv_mod};

/// A plaintext modulus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plain {
    /// `Z_{2^64}`.
    Ring64,
    /// `Z_p` for a prime `p < 2^16`.
    Prime(u32),
}

/// Which ciphertext modulus a setting uses (see [`crate::rlwe::basis`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CiphertextModulus {
    /// [`basis::matrix`].
    Matrix,
    /// [`basis::simd`].
    Simd,
}

/// One kind of product's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The ring degree `N`: `R_Q = Z_Q[X]/(X^N + 1)` (the degree of its basis).
    pub degree: usize,
    /// The ciphertext modulus `Q`.
    pub modulus: CiphertextModulus,
    /// The plaintext modulus.
    pub plain: Plain,
    /// Replies are switched to `2^switched_bits`.
    pub switched_bits: u32,
    /// One key pair reveals at most `2^key_lifetime_bits` result coefficients (see the module
    /// documentation).
    pub key_lifetime_bits: u32,
}

/// The widest flooding noise [`crate::rlwe::sample::flood`] draws (it works in 192 bits).
pub const MAX_FLOOD_SAMPLE_BITS: u32 = 190;

/// The constants of a setting's scaling and switching, computed per message (a few modular
/// inversions per prime).
pub(crate) struct Constants {
    /// `Q mod t`: `round(Q·m/t) = floor(Q/t)·m + round((Q mod t)·m / t)`.
    pub q_mod_t: u64,
    /// `floor(Q/t) mod q_i`.
    pub q_over_t: Vec<u32>,
    /// `(Q/q_i)^-1 mod q_i` (CRT).
    pub crt_inverse: Vec<u32>,
    /// `floor(2^(k+64) / q_i)` as high and low 64-bit halves: the fractional CRT
    /// `2^k·c/Q = sum_i y_i·2^k/q_i (mod 2^k)` with 64 fractional bits.
    pub switch_weight: Vec<(u64, u64)>,
}

impl Setting {
    /// Matrix products over `Z_{2^64}`.
    pub const MATRIX: Setting = Setting {
        degree: 8192,
        modulus: CiphertextModulus::Matrix,
        plain: Plain::Ring64,
        switched_bits: 80,
        key_lifetime_bits: 24,
    };

    /// Elementwise products over `Z_p` in SIMD slots.
    pub const fn simd(p: u32) -> Setting {
        Setting {
            degree: 4096,
            modulus: CiphertextModulus::Simd,
            plain: Plain::Prime(p),
            switched_bits: 30,
            key_lifetime_bits: 20,
        }
    }

    /// The setting's name in what the workers print.
    pub fn name(&self) -> String {
        match self.plain {
            Plain::Ring64 => "matrix".into(),
            Plain::Prime(p) => format!("simd-{p}"),
        }
    }

    /// The line a worker prints for the setting at pairing: its degree, the modulus of its
    /// keys and of its ciphertexts (the same: keys are made per setting), the flooding of its
    /// replies (`flood_bits`, the most any of the worker's products uses) and the statistical
    /// distance a key may spend over its lifetime.
    pub fn describe(&self, flood_bits: u32) -> String {
        let log2_q = self.log2_q();
        format!(
            "rlwe setting {}: N={} log2Q(key)={log2_q:.1} log2Q(ct)={log2_q:.1} flood={flood_bits} \
             budget=2^-{FLOOD_SECURITY_BITS} per key of 2^{} result coefficients",
            self.name(),
            self.degree,
            self.key_lifetime_bits
        )
    }

    /// The ciphertext modulus, as its primes.
    pub fn basis(&self) -> &'static Basis {
        match self.modulus {
            CiphertextModulus::Matrix => basis::matrix(),
            CiphertextModulus::Simd => basis::simd(),
        }
    }

    /// RNS limbs of a ciphertext (and of a key).
    pub fn limbs(&self) -> usize {
        self.basis().len()
    }

    /// `log2 Q`.
    pub fn log2_q(&self) -> f64 {
        let basis = self.basis();
        basis.log2_q(basis.len())
    }

    /// `log2 t`.
    pub fn log2_t(&self) -> f64 {
        match self.plain {
            Plain::Ring64 => 64.0,
            Plain::Prime(p) => f64::from(p).log2(),
        }
    }

    /// Whether decryption at `2^k` is exact when the flooding noise is at most `2^flood_bits`
    /// and the product noise at most `2^(flood_bits - 40)`: with `x = c0' + c1'·s` the
    /// decrypted value is `(2^k/t)·m + (2^k/Q)·(noise + flood) + rounding`, and
    /// `round(t·x / 2^k)` is `m` while the last two terms stay below `2^k/(2t)` in magnitude.
    /// The rounding of the switch is at most `1/2 + 2^-30` per coefficient (see
    /// [`crate::rlwe::switch`]): `N/2 + 1` through `c1'·s` with `|s|_1 <= N`, 1 more through
    /// `c0'`, and 1/2 for a mask `r` whose encoding `2^k·r/t` is rounded (`t` prime).
    pub fn decryption_is_exact(&self, flood_bits: u32) -> bool {
        if flood_bits > MAX_FLOOD_SAMPLE_BITS {
            return false;
        }
        let k = f64::from(self.switched_bits);
        let noise = (f64::from(flood_bits) + k - self.log2_q()).exp2()
            * (1.0 + f64::from(FLOOD_SECURITY_BITS).exp2().recip());
        let rounding = (self.degree / 2 + 3) as f64;
        noise + rounding < (k - self.log2_t() - 1.0).exp2()
    }

    /// The largest flooding noise (`2^bits`) with which decryption stays exact: the product
    /// noise of one reply may be at most `2^(bits - 40)`. 151 for [`Setting::MATRIX`], 92 for
    /// [`Setting::simd`] with `p = 40961`.
    pub fn max_flood_bits(&self) -> u32 {
        (0..=MAX_FLOOD_SAMPLE_BITS)
            .take_while(|&bits| self.decryption_is_exact(bits))
            .last()
            .unwrap_or(0)
    }

    /// The flooding exponent of a reply whose product noise is at most `bound`: the least
    /// `phi` with `2^phi >= 2^(40 + c)·bound`, `c` the key's lifetime (see the module
    /// documentation).
    pub fn flood_bits(&self, bound: u128) -> u32 {
        // ceil(log2(bound)) for bound >= 1.
        let log = 128 - bound.max(1).saturating_sub(1).leading_zeros();
        log + FLOOD_SECURITY_BITS + self.key_lifetime_bits
    }

    /// The noise a public-key encryption of zero adds: `e_pk·u + e1 + e2·s` with ternary `u`
    /// and `s`, at most `21·(2N + 1)`.
    pub fn rerandomization_noise(&self) -> u128 {
        u128::from(ERROR_BOUND) * (2 * self.degree as u128 + 1)
    }

    /// The primes E multiplies the switched `c1` by its secret in: their product must exceed
    /// twice the largest coefficient of `c1'·s` (`c1'` below `2^k`, ternary `s`: `N·2^k`), so
    /// that the product is exact.
    pub fn decrypt_limbs(&self) -> usize {
        let need = f64::from(self.switched_bits) + (self.degree as f64).log2() + 1.0;
        let mut bits = 0.0;
        self.basis()
            .primes()
            .iter()
            .take_while(|&&p| {
                let short = bits <= need;
                bits += f64::from(p).log2();
                short
            })
            .count()
    }

    pub(crate) fn constants(&self) -> Constants {
        let primes = self.basis().primes();
        let q_mod_t = match self.plain {
            Plain::Ring64 => primes
                .iter()
                .fold(1u64, |acc, &p| acc.wrapping_mul(u64::from(p))),
            Plain::Prime(t) => primes
                .iter()
                .fold(1u64, |acc, &p| acc * u64::from(p) % u64::from(t)),
        };
        let t_mod = |q: u64| match self.plain {
            Plain::Ring64 => ((1u128 << 64) % u128::from(q)) as u64,
            Plain::Prime(t) => u64::from(t) % q,
        };
        let k = 1u128 << self.switched_bits;
        let mut constants = Constants {
            q_mod_t,
            q_over_t: Vec::with_capacity(primes.len()),
            crt_inverse: Vec::with_capacity(primes.len()),
            switch_weight: Vec::with_capacity(primes.len()),
        };
        for (i, &q) in primes.iter().enumerate() {
            let q = u64::from(q);
            // Q ≡ 0 (mod q), so floor(Q/t) = (Q - (Q mod t))/t ≡ -(Q mod t)·t^-1 (mod q).
            constants
                .q_over_t
                .push(((q - q_mod_t % q) % q * inv_mod(t_mod(q), q) % q) as u32);
            let others = primes
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .fold(1u64, |acc, (_, &p)| acc * (u64::from(p) % q) % q);
            constants.crt_inverse.push(inv_mod(others, q) as u32);
            // floor(2^(k+64)/q) = floor(2^k/q)·2^64 + floor((2^k mod q)·2^64 / q).
            let (whole, rest) = (k / u128::from(q), k % u128::from(q));
            let weight = (whole << 64) + (rest << 64) / u128::from(q);
            constants
                .switch_weight
                .push(((weight >> 64) as u64, weight as u64));
        }
        constants
    }
}
