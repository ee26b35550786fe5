//! Every generator, run by both parties over real loopback QUIC: the halves reconstruct to
//! correlated randomness satisfying its relation, and each half alone looks uniform.

use dyad_link::{PartyLink, loopback_pair};
use dyad_offline::{Generator, MatrixTripleMethod};
use dyad_randomness::{Codec, Kind, relation};
use dyad_randomness::{Fp, Prime, Z64};
use dyad_testing::stats;
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

fn assert_uniform(what: &str, values: impl Iterator<Item = usize>, bins: usize) {
    stats::assert_uniform(what, &stats::histogram(values, bins));
}

/// The low `width` bits of `words`, each position separately: its zeros and ones are
/// balanced, so that neither value is missing (PROTOCOLS.md: a stuck share must fail). Counting
/// the ones of all positions in one histogram would not do: an all-ones share fills every
/// position's bin equally.
fn assert_bits_balanced(what: &str, width: u32, words: &[u64]) {
    for j in 0..width {
        assert_uniform(
            &format!("{what} bit {j}"),
            words.iter().map(|w| ((w >> j) & 1) as usize),
            2,
        );
    }
}

/// [`assert_bits_balanced`] for ring shares.
fn assert_ring_bits_balanced(what: &str, shares: &[Z64]) {
    let words: Vec<u64> = shares.iter().map(|s| s.0).collect();
    assert_bits_balanced(what, 64, &words);
}

/// [`assert_bits_balanced`] for one AND-triple field of comparison-bits masks: its 31 slots'
/// bits (32 digit products for `digit_and`).
fn assert_slots_balanced(what: &str, used: u32, words: &[u32]) {
    let words: Vec<u64> = words.iter().map(|&w| u64::from(w)).collect();
    assert_bits_balanced(what, used, &words);
}

