//! Garbling between two parties over real loopback QUIC: outputs come out XOR-shared and
//! reconstruct to the plaintext value.

use dyad_link::loopback_pair;
use dyad_offline::cot::Cots;
use dyad_offline::garble::{Circuit, evaluate_batch, garble_batch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrap_circuit_garbled_between_two_parties_on_all_16_inputs() {
    let (mut l0, mut l1) = loopback_pair().await.expect("link");
    let (mut c0, mut c1) = tokio::try_join!(Cots::new(&mut l0), Cots::new(&mut l1)).expect("cots");
    let circuit = Circuit::wrap();
    // Every input combination, 40 times over, in one batch.
    let combos: Vec<[bool; 4]> = (0..16 * 40)
        .map(|i| [i & 1 != 0, i & 2 != 0, i & 4 != 0, i & 8 != 0])
        .collect();
    let garbler: Vec<bool> = combos.iter().flat_map(|c| [c[0], c[1]]).collect();
    let evaluator: Vec<bool> = combos.iter().flat_map(|c| [c[2], c[3]]).collect();
    let (s0, s1) = tokio::join!(
        garble_batch(&mut c0.sender, &circuit, &garbler),
        evaluate_batch(&mut c1.receiver, &circuit, &evaluator)
    );
    let (s0, s1) = (s0.expect("garbler"), s1.expect("evaluator"));
    assert_eq!(s0.len(), combos.len());
    let mut masks = [0usize; 2];
    for (i, c) in combos.iter().enumerate() {
        let alpha = circuit.eval(&[c[0], c[1]], &[c[2], c[3]])[0];
        assert_eq!(s0[i] ^ s1[i], alpha, "inputs {c:?}");
        masks[usize::from(s0[i])] += 1;
    }
    // The garbler's output mask is random, not constant.
    assert!(masks[0] > 200 && masks[1] > 200, "{masks:?}");
}
