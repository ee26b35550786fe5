//! Every generator, run by both parties over real loopback QUIC: the halves reconstruct to
//! correlated randomness satisfying its relation, and each half alone looks uniform.

use dyad_link::{PartyLink, loopback_pair};
use dyad_offline::Generator;
use dyad_online::randomness::items::BITS;
use dyad_online::{Fp, Z64, ring};
use rand::{RngExt, SeedableRng};

async fn generators() -> ([Generator; 2], [PartyLink; 2]) {
    let (mut l0, mut l1) = loopback_pair().await.expect("link");
    let (g0, g1) =
        tokio::try_join!(Generator::new(&mut l0), Generator::new(&mut l1)).expect("generators");
    ([g0, g1], [l0, l1])
}

macro_rules! both {
    ($gens:expr, |$g:ident| $call:expr) => {{
        let [g0, g1] = &mut $gens;
        let (a, b) = tokio::join!(
            async {
                let $g = g0;
                $call.await
            },
            async {
                let $g = g1;
                $call.await
            }
        );
        (a.expect("P0"), b.expect("P1"))
    }};
}

/// Chi-square statistic of counts against a uniform distribution over `bins` values.
fn chi_square_uniform(values: impl Iterator<Item = usize>, bins: usize) -> (f64, usize) {
    let mut counts = vec![0u64; bins];
    let mut n = 0;
    for v in values {
        counts[v] += 1;
        n += 1;
    }
    let expected = n as f64 / bins as f64;
    let stat = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    (stat, bins - 1)
}

/// The chi-square quantile for significance 1e-6 (Wilson–Hilferty).
fn critical(df: usize) -> f64 {
    let df = df as f64;
    let c = 2.0 / (9.0 * df);
    df * (1.0 - c + 4.753 * c.sqrt()).powi(3)
}

fn assert_uniform(what: &str, values: impl Iterator<Item = usize>, bins: usize) {
    let (stat, df) = chi_square_uniform(values, bins);
    assert!(
        stat < critical(df),
        "{what} is not uniform: chi-square {stat:.1} over {df} df"
    );
}

