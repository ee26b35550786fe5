//! The RLWE module against plaintext references: ring products, scaling and switching,
//! encryption round trips with worst-case plaintexts, wire forms and the parameter bounds.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::ciphertext::Ciphertext;
use super::keys::{PublicKey, SecretKey};
use super::params::{self, he_standard_max_log2_q};
use super::rerandomize::rerandomize;
use super::rns::RnsPoly;
use super::setting::Setting;
use super::{encrypt, sample};

/// Every setting the offline phase uses (SIMD products only exist for `p = 40961`, the one
/// prime below `2^16` that is `1 mod 8192`).
const SETTINGS: [Setting; 2] = [Setting::MATRIX, Setting::simd(40961)];

/// The matrix products' setting.
const M: Setting = Setting::MATRIX;

/// Its degree.
const N: usize = M.degree;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// The non-zero coefficients of a dense polynomial, as the scaling functions take them.
fn entries(poly: &[u64]) -> Vec<(usize, u64)> {
    poly.iter()
        .copied()
        .enumerate()
        .filter(|&(_, v)| v != 0)
        .collect()
}

/// The negacyclic product of two polynomials over `Z_{2^64}`, by the schoolbook (only the
/// non-zero coefficients of `a`).
fn negacyclic_u64(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = vec![0u64; N];
    for (i, &x) in a.iter().enumerate().filter(|(_, x)| **x != 0) {
        for (j, &y) in b.iter().enumerate().filter(|(_, y)| **y != 0) {
            let p = x.wrapping_mul(y);
            if i + j < N {
                out[i + j] = out[i + j].wrapping_add(p);
            } else {
                out[i + j - N] = out[i + j - N].wrapping_sub(p);
            }
        }
    }
    out
}

/// A sparse random polynomial with `count` non-zero coefficients drawn by `value`.
fn sparse(
    rng: &mut ChaCha20Rng,
    count: usize,
    mut value: impl FnMut(&mut ChaCha20Rng) -> u64,
) -> Vec<u64> {
    let mut poly = vec![0u64; N];
    for _ in 0..count {
        let at = rng.random_range(0..N);
        poly[at] = value(rng);
    }
    poly
}

#[test]
fn every_setting_is_inside_the_he_standard_and_decrypts_exactly() {
    for setting in SETTINGS {
        let (basis, name) = (setting.basis(), setting.name());
        let n = setting.degree;
        assert_eq!(
            basis.degree(),
            n,
            "{name}: the basis is of the setting's degree"
        );
        // HE Standard, 128-bit classical security, ternary secret.
        let bound = he_standard_max_log2_q(n).expect("a degree of the table");
        assert!(
            setting.log2_q() <= bound,
            "{name}: log2 Q = {}",
            setting.log2_q()
        );
        for (i, &p) in basis.primes().iter().enumerate() {
            assert!(
                p < 1 << 31 && u64::from(p) % (2 * n as u64) == 1,
                "{name}: prime {p}"
            );
            assert!(
                basis.primes()[..i].iter().all(|&q| q != p),
                "distinct primes"
            );
            if let super::setting::Plain::Prime(t) = setting.plain {
                assert!(u64::from(t) < u64::from(p), "t below every prime");
            }
        }
        // The flooding that a key's lifetime needs leaves decryption exact.
        let max = setting.max_flood_bits();
        assert!(setting.decryption_is_exact(max));
        assert!(!setting.decryption_is_exact(max + 1));
        // The decryption product: |c1'·s| <= N·2^k must be below half the product of its
        // primes, which `switch::crt` reconstructs from at most four residues.
        let product = basis.log2_q(setting.decrypt_limbs());
        assert!(product - 1.0 > (n as f64).log2() + f64::from(setting.switched_bits));
        assert!(setting.decrypt_limbs() <= 4);
    }
    assert_eq!(Setting::MATRIX.max_flood_bits(), 151);
    assert_eq!(Setting::simd(40961).max_flood_bits(), 92);
}

#[test]
fn keys_and_encryptions_of_zero_are_at_their_settings_modulus() {
    let mut rng = rng(11);
    for setting in SETTINGS {
        let name = setting.name();
        let secret = SecretKey::generate(&mut rng, &setting);
        let public = PublicKey::generate(&secret, &mut rng);
        let bound = he_standard_max_log2_q(setting.degree).expect("in the table");
        for (part, poly) in [("s", secret.ntt()), ("p0", &public.p0), ("p1", &public.p1)] {
            assert_eq!(poly.basis(), setting.basis(), "{name}: {part}");
            assert_eq!(
                poly.limbs(),
                setting.limbs(),
                "{name}: {part} has every limb"
            );
            let log2_q = poly.basis().log2_q(poly.limbs());
            assert!(
                log2_q <= bound,
                "{name}: {part} at log2 Q = {log2_q} > {bound}"
            );
        }
        // The wire form carries exactly the setting's limbs, and reads back only as one.
        let bytes = public.to_bytes();
        let back = PublicKey::from_bytes(&bytes, &setting).expect("its own setting");
        assert_eq!(back.p0, public.p0);
        for other in SETTINGS.iter().filter(|o| o.modulus != setting.modulus) {
            assert!(
                PublicKey::from_bytes(&bytes, other).is_err(),
                "{name} as {other:?}"
            );
        }
        // A re-randomised product stays at the setting's modulus.
        let zero = rerandomize(&public, Ciphertext::zero(&setting), &mut rng);
        assert_eq!(zero.c0.basis(), setting.basis());
        assert_eq!(zero.c1.limbs(), setting.limbs());
    }
}

