//! A party's view of a truncation is independent of the secret. Party `i` sends
//! `m_i XOR rho_i` and receives `m_(1-i) XOR rho_(1-i)` (its share's top bit and its XOR share
//! of the daBit `rho`); together with the top bits of its own share, those are uniform over
//! all 32 combinations and the same for a secret near the bottom of the range and one near the
//! top. Opening `m0 XOR m1` without the daBit would separate the two (checked on the same
//! shares), so the chi-square test has the power to see the leak it guards against.

use ndarray::Array1;

use super::*;
use crate::protocols::truncate;
use crate::testing::pair;
use crate::wire;
use dyad_testing::stats;

const RUNS: usize = 20_000;

/// One party's view as symbols: its own share's top three bits, the bit it sent and the bit it
/// received (32 symbols); and the same with `m0 XOR m1` in place of the received bit.
struct View {
    seen: Vec<u64>,
    leaky: Vec<u64>,
}

/// The views of `RUNS` truncations of `secret`, with the fixture's randomness from
/// `fixture_seed` and the secret's sharing from `share_seed` (two streams: one seed for both
/// would draw the shares and the daBits from the same words).
async fn views(secret: i64, fixture_seed: u64, share_seed: u64) -> [View; 2] {
    let mut rng = rng(share_seed);
    let mut pair = pair(Config::default(), fixture_seed)
        .await
        .expect("loopback parties");
    let x = Array1::from_elem(RUNS, Z64::from_signed(secret));
    let sh = share(&x, &mut rng);
    for p in &mut pair.parties {
        p.record_view();
    }
    let _ = both!(pair, |p, i| truncate(p, &sh[i]));
    let offset = Z64(1 << (crate::fixed::K - 1));
    // P0 holds x'_0 = x_0 + offset, P1 x'_1 = x_1.
    let own = [sh[0].mapv(|v| v + offset), sh[1].clone()];
    let m_xor: Vec<u8> = own[0]
        .iter()
        .zip(&own[1])
        .map(|(a, b)| a.msb() ^ b.msb())
        .collect();
    let frames: Vec<Vec<Vec<u8>>> = pair.parties.iter_mut().map(|p| p.take_view()).collect();
    // What each party received is what the other sent.
    let bits = |frames: &[Vec<u8>]| -> Vec<u8> {
        assert_eq!(frames.len(), 1, "one flight");
        // The flight is the sender's 8-byte tag digest, then the bits.
        assert_eq!(frames[0].len(), 8 + RUNS.div_ceil(8), "flight length");
        wire::bits_from_bytes(&frames[0][8..], RUNS).expect("one bit per element")
    };
    let received = [bits(&frames[0]), bits(&frames[1])];
    let symbols = |own: &Array1<Z64>, sent: &[u8], other: &[u8]| -> Vec<u64> {
        let values =
            own.iter().zip(sent).zip(other).map(|((v, &s), &o)| {
                4 * (v.0 >> 61) as usize + 2 * usize::from(s) + usize::from(o)
            });
        stats::histogram(values, 32)
    };
    [0, 1].map(|i| View {
        seen: symbols(&own[i], &received[1 - i], &received[i]),
        leaky: symbols(&own[i], &received[1 - i], &m_xor),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_each_party_receives_in_a_truncation_does_not_depend_on_the_secret() {
    let low = views(-(1 << 60), 60, 62).await;
    let high = views(1 << 60, 61, 63).await;
    for (party, (l, h)) in low.iter().zip(&high).enumerate() {
        stats::assert_uniform(&format!("P{party}'s view, low secret"), &l.seen);
        stats::assert_uniform(&format!("P{party}'s view, high secret"), &h.seen);
        stats::assert_same_distribution(&format!("P{party}'s view"), &l.seen, &h.seen);
        let (stat, df) = stats::chi_square_homogeneity(&l.leaky, &h.leaky);
        assert!(
            stat > 10.0 * stats::critical(df),
            "P{party}: m0 XOR m1 should separate the secrets: chi-square {stat:.1}"
        );
    }
}