/// Bits of ring shares, each position separately: none may be stuck.
fn assert_ring_bits_balanced(what: &str, shares: &[Z64]) {
    for j in 0..64 {
        assert_uniform(
            &format!("{what} bit {j}"),
            shares.iter().map(|s| s.bit(j) as usize),
            2,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_and_elementwise_triples_satisfy_z_equals_uv() {
    let (mut gens, _links) = generators().await;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    for _ in 0..4 {
        let (m, n, k) = (
            rng.random_range(1..20),
            rng.random_range(1..40),
            rng.random_range(1..20),
        );
        let (t0, t1) = both!(gens, |g| g.matrix_triple(m, n, k));
        let (u, v) = (&t0.u + &t1.u, &t0.v + &t1.v);
        assert_eq!(ring::matmul(&u, &v), &t0.z + &t1.z, "shape ({m}, {n}, {k})");
    }
    let (e0, e1) = both!(gens, |g| g.elementwise_triples(5000));
    assert_eq!((&e0.u + &e1.u) * (&e0.v + &e1.v), &e0.z + &e1.z);
    for (party, half) in [(0, &e0), (1, &e1)] {
        assert_ring_bits_balanced(&format!("P{party}'s z"), half.z.as_slice().expect("1-d"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comparison_masks_are_consistent_in_every_share_kind() {
    let (mut gens, _links) = generators().await;
    let n = 3000;
    let (c0, c1) = both!(gens, |g| g.comparison_masks(n));
    assert!(c0.beta.iter().all(|&b| b == 0), "P0 never holds beta");
    for e in 0..n {
        let r = c0.r[e] + c1.r[e];
        let beta = c1.beta[e];
        for j in 0..BITS {
            let r_j = r.bit(j as u32);
            assert_eq!(
                c0.r_bits[[e, j]] + c1.r_bits[[e, j]],
                Fp::from_bit(r_j),
                "mask {e} bit {j}"
            );
            assert_eq!(
                c0.beta_r_bits[[e, j]] + c1.beta_r_bits[[e, j]],
                Fp::from_bit(r_j & beta)
            );
        }
        assert_eq!(
            c0.alpha[e] ^ c1.alpha[e],
            Z64::wrap(c0.r[e], c1.r[e]),
            "alpha of mask {e}"
        );
    }
    // Each half alone: mod-67 shares spread over all of Z_67, bits balanced, r uniform.
    for (party, half) in [(0, &c0), (1, &c1)] {
        assert_uniform(
            &format!("P{party}'s r_bits"),
            half.r_bits.iter().map(|f| f.value() as usize),
            67,
        );
        assert_uniform(
            &format!("P{party}'s beta_r_bits"),
            half.beta_r_bits.iter().map(|f| f.value() as usize),
            67,
        );
        assert_uniform(
            &format!("P{party}'s alpha"),
            half.alpha.iter().map(|&a| a as usize),
            2,
        );
        assert_ring_bits_balanced(&format!("P{party}'s r"), half.r.as_slice().expect("1-d"));
    }
    assert_uniform("beta", c1.beta.iter().map(|&b| b as usize), 2);
    // The mask itself is uniform too.
    let r: Vec<Z64> = (0..n).map(|e| c0.r[e] + c1.r[e]).collect();
    assert_ring_bits_balanced("r", &r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_pairs_match_their_mask() {
    let (mut gens, _links) = generators().await;
    for f in [16, 20, 30] {
        let (t0, t1) = both!(gens, |g| g.truncation_pairs(2000, f));
        for e in 0..2000 {
            let r = t0.r[e] + t1.r[e];
            assert_eq!(t0.r_msb[e] + t1.r_msb[e], Z64::from_bit(r.msb()));
            assert_eq!(t0.r_low[e] + t1.r_low[e], Z64((r.0 & (u64::MAX >> 1)) >> f));
        }
        for (party, half) in [(0, &t0), (1, &t1)] {
            assert_ring_bits_balanced(
                &format!("P{party}'s r (f = {f})"),
                half.r.as_slice().expect("1-d"),
            );
        }
        let r: Vec<Z64> = (0..2000).map(|e| t0.r[e] + t1.r[e]).collect();
        assert_ring_bits_balanced("r", &r);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dabits_agree_in_both_sharings() {
    let (mut gens, _links) = generators().await;
    let (d0, d1) = both!(gens, |g| g.dabits(5000));
    assert_eq!((&d0.xor ^ &d1.xor).mapv(Z64::from_bit), &d0.ring + &d1.ring);
    for (party, half) in [(0, &d0), (1, &d1)] {
        assert_uniform(
            &format!("P{party}'s XOR shares"),
            half.xor.iter().map(|&b| b as usize),
            2,
        );
        assert_ring_bits_balanced(
            &format!("P{party}'s ring shares"),
            half.ring.as_slice().expect("1-d"),
        );
    }
    assert_uniform(
        "the bits",
        (&d0.xor ^ &d1.xor).iter().map(|&b| b as usize),
        2,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modp_triples_and_scaled_triples_satisfy_their_relations() {
    let (mut gens, _links) = generators().await;
    let n = 5000;
    let (p0, p1) = both!(gens, |g| g.modp_triples(n));
    for e in 0..n {
        assert_eq!((p0.a[e] + p1.a[e]) * (p0.b[e] + p1.b[e]), p0.c[e] + p1.c[e]);
    }
    let (q0, q1) = both!(gens, |g| g.scaled_modp_triples(n));
    let mut ms = Vec::new();
    for e in 0..n {
        let (a, b, m) = (q0.a[e] + q1.a[e], q0.b[e] + q1.b[e], q0.m[e] + q1.m[e]);
        assert_ne!(m, Fp::ZERO, "M must be nonzero");
        assert_eq!(q0.ma[e] + q1.ma[e], m * a);
        assert_eq!(q0.mb[e] + q1.mb[e], m * b);
        assert_eq!(q0.mab[e] + q1.mab[e], m * a * b);
        ms.push(m.value() as usize - 1);
    }
    assert_uniform("M over Z_67*", ms.into_iter(), 66);
    for (party, half) in [(0, &q0), (1, &q1)] {
        for (name, col) in [("m", &half.m), ("mab", &half.mab), ("c", &half.a)] {
            assert_uniform(
                &format!("P{party}'s {name}"),
                col.iter().map(|f| f.value() as usize),
                67,
            );
        }
    }
}
