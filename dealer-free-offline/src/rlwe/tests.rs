//! The RLWE module against plaintext references: ring products, scaling and switching,
//! encryption round trips with worst-case plaintexts, wire forms and the parameter bounds.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::ciphertext::Ciphertext;
use super::keys::{PublicKey, SecretKey};
use super::params::{self, LIMBS, PRIMES};
use super::rerandomize::rerandomize;
use super::rns::RnsPoly;
use super::setting::Setting;
use super::{encrypt, sample};

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
fn the_parameters_are_inside_the_he_standard_and_decrypt_exactly() {
    // HE Standard, 128-bit classical security, ternary secret: log2 Q <= 218 at N = 8192.
    assert!(M.log2_q() <= 218.0, "log2 Q = {}", M.log2_q());
    assert_eq!(N, 8192);
    for (i, &p) in PRIMES.iter().enumerate() {
        assert!(
            p < 1 << 31 && u64::from(p) % (2 * N as u64) == 1,
            "prime {p}"
        );
        assert!(PRIMES[..i].iter().all(|&q| q != p), "distinct primes");
    }
    assert_eq!(M.max_flood_bits(), 120);
    assert!(M.decryption_is_exact(120));
    assert!(!M.decryption_is_exact(121));
    // The decryption product: |c1'·s| <= N·2^k must be below half the product of its primes.
    let product: f64 = PRIMES[..M.decrypt_limbs()]
        .iter()
        .map(|&p| f64::from(p).log2())
        .sum();
    assert!(product - 1.0 > (N as f64).log2() + f64::from(M.switched_bits));
    // Decryption reconstructs with `switch::crt`, which takes at most four residues.
    assert!(M.decrypt_limbs() <= 4);
}

#[test]
fn ntt_products_are_negacyclic_products() {
    let mut rng = rng(1);
    let a: Vec<i8> = (0..N).map(|_| rng.random_range(-3..=3)).collect();
    let b: Vec<i8> = (0..N).map(|_| rng.random_range(-3..=3)).collect();
    let (mut pa, mut pb) = (RnsPoly::zero(N, LIMBS), RnsPoly::zero(N, LIMBS));
    pa.add_small(&a);
    pb.add_small(&b);
    pa.to_ntt();
    pb.to_ntt();
    let mut product = RnsPoly::zero(N, LIMBS);
    product.mul_accumulate(&pa, &pb);
    product.to_coefficients();
    let wide = |v: &[i8]| v.iter().map(|&x| x as i64 as u64).collect::<Vec<_>>();
    let expected = negacyclic_u64(&wide(&a), &wide(&b));
    for (i, &p) in PRIMES.iter().enumerate() {
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
    let secret = SecretKey::generate(rng, N);
    let public = PublicKey::generate(&secret, rng);
    let seed = sample::seed(rng);
    let c0 = encrypt(&secret, M.scaled(&entries(a)), &seed, 7, rng);
    let ct = Ciphertext {
        c0,
        c1: sample::uniform(&seed, 7, N, LIMBS),
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
    let secret = SecretKey::generate(&mut rng, N);
    let public = PublicKey::generate(&secret, &mut rng);
    let bytes = public.to_bytes();
    let back = PublicKey::from_bytes(&bytes, N).expect("round trip");
    assert_eq!((back.p0, back.p1), (public.p0.clone(), public.p1.clone()));
    assert!(PublicKey::from_bytes(&bytes[1..], N).is_err(), "short");
    // A residue of 2^31 - 1 is above every prime.
    let mut bad = bytes.clone();
    bad[32..36].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
    let err = PublicKey::from_bytes(&bad, N).err().expect("refused");
    assert!(err.to_string().contains("not below its prime"), "{err}");
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
    for bits in [0, 40, 120] {
        let f: Vec<i128> = (0..1000).map(|_| sample::flood(&mut rng, bits)).collect();
        assert!(f.iter().all(|&v| v >= -(1 << bits) && v < 1 << bits));
    }
    assert!(sample::flood(&mut rng, 120).unsigned_abs() > 1 << 100);
    // The same seed and stream give the same polynomial; another stream another.
    let seed = sample::seed(&mut rng);
    assert_eq!(
        sample::uniform(&seed, 3, N, LIMBS),
        sample::uniform(&seed, 3, N, LIMBS)
    );
    assert_ne!(
        sample::uniform(&seed, 3, N, LIMBS),
        sample::uniform(&seed, 4, N, LIMBS)
    );
}

#[test]
fn prime_plaintexts_scale_and_lift_exactly() {
    use crate::simd_product::slots::SLOTS;
    // Every m in Z_t against round(Q·m / t) mod q over u128 (Q is 93 bits here), and the lift
    // of the upper half to m - t.
    let setting = Setting::simd(40961);
    let t = 40961u64;
    let q_all: u128 = PRIMES[..setting.limbs]
        .iter()
        .map(|&q| u128::from(q))
        .product();
    for first in (0..t).step_by(SLOTS) {
        let message: Vec<(usize, u64)> = (first..t.min(first + SLOTS as u64)).enumerate().collect();
        let (scaled, centered) = (setting.scaled(&message), setting.centered(&message));
        for (i, &q) in PRIMES[..setting.limbs].iter().enumerate() {
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
