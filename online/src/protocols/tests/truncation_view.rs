//! A party's view of a truncation is independent of the secret: what it receives, the bit
//! `e = m0 XOR m1 XOR rho`, taken jointly with the top bits of its own share, has the same
//! distribution for a secret near the bottom of the range and one near the top. Opening
//! `m0 XOR m1` without the daBit would separate the two (checked on the same shares), so the
//! chi-square test has the power to see the leak it guards against.

use ndarray::Array1;

use super::*;
use crate::protocols::truncate;
use crate::testing::stats;
use crate::wire;

const RUNS: usize = 20_000;

/// Per party, its own share's top three bits and the bit it received, as one of 16 symbols,
/// for `RUNS` truncations of `secret`; and the symbols `m0 XOR m1` in place of the received
/// bit would make.
async fn views(secret: i64, seed: u64) -> [(Vec<u64>, Vec<u64>); 2] {
    let mut rng = rng(seed);
    let mut pair = parties(Config::default()).await;
    let x = Array1::from_elem(RUNS, Z64::from_signed(secret));
    let sh = share(&x, &mut rng);
    for p in &mut pair.parties {
        p.record_view();
    }
    let _ = both!(pair, |p, i| truncate(p, &sh[i]));
    let offset = Z64(1 << (crate::fixed::K - 1));
    // P0 holds x'_0 = x_0 + offset, P1 x'_1 = x_1.
    let own = [sh[0].mapv(|v| v + offset), sh[1].clone()];
    let symbols = |own: &Array1<Z64>, bits: &[u8]| -> Vec<u64> {
        let top = own.iter().map(|v| (v.0 >> 61) as usize);
        stats::histogram(top.zip(bits).map(|(t, &b)| 2 * t + usize::from(b)), 16)
    };
    let m_xor: Vec<u8> = own[0]
        .iter()
        .zip(&own[1])
        .map(|(a, b)| a.msb() ^ b.msb())
        .collect();
    let mut out = Vec::new();
    for (i, p) in pair.parties.iter_mut().enumerate() {
        let frames = p.take_view();
        assert_eq!(frames.len(), 1, "P{i}: one flight");
        // The flight is the sender's tag digest, then the bits.
        let payload = &frames[0][frames[0].len() - RUNS.div_ceil(8)..];
        let e = wire::bits_from_bytes(payload, RUNS).expect("one bit per element");
        out.push((symbols(&own[i], &e), symbols(&own[i], &m_xor)));
    }
    out.try_into().expect("two parties")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_each_party_receives_in_a_truncation_does_not_depend_on_the_secret() {
    let low = views(-(1 << 60), 60).await;
    let high = views(1 << 60, 61).await;
    for (party, ((seen_low, leak_low), (seen_high, leak_high))) in low.iter().zip(&high).enumerate()
    {
        stats::assert_same_distribution(&format!("P{party}'s view"), seen_low, seen_high);
        let (stat, df) = stats::chi_square_homogeneity(leak_low, leak_high);
        assert!(
            stat > 100.0 * stats::critical(df),
            "P{party}: m0 XOR m1 should separate the secrets: chi-square {stat:.1}"
        );
    }
}
