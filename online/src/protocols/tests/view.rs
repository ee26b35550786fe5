//! Each party's view of the comparison is independent of the secret (PROTOCOLS.md, "Things that
//! must hold and must be tested"): for the secrets -5 and +5, every message a party receives
//! has the same distribution, and so does each party's share of `eta` (for CheckZero, P0's is
//! the bit `z` CheckZero reveals to it). For the bitwise comparison and the product CheckZero
//! over both primes.
//!
//! The two secrets draw independent randomness: each run has its own fixture seed and its own
//! seed for sharing the secret, and its own link, whose common coins and each party's private
//! coins come fresh from the operating system (the variants tested here draw none of them; the
//! `paper` CheckZero, which does, leaks by design). With one fixture seed for both, the masks
//! would be the same and the two views would differ by a constant shift, which a histogram of
//! uniform bytes cannot see.
//!
//! The statistic is per position: every message carries one record of the same size per
//! compared element, and each position of the record (each byte, or the last few bits of a
//! record whose size is no multiple of eight) gets its own histogram over the elements,
//! compared across the two secrets by a two-sample chi-square test. So does each position of
//! every value both parties open (the two shares they received from each other, combined),
//! which no message alone shows: a party's view is what it received together with what it
//! holds. The samples of one position come from different elements, whose randomness is
//! independent. All the tests of a run form one family under a Bonferroni correction: each
//! rejects below `1e-6 / tests` (the main test makes 1,254, so below about `8e-10`), and a
//! protocol whose views do not depend on the secret fails with probability below `1e-6` (in
//! the chi-square approximation of each statistic). The seeds are fixed and the tested
//! variants use no other randomness, so the outcome is deterministic. The negative controls
//! below show that the same statistic rejects a leak of one bit at one position, a mask left
//! out, and the paper's leak of `eta`.

use ndarray::Array1;

use super::*;
use crate::protocols::CheckZeroVariant;
use crate::protocols::msb::msb_and_eta;
use crate::{Fp, Prime, wire};
use dyad_testing::stats::{self, Comparison};

/// Comparisons per secret: the elements whose records the statistic compares.
const RUNS: usize = 4000;
/// Every message starts with the sender's 8-byte digest of the tags consumed so far
/// (`Party::exchange`), which the same calls make the same for both secrets; the records
/// follow it.
const DIGEST: usize = 8;
/// The probability that a protocol whose views do not depend on the secret fails the test.
const FAMILY: f64 = 1e-6;

/// The seeds of one run: the randomness fixture's and the one that shares the secret.
#[derive(Clone, Copy)]
struct Seeds {
    fixture: u64,
    shares: u64,
}

impl Seeds {
    /// Run `n`'s own seeds, distinct from every other run's.
    fn run(n: u64) -> Seeds {
        Seeds {
            fixture: 1000 + 2 * n,
            shares: 1001 + 2 * n,
        }
    }
}

/// What one party saw in `RUNS` comparisons of the same secret: every frame it received, and
/// its XOR share of `eta`.
struct View {
    frames: Vec<Vec<u8>>,
    eta_share: Vec<u8>,
}

async fn views(secret: f64, seeds: Seeds, config: Config) -> [View; 2] {
    let mut rng = rng(seeds.shares);
    let mut pair = crate::testing::pair(config, seeds.fixture)
        .await
        .expect("loopback parties");
    let a = Array1::from_elem(RUNS, FixedPoint::default().encode(secret).expect("ok"));
    let sh = share(&a, &mut rng);
    for p in &mut pair.parties {
        p.record_view();
    }
    let (r0, r1) = both!(pair, |p, i| msb_and_eta(p, &sh[i]));
    let [p0, p1] = &mut pair.parties;
    [
        View {
            frames: p0.take_view(),
            eta_share: r0.1,
        },
        View {
            frames: p1.take_view(),
            eta_share: r1.1,
        },
    ]
}

/// The symbols at each position of `RUNS` records of equal size: for each position, its value
/// in every record (a byte, or fewer bits at the end of a record), as `(name, bins, values)`.
fn positions(records: &[u8]) -> Vec<(String, usize, Vec<usize>)> {
    let mut out = Vec::new();
    let bits = 8 * records.len();
    assert_eq!(bits % RUNS, 0, "one record per element");
    let width = bits / RUNS;
    let bit = |k: usize| usize::from((records[k / 8] >> (k % 8)) & 1);
    for start in (0..width).step_by(8) {
        let end = width.min(start + 8);
        let values = (0..RUNS)
            .map(|e| {
                let first = e * width;
                (start..end).fold(0, |v, k| v | (bit(first + k) << (k - start)))
            })
            .collect();
        out.push((
            format!("bits {start}..{end} of {width}"),
            1 << (end - start),
            values,
        ));
    }
    out
}

