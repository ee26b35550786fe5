//! Garbling and evaluating one circuit instance with half-gates.

use cryprot_core::Block;
use cryprot_core::aes_hash::FIXED_KEY_HASH;

use super::circuit::{Circuit, Gate};

/// `H(x, tweak)` for several labels at once.
fn hash(labels: &mut [Block], tweaks: &[u128]) {
    FIXED_KEY_HASH.tccr_hash_slice_mut(labels, |i| Block::from(tweaks[i]));
}

fn lsb(b: Block) -> bool {
    b.lsb()
}

fn select(bit: bool, b: Block) -> Block {
    if bit { b } else { Block::ZERO }
}

/// Garbles `circuit` given the zero labels of its inputs. Appends two ciphertexts per AND gate
/// to `tables` and returns the zero labels of all wires. `gate_id` numbers AND gates across a
/// batch so that no hash tweak repeats.
pub fn garble(
    circuit: &Circuit,
    delta: Block,
    input_zero: &[Block],
    gate_id: &mut u128,
    tables: &mut Vec<Block>,
) -> Vec<Block> {
    let mut zero: Vec<Block> = Vec::with_capacity(circuit.wires());
    zero.extend_from_slice(input_zero);
    for gate in &circuit.gates {
        let out = match *gate {
            Gate::Xor(a, b) => zero[a] ^ zero[b],
            Gate::Not(a) => zero[a] ^ delta,
            Gate::And(a, b) => {
                let (a0, b0) = (zero[a], zero[b]);
                let (pa, pb) = (lsb(a0), lsb(b0));
                let j = 2 * *gate_id;
                *gate_id += 1;
                let mut h = [a0, a0 ^ delta, b0, b0 ^ delta];
                hash(&mut h, &[j, j, j + 1, j + 1]);
                let [ha0, ha1, hb0, hb1] = h;
                // Generator half: a AND pb.
                let tg = ha0 ^ ha1 ^ select(pb, delta);
                let wg = ha0 ^ select(pa, tg);
                // Evaluator half: a AND (b XOR pb).
                let te = hb0 ^ hb1 ^ a0;
                let we = hb0 ^ select(pb, te ^ a0);
                tables.push(tg);
                tables.push(te);
                wg ^ we
            }
        };
        zero.push(out);
    }
    zero
}

/// Evaluates `circuit` on the active input labels with the ciphertexts starting at
/// `tables[*next]`; returns the active labels of the outputs.
pub fn evaluate(
    circuit: &Circuit,
    input: &[Block],
    gate_id: &mut u128,
    tables: &[Block],
    next: &mut usize,
) -> Vec<Block> {
    let mut w: Vec<Block> = Vec::with_capacity(circuit.wires());
    w.extend_from_slice(input);
    for gate in &circuit.gates {
        let out = match *gate {
            Gate::Xor(a, b) => w[a] ^ w[b],
            Gate::Not(a) => w[a],
            Gate::And(a, b) => {
                let (wa, wb) = (w[a], w[b]);
                let j = 2 * *gate_id;
                *gate_id += 1;
                let mut h = [wa, wb];
                hash(&mut h, &[j, j + 1]);
                let (tg, te) = (tables[*next], tables[*next + 1]);
                *next += 2;
                let wg = h[0] ^ select(lsb(wa), tg);
                let we = h[1] ^ select(lsb(wb), te ^ wa);
                wg ^ we
            }
        };
        w.push(out);
    }
    circuit.outputs.iter().map(|&o| w[o]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    fn random_block(rng: &mut impl rand::Rng) -> Block {
        Block::from(rng.random::<u128>())
    }

    /// A random circuit of XOR, AND and NOT gates.
    fn random_circuit(rng: &mut impl rand::Rng) -> Circuit {
        let (g, e) = (rng.random_range(1..6), rng.random_range(1..6));
        let mut gates = Vec::new();
        for i in 0..rng.random_range(1..60) {
            let wires = g + e + i;
            let (a, b) = (rng.random_range(0..wires), rng.random_range(0..wires));
            gates.push(match rng.random_range(0..3) {
                0 => Gate::Xor(a, b),
                1 => Gate::And(a, b),
                _ => Gate::Not(a),
            });
        }
        let wires = g + e + gates.len();
        let outputs = (0..5).map(|_| rng.random_range(0..wires)).collect();
        Circuit {
            garbler_inputs: g,
            evaluator_inputs: e,
            gates,
            outputs,
        }
    }

    #[test]
    fn garbled_evaluation_matches_plaintext_on_random_circuits() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
        for _ in 0..300 {
            let circuit = random_circuit(&mut rng);
            let delta = random_block(&mut rng) | Block::ONE;
            let zero: Vec<Block> = (0..circuit.inputs())
                .map(|_| random_block(&mut rng))
                .collect();
            let bits: Vec<bool> = (0..circuit.inputs()).map(|_| rng.random()).collect();
            let (mut gid, mut tables) = (7u128, Vec::new());
            let all_zero = garble(&circuit, delta, &zero, &mut gid, &mut tables);
            assert_eq!(tables.len(), 2 * circuit.and_gates());
            let active: Vec<Block> = zero
                .iter()
                .zip(&bits)
                .map(|(&z, &b)| z ^ select(b, delta))
                .collect();
            let (mut gid, mut next) = (7u128, 0);
            let out = evaluate(&circuit, &active, &mut gid, &tables, &mut next);
            let want = circuit.eval(
                &bits[..circuit.garbler_inputs],
                &bits[circuit.garbler_inputs..],
            );
            for ((label, &o), &bit) in out.iter().zip(&circuit.outputs).zip(&want) {
                // The active label is the zero label or the one label, as the plaintext says.
                assert_eq!(*label, all_zero[o] ^ select(bit, delta));
                assert_eq!(lsb(*label) ^ lsb(all_zero[o]), bit);
            }
        }
    }
}
