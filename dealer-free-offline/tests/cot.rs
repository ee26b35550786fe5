//! The COT engine and cross products over real loopback QUIC, reconstructed in the clear.

use dyad_link::{PartyLink, loopback_pair};
use dyad_offline::cot::{Cots, Field, Group};
use dyad_offline::gilboa;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

async fn pair() -> ([Cots; 2], [PartyLink; 2]) {
    let (mut l0, mut l1) = loopback_pair().await.expect("link");
    let (c0, c1) = tokio::try_join!(Cots::new(&mut l0), Cots::new(&mut l1)).expect("cots");
    ([c0, c1], [l0, l1])
}

fn modulus(field: Field) -> u128 {
    match field {
        Field::Ring(w) => 1u128 << w,
        Field::Modp(p) => u128::from(p),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cot_shares_add_up_to_choice_times_delta_in_both_directions() {
    let ([mut a, mut b], _links) = pair().await;
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    // Small groups of every kind of field, then one of 300,000 COTs: more than two OT
    // extension calls (2^17 OTs each at most), cut inside a group.
    let mut groups: Vec<Group> = [
        vec![Field::Ring(64)],
        vec![Field::Ring(1), Field::Modp(67)],
        vec![Field::Ring(37); 5],
        vec![Field::Modp(40961); 3],
    ]
    .into_iter()
    .map(|fields| Group::new(rng.random_range(1..700), fields))
    .collect();
    groups.push(Group::new(300_000, vec![Field::Ring(20)]));
    let total: usize = groups.iter().map(|g| g.count() * g.fields().len()).sum();
    // Correlations are elements of their fields (a ring field takes any word, keeping the low
    // bits); the extremes of each field among them.
    let deltas: Vec<u64> = groups
        .iter()
        .flat_map(|g| (0..g.count()).flat_map(move |_| g.fields().iter().copied()))
        .enumerate()
        .map(|(k, field)| {
            let top = (modulus(field) - 1) as u64;
            match k % 5 {
                0 => 0,
                1 => top,
                _ => (u128::from(rng.random::<u64>()) % modulus(field)) as u64,
            }
        })
        .collect();
    assert_eq!(deltas.len(), total);
    let choices: Vec<bool> = (0..total).map(|_| rng.random()).collect();
    let offset = |g: usize, i: usize| -> usize {
        groups[..g]
            .iter()
            .map(|g| g.count() * g.fields().len())
            .sum::<usize>()
            + i * groups[g].fields().len()
    };

    // P0 sends to P1 and, at the same time, P1 sends to P0 with the same inputs.
    let mut sent = [vec![0u64; total], vec![0u64; total]];
    let mut received = [vec![0u64; total], vec![0u64; total]];
    let [sent0, sent1] = &mut sent;
    let [recv0, recv1] = &mut received;
    let delta =
        |g: usize, i: usize, d: &mut [u64]| d.copy_from_slice(&deltas[offset(g, i)..][..d.len()]);
    let choice = |g: usize, i: usize| choices[offset(g, i)];
    let (r1, r2, r3, r4) = tokio::join!(
        a.sender
            .send(&groups, delta, |g, i, s| sent0[offset(g, i)..][..s.len()]
                .copy_from_slice(s)),
        b.receiver
            .receive(&groups, choice, |g, i, s| recv1[offset(g, i)..][..s.len()]
                .copy_from_slice(s)),
        b.sender
            .send(&groups, delta, |g, i, s| sent1[offset(g, i)..][..s.len()]
                .copy_from_slice(s)),
        a.receiver
            .receive(&groups, choice, |g, i, s| recv0[offset(g, i)..][..s.len()]
                .copy_from_slice(s)),
    );
    for r in [r1, r2, r3, r4] {
        r.expect("COT");
    }
    for (sender, receiver) in [(0, 1), (1, 0)] {
        for (g, group) in groups.iter().enumerate() {
            for i in 0..group.count() {
                let c = u128::from(choices[offset(g, i)]);
                for (q, field) in group.fields().iter().enumerate() {
                    let at = offset(g, i) + q;
                    let m = modulus(*field);
                    let sum =
                        (u128::from(sent[sender][at]) + u128::from(received[receiver][at])) % m;
                    assert_eq!(
                        sum,
                        c * (u128::from(deltas[at]) % m) % m,
                        "group {g} COT {i} field {q}"
                    );
                    assert!(
                        u128::from(sent[sender][at]) < m && u128::from(received[receiver][at]) < m
                    );
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_and_modp_cross_products_reconstruct() {
    let ([mut a, mut b], _links) = pair().await;
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    for (entries, m) in [(1, 1), (37, 3), (300, 1), (20, 17)] {
        let x: Vec<u64> = (0..entries * m).map(|_| rng.random()).collect();
        let y: Vec<u64> = (0..entries).map(|_| rng.random()).collect();
        let (mut s0, mut s1) = (vec![0u64; entries * m], vec![0u64; entries * m]);
        let (r0, r1) = tokio::join!(
            gilboa::ring_send(
                &mut a.sender,
                entries,
                m,
                |e, col| col.copy_from_slice(&x[e * m..(e + 1) * m]),
                |e, s| s0[e * m..(e + 1) * m].copy_from_slice(s)
            ),
            gilboa::ring_receive(
                &mut b.receiver,
                entries,
                m,
                |e| y[e],
                |e, s| s1[e * m..(e + 1) * m].copy_from_slice(s)
            ),
        );
        r0.expect("send");
        r1.expect("receive");
        for e in 0..entries {
            for r in 0..m {
                assert_eq!(
                    s0[e * m + r].wrapping_add(s1[e * m + r]),
                    y[e].wrapping_mul(x[e * m + r])
                );
            }
        }

        for p in [67u64, 40961] {
            let x: Vec<u64> = (0..entries * m).map(|_| rng.random_range(0..p)).collect();
            let y: Vec<u64> = (0..entries).map(|_| rng.random_range(0..p)).collect();
            let (mut s0, mut s1) = (vec![0u64; entries * m], vec![0u64; entries * m]);
            let (r0, r1) = tokio::join!(
                gilboa::modp_send(
                    &mut b.sender,
                    p as u32,
                    entries,
                    m,
                    |e, col| col.copy_from_slice(&x[e * m..(e + 1) * m]),
                    |e, s| s0[e * m..(e + 1) * m].copy_from_slice(s)
                ),
                gilboa::modp_receive(
                    &mut a.receiver,
                    p as u32,
                    entries,
                    m,
                    |e| y[e],
                    |e, s| s1[e * m..(e + 1) * m].copy_from_slice(s)
                ),
            );
            r0.expect("send");
            r1.expect("receive");
            for e in 0..entries {
                for r in 0..m {
                    assert_eq!((s0[e * m + r] + s1[e * m + r]) % p, y[e] * x[e * m + r] % p);
                }
            }
        }
    }
}

/// The COT engine takes the random-OT outputs of a one- or two-field COT as they are
/// (`cot::expand`), which is sound only because CryProt hashes the IKNP rows into them: with
/// unhashed outputs `k0 XOR k1` would be the same `Delta` for every OT, and the corrections would
/// leak. This checks the property on the version in use, so an upgrade that dropped the hash
/// fails here instead of weakening the generators.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_ot_outputs_are_hashed_not_correlated() {
    use cryprot_ot::extension::{SemiHonestOtExtensionReceiver, SemiHonestOtExtensionSender};
    use cryprot_ot::{RotReceiver, RotSender, random_choices};

    let (mut l0, mut l1) = loopback_pair().await.expect("link");
    let mut sender = SemiHonestOtExtensionSender::new(l0.sub_connection());
    let mut receiver = SemiHonestOtExtensionReceiver::new(l1.sub_connection());
    let count = 4096;
    let choices = random_choices(count, &mut rand::rng());
    let (sent, received) = tokio::join!(sender.send(count), receiver.receive(&choices));
    let (sent, received) = (sent.expect("send"), received.expect("receive"));
    let mut xors: Vec<_> = sent.iter().map(|[k0, k1]| *k0 ^ *k1).collect();
    for (i, (keys, got)) in sent.iter().zip(&received).enumerate() {
        assert_eq!(keys[usize::from(bool::from(choices[i]))], *got, "OT {i}");
    }
    xors.sort_unstable_by_key(|x| x.as_bytes().to_vec());
    xors.dedup();
    assert_eq!(
        xors.len(),
        count,
        "k0 XOR k1 repeats: the outputs are not hashed"
    );
}