/// The per-position comparisons of the records `minus` and `plus`, named `what`.
fn compare_records(what: &str, minus: &[u8], plus: &[u8]) -> Vec<Comparison> {
    positions(minus)
        .into_iter()
        .zip(positions(plus))
        .map(|((position, bins, m), (_, _, p))| Comparison {
            what: format!("{what} {position}"),
            a: stats::histogram(m.into_iter(), bins),
            b: stats::histogram(p.into_iter(), bins),
        })
        .collect()
}

/// How the two shares a flight exchanges combine into the value it opens.
#[derive(Clone, Copy)]
enum Opening {
    /// Ring elements, added.
    Ring,
    /// Packed bits, XORed.
    Bits,
    /// Elements of `Z_p`, added.
    Fp(Prime),
}

/// The flights in which both parties send their share of a value and both learn it, in order:
/// `x = 2a + r` (PROTOCOLS.md, MSB step 1), then the five levels of the AND tree (bits), or the
/// five levels of products and the root (product CheckZero). The product CheckZero's last
/// flight goes to P0 only: `M·prod c[j]`, which P0 learns by design.
fn openings(config: Config) -> Vec<Opening> {
    let rest = match config.checkzero {
        CheckZeroVariant::Bits => [Opening::Bits; 5].to_vec(),
        CheckZeroVariant::Product => [Opening::Fp(config.prime); 6].to_vec(),
        CheckZeroVariant::Paper => unreachable!("the paper's CheckZero leaks by design"),
    };
    [vec![Opening::Ring], rest].concat()
}

/// The records of the value flight `j` opens: the two shares the parties received from each
/// other, combined. Each share alone is uniform whatever the other holds, so only their
/// combination shows, say, a mask left out.
fn opened(view: &[View; 2], j: usize, opening: Opening) -> Vec<u8> {
    let [a, b] = [0, 1].map(|p| &view[p].frames[j][DIGEST..]);
    assert_eq!(a.len(), b.len(), "flight {j} opens one value");
    match opening {
        Opening::Ring => {
            let [a, b] = [a, b].map(|s| wire::ring_from_bytes(s, s.len() / 8).expect("ring"));
            let sum: Vec<Z64> = a.iter().zip(&b).map(|(&x, &y)| x + y).collect();
            wire::ring_to_bytes(&sum)
        }
        Opening::Bits => a.iter().zip(b).map(|(x, y)| x ^ y).collect(),
        Opening::Fp(p) => {
            let n = a.len() / p.bytes();
            let [a, b] = [a, b].map(|s| wire::fp_from_bytes(s, n, p).expect("mod p"));
            let sum: Vec<Fp> = a.iter().zip(&b).map(|(&x, &y)| x + y).collect();
            wire::fp_to_bytes(&sum)
        }
    }
}