#[test]
fn ntt_products_are_negacyclic_products() {
    let mut rng = rng(1);
    let a: Vec<i8> = (0..N).map(|_| rng.random_range(-3..=3)).collect();
    let b: Vec<i8> = (0..N).map(|_| rng.random_range(-3..=3)).collect();
    let basis = M.basis();
    let (mut pa, mut pb) = (
        RnsPoly::zero(basis, M.limbs()),
        RnsPoly::zero(basis, M.limbs()),
    );
    pa.add_small(&a);
    pb.add_small(&b);
    pa.to_ntt();
    pb.to_ntt();
    let mut product = RnsPoly::zero(basis, M.limbs());
    product.mul_accumulate(&pa, &pb);
    product.to_coefficients();
    let wide = |v: &[i8]| v.iter().map(|&x| x as i64 as u64).collect::<Vec<_>>();
    let expected = negacyclic_u64(&wide(&a), &wide(&b));
    for (i, &p) in basis.primes().iter().enumerate() {
        for (j, (&got, &want)) in product.limb(i).iter().zip(&expected).enumerate() {
            assert_eq!(
                got,
                (want as i64).rem_euclid(i64::from(p)) as u32,
                "limb {i} coefficient {j}"
            );
        }
    }
}

#[test]
fn a_scaled_message_switches_to_its_top_bits() {
    // round(Q·m/2^64) switched to 2^80 is 2^16·m, up to the rounding of the two steps.
    let mut rng = rng(2);
    let edges = [
        0,
        1,
        u64::MAX,
        1 << 63,
        (1 << 63) - 1,
        0xaaaa_aaaa_aaaa_aaaa,
    ];
    let mut message: Vec<u64> = (0..N).map(|_| rng.random()).collect();
    message[..edges.len()].copy_from_slice(&edges);
    let switched = M.switch_all(&M.scaled(&entries(&message)));
    for (&m, &s) in message.iter().zip(&switched) {
        let diff = s.wrapping_sub(u128::from(m) << 16) as i128;
        let diff = (diff << 48) >> 48; // mod 2^80, centred
        assert!(diff.abs() <= 1, "m = {m:#x}: switched {s:#x}");
        assert_eq!(M.decode(s), m);
    }
}

/// E encrypts `a`, V multiplies by `b` and finishes as a reply would (no flooding); E
/// decrypts. Returns E's decryption at every coefficient.
fn product_round_trip(a: &[u64], b: &[u64], rng: &mut ChaCha20Rng) -> Vec<u64> {
    let secret = SecretKey::generate(rng, &M);
    let public = PublicKey::generate(&secret, rng);
    let seed = sample::seed(rng);
    let c0 = encrypt(&secret, M.scaled(&entries(a)), &seed, 7, rng);
    let ct = Ciphertext {
        c0,
        c1: sample::uniform(&seed, 7, M.basis(), M.limbs()),
    };
    let mut plain = M.centered(&entries(b));
    plain.to_ntt();
    let mut acc = Ciphertext::zero(&M);
    acc.mul_accumulate(&ct, &plain);
    let reply = rerandomize(&public, acc, rng);
    let c1 = M.switch_all(&reply.c1);
    let every: Vec<usize> = (0..N).collect();
    let c0: Vec<(usize, u128)> = every
        .iter()
        .copied()
        .zip(M.switch_at(&reply.c0, &every))
        .collect();
    M.decrypt(&secret, &c1, &c0)
        .into_iter()
        .map(|x| M.decode(x))
        .collect()
}

#[test]
fn products_of_worst_case_plaintexts_decrypt_exactly() {
    let mut rng = rng(3);
    // 64 non-zero coefficients on each side: the product noise stays far inside the budget
    // even without the flooding a reply adds.
    for (name, a_value, b_value) in [
        ("all 2^63", 1u64 << 63, 1u64 << 63),
        ("all -1", u64::MAX, u64::MAX),
        ("2^63 by -1", 1 << 63, u64::MAX),
    ] {
        let a = sparse(&mut rng, 64, |_| a_value);
        let b = sparse(&mut rng, 64, |_| b_value);
        assert_eq!(
            product_round_trip(&a, &b, &mut rng),
            negacyclic_u64(&a, &b),
            "{name}"
        );
    }
    let a = sparse(&mut rng, 200, |r| r.random());
    let b = sparse(&mut rng, 200, |r| r.random());
    assert_eq!(
        product_round_trip(&a, &b, &mut rng),
        negacyclic_u64(&a, &b),
        "random"
    );
}

