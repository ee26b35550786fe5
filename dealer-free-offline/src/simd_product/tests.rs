//! Elementwise mod-p products by SIMD encryption against the plaintext products: the slot
//! encoding, the noise budget, exact shares on worst-case and random inputs over a real
//! loopback link, and V's privacy.

use dyad_link::{PartyLink, loopback_pair};
use dyad_testing::stats;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::slots::Slots;
use super::*;
use crate::rlwe::ciphertext::Ciphertext;
use crate::rlwe::keys::{PublicKey, SecretKey};
use crate::rlwe::reply::finish;
use crate::rlwe::rerandomize::rerandomize;
use crate::rlwe::{encrypt, sample};

const P: Prime = Prime::P40961;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn random(rng: &mut ChaCha20Rng, n: usize) -> Vec<u64> {
    (0..n)
        .map(|_| rng.random_range(0..u64::from(P.value())))
        .collect()
}

#[test]
fn slots_multiply_elementwise() {
    let mut rng = rng(1);
    let p = u64::from(P.value());
    let slots = Slots::new(P.value()).expect("40961 has slots");
    let (a, b) = (random(&mut rng, SLOTS), random(&mut rng, SLOTS));
    let (ea, eb) = (slots.encode(&a), slots.encode(&b));
    let coefficients = |e: &[(usize, u64)]| e.iter().map(|&(_, g)| g).collect::<Vec<_>>();
    assert_eq!(slots.decode(&coefficients(&ea)), a, "round trip");
    // The product of the two polynomials modulo X^N + 1, over Z_p.
    let mut product = vec![0u64; SLOTS];
    for &(i, x) in &ea {
        for &(j, y) in &eb {
            let (at, v) = ((i + j) % SLOTS, x * y % p);
            product[at] = if i + j < SLOTS {
                (product[at] + v) % p
            } else {
                (product[at] + p - v) % p
            };
        }
    }
    let want: Vec<u64> = a.iter().zip(&b).map(|(x, y)| x * y % p).collect();
    assert_eq!(slots.decode(&product), want);
    assert!(Slots::new(67).is_err() && !supports(Prime::P67) && supports(P));
}

#[test]
fn the_flooding_fits_the_budget() {
    // 40 bits over the worst case for each coefficient's share of the key's 2^-40, and 20 for
    // the 2^20 coefficients one key serves.
    let bits = noise::flood_bits(P.value());
    assert!(noise::reply_noise_bound(P.value()) < 1 << 32);
    assert_eq!(setting(P).key_lifetime_bits, 20);
    assert_eq!(bits, 32 + 40 + 20);
    assert!(
        bits <= setting(P).max_flood_bits(),
        "{bits} > {}",
        setting(P).max_flood_bits()
    );
    assert_eq!(setting(P).decrypt_limbs(), 2);
    // HE Standard, 128-bit classical security, ternary secret: log2 Q <= 109 at N = 4096.
    assert_eq!(setting(P).degree, SLOTS);
    assert!(
        setting(P).log2_q() <= 109.0,
        "log2 Q = {}",
        setting(P).log2_q()
    );
}