/// The per-position comparisons of two parties' views for the two secrets: what each
/// received, its share of `eta`, and each value both open.
fn compare(label: &str, config: Config, minus: &[View; 2], plus: &[View; 2]) -> Vec<Comparison> {
    let mut out = Vec::new();
    for (j, opening) in openings(config).into_iter().enumerate() {
        let (m, p) = (opened(minus, j, opening), opened(plus, j, opening));
        out.extend(compare_records(
            &format!("{label}: opened in flight {j}"),
            &m,
            &p,
        ));
    }
    for (party, (vm, vp)) in minus.iter().zip(plus).enumerate() {
        assert_eq!(
            vm.frames.len(),
            vp.frames.len(),
            "{label}: P{party}'s flights"
        );
        for (j, (fm, fp)) in vm.frames.iter().zip(&vp.frames).enumerate() {
            assert_eq!(fm.len(), fp.len(), "{label}: P{party} frame {j} length");
            // The digest names the items consumed, never their contents: the same for both.
            assert_eq!(
                fm[..DIGEST],
                fp[..DIGEST],
                "{label}: P{party} frame {j} digest"
            );
            let what = format!("{label}: P{party} frame {j}");
            out.extend(compare_records(&what, &fm[DIGEST..], &fp[DIGEST..]));
        }
        let share = |v: &View| stats::histogram(v.eta_share.iter().map(|&b| usize::from(b)), 2);
        out.push(Comparison {
            what: format!("{label}: P{party}'s share of eta"),
            a: share(vm),
            b: share(vp),
        });
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_each_party_receives_does_not_depend_on_the_secret() {
    let mut family = Vec::new();
    for (run, (checkzero, prime)) in [
        (CheckZeroVariant::Bits, Prime::default()),
        (CheckZeroVariant::Product, Prime::P67),
        (CheckZeroVariant::Product, Prime::P40961),
    ]
    .into_iter()
    .enumerate()
    {
        let config = Config {
            checkzero,
            prime,
            ..Config::default()
        };
        let run = 2 * run as u64;
        let minus = views(-5.0, Seeds::run(run), config).await;
        let plus = views(5.0, Seeds::run(run + 1), config).await;
        // Bits: each party receives x and the five tree levels' openings. Product: P0
        // receives x1, five tree levels, the root's openings and P1's share of M·prod; P1 the
        // same but the last.
        for (party, view) in minus.iter().enumerate() {
            let flights = match checkzero {
                CheckZeroVariant::Bits => 6,
                _ => 8 - party,
            };
            assert_eq!(
                view.frames.len(),
                flights,
                "{checkzero}: P{party}'s flights"
            );
        }
        let label = format!("{checkzero}, Z_{prime}");
        family.extend(compare(&label, config, &minus, &plus));
    }
    let rejected = stats::bonferroni_rejections(FAMILY, &family);
    assert!(
        rejected.is_empty(),
        "{} of {} positions depend on the secret at family significance {FAMILY:e}: {rejected:?}",
        rejected.len(),
        family.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistic_rejects_one_leaked_bit_at_one_position() {
    // A leaky view: the honest one, but with the sign of the secret written over the lowest
    // bit of the top byte of every element's `x` that P0 receives (frame 0): one bit of each
    // element's 64. Pooled with the frame's other bytes it would be diluted eightfold; per
    // position it stands out.
    let config = Config::default();
    let mut minus = views(-5.0, Seeds::run(100), config).await;
    let mut plus = views(5.0, Seeds::run(101), config).await;
    assert!(
        stats::bonferroni_rejections(FAMILY, &compare("honest", config, &minus, &plus)).is_empty(),
        "the honest views pass"
    );
    for (view, sign) in [(&mut minus, 1), (&mut plus, 0)] {
        let x = &mut view[0].frames[0][DIGEST..];
        for record in x.chunks_exact_mut(8) {
            record[7] = (record[7] & !1) | sign;
        }
    }
    let family = compare("leaky", config, &minus, &plus);
    let rejected = stats::bonferroni_rejections(FAMILY, &family);
    let names: Vec<&str> = rejected.iter().map(|r| r.0).collect();
    assert_eq!(
        names,
        ["leaky: P0 frame 0 bits 56..64 of 64"],
        "{rejected:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistic_rejects_a_mask_left_out() {
    // A leaky view: each party sends its share of 2a without its share of the mask r, so
    // each receives the other's share of 2a in frame 0. Each share alone is as uniform as
    // before; the value they open, 2a, is not.
    let config = Config::default();
    let mut leaky = Vec::new();
    for (secret, seeds) in [(-5.0, Seeds::run(104)), (5.0, Seeds::run(105))] {
        let mut view = views(secret, seeds, config).await;
        // The same shares of the secret as `views` made.
        let a = Array1::from_elem(RUNS, FixedPoint::default().encode(secret).expect("ok"));
        let sh = share(&a, &mut rng(seeds.shares));
        for (p, received) in view.iter_mut().enumerate() {
            let unmasked: Vec<Z64> = sh[1 - p].iter().map(|&a| a + a).collect();
            received.frames[0].splice(DIGEST.., wire::ring_to_bytes(&unmasked));
        }
        leaky.push(view);
    }
    let family = compare("unmasked", config, &leaky[0], &leaky[1]);
    let rejected = stats::bonferroni_rejections(FAMILY, &family);
    // 2a is -10 or +10 in fixed point with f = 16: its low two bytes are zero either way.
    let names: Vec<&str> = rejected.iter().map(|r| r.0).collect();
    let expected: Vec<String> = (2..8)
        .map(|b| {
            format!(
                "unmasked: opened in flight 0 bits {}..{} of 64",
                8 * b,
                8 * b + 8
            )
        })
        .collect();
    assert_eq!(names, expected, "{rejected:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistic_rejects_the_papers_leak_of_eta() {
    // eta = [r > x] itself, which Algorithm 5 as published hands P0, in place of P0's share.
    let config = Config::default();
    let mut minus = views(-5.0, Seeds::run(102), config).await;
    let mut plus = views(5.0, Seeds::run(103), config).await;
    for view in [&mut minus, &mut plus] {
        let eta: Vec<u8> = view[0]
            .eta_share
            .iter()
            .zip(&view[1].eta_share)
            .map(|(a, b)| a ^ b)
            .collect();
        view[0].eta_share = eta;
    }
    let family = compare("eta revealed", config, &minus, &plus);
    let rejected = stats::bonferroni_rejections(FAMILY, &family);
    let names: Vec<&str> = rejected.iter().map(|r| r.0).collect();
    assert_eq!(names, ["eta revealed: P0's share of eta"], "{rejected:?}");
}