#[test]
fn public_keys_round_trip_and_malformed_ones_are_refused() {
    let mut rng = rng(4);
    for setting in SETTINGS {
        let secret = SecretKey::generate(&mut rng, &setting);
        let public = PublicKey::generate(&secret, &mut rng);
        let bytes = public.to_bytes();
        let back = PublicKey::from_bytes(&bytes, &setting).expect("round trip");
        assert_eq!((back.p0, back.p1), (public.p0.clone(), public.p1.clone()));
        assert!(
            PublicKey::from_bytes(&bytes[1..], &setting).is_err(),
            "short"
        );
        // A residue of 2^31 - 1 is above every prime.
        let mut bad = bytes.clone();
        bad[32..36].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
        let err = PublicKey::from_bytes(&bad, &setting)
            .err()
            .expect("refused");
        assert!(err.to_string().contains("not below its prime"), "{err}");
    }
}

#[test]
fn samplers_stay_in_their_ranges() {
    let mut rng = rng(5);
    let e = sample::centered_binomial(&mut rng, N);
    assert!(
        e.iter()
            .all(|&v| i64::from(v).unsigned_abs() <= params::ERROR_BOUND)
    );
    let variance = e.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / N as f64;
    assert!((variance - 10.5).abs() < 1.0, "variance {variance}");
    let s = sample::ternary(&mut rng, N);
    for v in [-1, 0, 1] {
        let share = s.iter().filter(|&&x| x == v).count() as f64 / N as f64;
        assert!((share - 1.0 / 3.0).abs() < 0.03, "{v}: {share}");
    }
    // Flooding in [-2^bits, 2^bits): the 192-bit two's complement read back as a sign and
    // a magnitude, with both signs and the top bit reached.
    for bits in [0, 40, 63, 64, 120, 127, 128, 151, 190] {
        let (mut negative, mut high) = (false, false);
        for _ in 0..1000 {
            let words = sample::flood(&mut rng, bits);
            let sign = words[2] >> 63 == 1;
            // |v| as 192 bits: the two's complement of a negative value.
            let magnitude = if sign {
                let inverted = words.map(|w| !w);
                let (w0, carry) = inverted[0].overflowing_add(1);
                let (w1, carry) = inverted[1].overflowing_add(u64::from(carry));
                [w0, w1, inverted[2].wrapping_add(u64::from(carry))]
            } else {
                words
            };
            let top = (0..192)
                .rev()
                .find(|&b| magnitude[b / 64] >> (b % 64) & 1 == 1)
                .map_or(0, |b| b as u32 + 1);
            // Positive values below 2^bits, negative ones down to exactly -2^bits.
            assert!(top <= bits + u32::from(sign), "{bits}: {words:x?}");
            if sign && top == bits + 1 {
                let at = bits as usize;
                assert!((0..at).all(|b| magnitude[b / 64] >> (b % 64) & 1 == 0));
            }
            negative |= sign;
            high |= top + 2 >= bits;
        }
        assert!(
            negative && high,
            "{bits}: both signs and values near 2^bits"
        );
    }
    // The same seed and stream give the same polynomial; another stream another; every
    // residue below its prime, 65537's included.
    let seed = sample::seed(&mut rng);
    for setting in SETTINGS {
        let (basis, limbs) = (setting.basis(), setting.limbs());
        let poly = sample::uniform(&seed, 3, basis, limbs);
        assert_eq!(poly, sample::uniform(&seed, 3, basis, limbs));
        assert_ne!(poly, sample::uniform(&seed, 4, basis, limbs));
        for (i, &q) in basis.primes().iter().enumerate() {
            assert!(poly.limb(i).iter().all(|&r| r < q));
            let n = basis.degree() as f64;
            let top = poly.limb(i).iter().filter(|&&r| r >= q / 2).count() as f64 / n;
            assert!(
                (top - 0.5).abs() < 0.1,
                "limb {i} of {}: uniform halves",
                setting.name()
            );
        }
    }
}

#[test]
fn prime_plaintexts_scale_and_lift_exactly() {
    use crate::simd_product::slots::SLOTS;
    // Every m in Z_t against round(Q·m / t) mod q over u128 (Q is 109 bits here), and the lift
    // of the upper half to m - t.
    let setting = Setting::simd(40961);
    let t = 40961u64;
    let primes = setting.basis().primes();
    let q_all: u128 = primes.iter().map(|&q| u128::from(q)).product();
    for first in (0..t).step_by(SLOTS) {
        let message: Vec<(usize, u64)> = (first..t.min(first + SLOTS as u64)).enumerate().collect();
        let (scaled, centered) = (setting.scaled(&message), setting.centered(&message));
        for (i, &q) in primes.iter().enumerate() {
            let q = u128::from(q);
            for &(at, m) in &message {
                let rounded = (q_all * u128::from(m) + u128::from(t / 2)) / u128::from(t);
                assert_eq!(u128::from(scaled.limb(i)[at]), rounded % q, "scaled {m}");
                let lifted = if m >= t / 2 {
                    q + u128::from(m) - u128::from(t)
                } else {
                    u128::from(m)
                };
                assert_eq!(u128::from(centered.limb(i)[at]), lifted % q, "centered {m}");
            }
        }
    }
}