async fn sessions() -> ([HeSession; 2], [PartyLink; 2]) {
    let (mut l0, mut l1) = loopback_pair().await.expect("link");
    let (s0, s1) =
        tokio::try_join!(HeSession::new(&mut l0), HeSession::new(&mut l1)).expect("sessions");
    ([s0, s1], [l0, l1])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_terms_are_exact_on_worst_case_and_random_inputs() {
    let (mut sessions, _links) = sessions().await;
    let mut rng = rng(2);
    let p = u64::from(P.value());
    let top = vec![p - 1; 5000];
    for (what, x, y) in [
        (
            "all p - 1",
            [top.clone(), top.clone()],
            [top.clone(), top.clone()],
        ),
        (
            "zeros by p - 1",
            [vec![0; 5000], top.clone()],
            [top.clone(), vec![0; 5000]],
        ),
        (
            "random, several rounds",
            [random(&mut rng, 140_000), random(&mut rng, 140_000)],
            [random(&mut rng, 140_000), random(&mut rng, 140_000)],
        ),
        ("one value", [vec![3], vec![5]], [vec![7], vec![11]]),
    ] {
        let [s0, s1] = &mut sessions;
        let (r0, r1) = tokio::join!(
            s0.simd_cross_sum(P, x[0].clone(), y[0].clone()),
            s1.simd_cross_sum(P, x[1].clone(), y[1].clone())
        );
        let (c0, c1) = (r0.expect("P0"), r1.expect("P1"));
        for i in 0..x[0].len() {
            assert_eq!(
                (c0[i] + c1[i]) % p,
                (x[0][i] * y[1][i] + x[1][i] * y[0][i]) % p,
                "{what}: x0·y1 + x1·y0 at {i}"
            );
        }
    }
    let [s0, _] = &mut sessions;
    assert!(
        s0.simd_cross_sum(Prime::P67, vec![1], vec![1])
            .await
            .is_err()
    );
    assert!(s0.simd_cross_sum(P, vec![1], vec![1, 2]).await.is_err());
}

/// What E sees of `trials` replies to the same two ciphertexts for one vector of V (by which it
/// multiplies both): the decoded noise (the low bits of `x` below one plaintext step) and the
/// top bytes of `c1'` and `c0'`.
fn views(y: &[u64], trials: usize, rng: &mut ChaCha20Rng) -> [Vec<u64>; 3] {
    let (setting, slots) = (setting(P), Slots::new(P.value()).expect("slots"));
    let secret = SecretKey::generate(rng, &setting);
    let public = PublicKey::generate(&secret, rng);
    let seed = sample::seed(rng);
    let cts: Vec<Ciphertext> = (0..2)
        .map(|t| {
            let x = random(rng, SLOTS);
            Ciphertext {
                c0: encrypt(&secret, setting.scaled(&slots.encode(&x)), &seed, t, rng),
                c1: sample::uniform(&seed, t, setting.basis(), setting.limbs()),
            }
        })
        .collect();
    let mut plain = setting.centered(&slots.encode(y));
    plain.to_ntt();
    let at = Slots::results();
    let mut hist = [vec![0u64; 256], vec![0u64; 256], vec![0u64; 256]];
    let k = setting.switched_bits;
    let step = (1u128 << k) / u128::from(P.value());
    for _ in 0..trials {
        let mut product = Ciphertext::zero(&setting);
        for ct in &cts {
            product.mul_accumulate(ct, &plain);
        }
        let reply = finish(
            &setting,
            rerandomize(&public, product, rng),
            &at,
            noise::flood_bits(P.value()),
            rng,
        );
        let c0: Vec<(usize, u128)> = at.iter().copied().zip(reply.c0.iter().copied()).collect();
        for x in setting.decrypt(&secret, &reply.c1, &c0) {
            // The offset of x from the nearest multiple of 2^k/p, in 256 bins.
            let m = u128::from(setting.decode(x));
            let offset =
                x.wrapping_sub((m * (1u128 << k)) / u128::from(P.value())) & ((1 << k) - 1);
            let centred = (offset as i128 + (step as i128) / 2).rem_euclid(step as i128);
            hist[0][(centred * 256 / step as i128).clamp(0, 255) as usize] += 1;
        }
        for &c in &reply.c1 {
            hist[1][(c >> (k - 8)) as usize] += 1;
        }
        for &c in &reply.c0 {
            hist[2][(c >> (k - 8)) as usize] += 1;
        }
    }
    hist
}

#[test]
fn replies_look_the_same_whatever_the_evaluators_values() {
    let mut rng = rng(3);
    let p = u64::from(P.value());
    let (zeros, top) = (vec![0u64; SLOTS], vec![p - 1; SLOTS]);
    let (a, b) = (views(&zeros, 6, &mut rng), views(&top, 6, &mut rng));
    for ((name, a), b) in ["decoded noise", "c1' top byte", "c0' top byte"]
        .iter()
        .zip(&a)
        .zip(&b)
    {
        stats::assert_same_distribution(name, a, b);
    }
}