#[test]
fn a_share_with_a_stuck_bit_fails_the_balance_check() {
    // Uniform 31-bit words pass; the same with bit 7 stuck at 1, or bit 19 stuck at 0, fail,
    // as does an all-ones share (which a count of ones per position would pass).
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
    let honest: Vec<u32> = (0..3000).map(|_| rng.random::<u32>() >> 1).collect();
    assert_slots_balanced("honest", 31, &honest);
    let stuck_one: Vec<u32> = honest.iter().map(|w| w | (1 << 7)).collect();
    let stuck_zero: Vec<u32> = honest.iter().map(|w| w & !(1 << 19)).collect();
    let all_ones = vec![u32::MAX >> 1; honest.len()];
    for (what, words) in [
        ("bit 7 stuck at 1", stuck_one),
        ("bit 19 stuck at 0", stuck_zero),
        ("all ones", all_ones),
    ] {
        let check = std::panic::catch_unwind(|| assert_slots_balanced(what, 31, &words));
        assert!(check.is_err(), "{what} passed the balance check");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_and_elementwise_triples_satisfy_z_equals_uv() {
    let (mut gens, _links) = generators().await;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    // Random shapes, plus both orientations for sure: for OT, U's bits drive the OTs for an
    // inference-like `m < k` and V's otherwise; for RLWE, the cost model encrypts U or V^T.
    // The serving shape of a weight-bound triple (64 requests' rows) too.
    let random: Vec<_> = (0..4)
        .map(|_| {
            (
                rng.random_range(1..20),
                rng.random_range(1..40),
                rng.random_range(1..20),
            )
        })
        .collect();
    for method in [MatrixTripleMethod::He, MatrixTripleMethod::Ot] {
        for g in &mut gens {
            g.set_matrix_method(method);
        }
        let serving = match method {
            MatrixTripleMethod::He => vec![(64, 784, 128), (1, 784, 128)],
            MatrixTripleMethod::Ot => vec![],
        };
        for (m, n, k) in random
            .iter()
            .copied()
            .chain([(1, 33, 10), (10, 33, 1), (5, 7, 5)])
            .chain(serving)
        {
            let (t0, t1) = both!(gens, |g| g.matrix_triple(m, n, k));
            relation::check(Kind::MatrixTriple { m, n, k }, [&t0.encode(), &t1.encode()])
                .unwrap_or_else(|e| panic!("{method} {m}x{n}x{k}: Z = U·V: {e}"));
            for (party, half) in [(0, &t0), (1, &t1)] {
                // U_i comes from the party's key (`ShareSeed`), Z_i from the protocol.
                for (name, share) in [("u", half.u()), ("z", half.z())] {
                    assert_ring_bits_balanced(
                        &format!("{method}: P{party}'s {name} of {m}x{n}x{k}"),
                        share.as_slice().expect("standard layout"),
                    );
                }
            }
        }
    }
    let (e0, e1) = both!(gens, |g| g.elementwise_triples(5000));
    relation::check(Kind::ElementwiseTriple, [&e0.encode(), &e1.encode()]).expect("z = u·v");
    for (party, half) in [(0, &e0), (1, &e1)] {
        assert_ring_bits_balanced(&format!("P{party}'s z"), half.z.as_slice().expect("1-d"));
    }
}

/// Elements of `Z_p` in at most 67 equal bins (exactly one per value for `p = 67`).
fn assert_fp_uniform(what: &str, values: impl Iterator<Item = Fp>, p: Prime) {
    let bins = (p.value() as usize).min(67);
    let bin = |f: Fp| f.value() as usize * bins / p.value() as usize;
    assert_uniform(what, values.map(bin), bins);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comparison_masks_are_consistent_in_every_share_kind() {
    for p in [Prime::P67, Prime::P40961] {
        comparison_masks_over(p).await;
    }
}

async fn comparison_masks_over(p: Prime) {
    let (mut gens, _links) = generators().await;
    let n = 3000;
    let (c0, c1) = both!(gens, |g| g.comparison_masks(p, n));
    let kind = Kind::ComparisonMask { p };
    relation::check(kind, [&c0.encode(), &c1.encode()]).expect("consistent masks");
    // Each half alone: mod-p shares spread over all of Z_p, bits balanced, r uniform.
    for (party, half) in [(0, &c0), (1, &c1)] {
        assert_fp_uniform(
            &format!("{kind}: P{party}'s r_bits"),
            half.r_bits.iter().copied(),
            p,
        );
        assert_fp_uniform(
            &format!("{kind}: P{party}'s beta_r_bits"),
            half.beta_r_bits.iter().copied(),
            p,
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
async fn bitwise_comparison_masks_are_consistent() {
    let (mut gens, _links) = generators().await;
    let n = 3000;
    let (c0, c1) = both!(gens, |g| g.comparison_bits(n));
    let kind = Kind::ComparisonBits;
    relation::check(kind, [&c0.encode(), &c1.encode()]).expect("consistent masks");
    // Each half alone: every bit of every share balanced, r uniform; and the mask itself.
    for (party, half) in [(0, &c0), (1, &c1)] {
        assert_ring_bits_balanced(&format!("P{party}'s r"), half.r.as_slice().expect("1-d"));
        let xor: Vec<Z64> = half.r_xor.iter().map(|&w| Z64(w)).collect();
        assert_ring_bits_balanced(&format!("P{party}'s r_xor"), &xor);
        for (name, words) in [
            ("digit_and", &half.digit_and),
            ("u", &half.u),
            ("v_lt", &half.v_lt),
            ("v_eq", &half.v_eq),
            ("w_lt", &half.w_lt),
            ("w_eq", &half.w_eq),
        ] {
            // 31 used bits (32 for digit_and), each with both values.
            let used = if name == "digit_and" { 32 } else { 31 };
            let what = format!("P{party}'s {name}");
            assert_slots_balanced(&what, used, words.as_slice().expect("1-d"));
        }
        assert_uniform(
            &format!("P{party}'s alpha"),
            half.alpha.iter().map(|&a| a as usize),
            2,
        );
    }
    let r: Vec<Z64> = (0..n).map(|e| c0.r[e] + c1.r[e]).collect();
    assert_ring_bits_balanced("r", &r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bit_triples_multiply_by_the_bit_in_both_sharings() {
    let (mut gens, _links) = generators().await;
    let n = 5000;
    let (t0, t1) = both!(gens, |g| g.bit_triples(n));
    relation::check(Kind::BitTriple, [&t0.encode(), &t1.encode()]).expect("z = u·v");
    for (party, half) in [(0, &t0), (1, &t1)] {
        assert_uniform(
            &format!("P{party}'s XOR shares"),
            half.v_xor.iter().map(|&b| b as usize),
            2,
        );
        for (name, col) in [("u", &half.u), ("v", &half.v), ("z", &half.z)] {
            assert_ring_bits_balanced(&format!("P{party}'s {name}"), col.as_slice().expect("1-d"));
        }
    }
    assert_uniform(
        "the bits",
        (&t0.v_xor ^ &t1.v_xor).iter().map(|&b| b as usize),
        2,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dabits_agree_in_both_sharings() {
    let (mut gens, _links) = generators().await;
    let (d0, d1) = both!(gens, |g| g.dabits(5000));
    relation::check(Kind::DaBit, [&d0.encode(), &d1.encode()]).expect("consistent daBits");
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
    for p in [Prime::P67, Prime::P40961] {
        modp_triples_over(p).await;
    }
}

async fn modp_triples_over(p: Prime) {
    let (mut gens, _links) = generators().await;
    let n = 5000;
    let (p0, p1) = both!(gens, |g| g.modp_triples(p, n));
    relation::check(Kind::ModpTriple { p }, [&p0.encode(), &p1.encode()]).expect("c = a·b");
    let (q0, q1) = both!(gens, |g| g.scaled_modp_triples(p, n));
    relation::check(Kind::ScaledModpTriple { p }, [&q0.encode(), &q1.encode()])
        .expect("scaled triples");
    // M is uniform over Z_p*: M - 1 uniform over 0..p-1.
    let bins = (p.value() as usize - 1).min(66);
    let ms = (0..n)
        .map(|e| ((q0.m[e] + q1.m[e]).value() as usize - 1) * bins / (p.value() as usize - 1));
    assert_uniform(&format!("M over Z_{p}*"), ms, bins);
    for (party, half) in [(0, &q0), (1, &q1)] {
        for (name, col) in [("m", &half.m), ("mab", &half.mab), ("a", &half.a)] {
            assert_fp_uniform(&format!("Z_{p}: P{party}'s {name}"), col.iter().copied(), p);
        }
    }
    for (party, half) in [(0, &p0), (1, &p1)] {
        for (name, col) in [("a", &half.a), ("c", &half.c)] {
            assert_fp_uniform(&format!("Z_{p}: P{party}'s {name}"), col.iter().copied(), p);
        }
    }
}
