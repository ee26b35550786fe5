//! Boolean circuits, and the one Dyad garbles: `wrap(r0, r1, L)`.

/// A wire: garbler inputs first, then evaluator inputs, then gate outputs.
pub type Wire = usize;

/// A gate; its output is the next wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// `a XOR b` (free).
    Xor(Wire, Wire),
    /// `a AND b` (two ciphertexts).
    And(Wire, Wire),
    /// `NOT a` (free).
    Not(Wire),
}

/// A circuit over `garbler_inputs + evaluator_inputs` input wires.
#[derive(Debug, Clone)]
pub struct Circuit {
    /// Inputs held by the garbler.
    pub garbler_inputs: usize,
    /// Inputs held by the evaluator.
    pub evaluator_inputs: usize,
    /// Gates in topological order; gate `g` drives wire `inputs + g`.
    pub gates: Vec<Gate>,
    /// Output wires.
    pub outputs: Vec<Wire>,
}

impl Circuit {
    /// All input wires.
    pub fn inputs(&self) -> usize {
        self.garbler_inputs + self.evaluator_inputs
    }

    /// All wires.
    pub fn wires(&self) -> usize {
        self.inputs() + self.gates.len()
    }

    /// AND gates: what garbling costs.
    pub fn and_gates(&self) -> usize {
        self.gates
            .iter()
            .filter(|g| matches!(g, Gate::And(..)))
            .count()
    }

    /// Evaluates in the clear: the reference for the garbled evaluation.
    pub fn eval(&self, garbler: &[bool], evaluator: &[bool]) -> Vec<bool> {
        let mut w: Vec<bool> = garbler.iter().chain(evaluator).copied().collect();
        for gate in &self.gates {
            let v = match *gate {
                Gate::Xor(a, b) => w[a] ^ w[b],
                Gate::And(a, b) => w[a] & w[b],
                Gate::Not(a) => !w[a],
            };
            w.push(v);
        }
        self.outputs.iter().map(|&o| w[o]).collect()
    }

    /// `alpha = wrap(r0, r1, L)` from the top bits (PROTOCOLS.md):
    /// `alpha = (m0 AND m1) OR ((m0 XOR m1) AND NOT r_63)` with `r_63 = s_63 XOR c_63`.
    /// The two terms exclude each other, so the OR is an XOR: 2 AND gates.
    ///
    /// Garbler inputs: `m0 = MSB(r0)`, `s_63`. Evaluator inputs: `m1 = MSB(r1)`, `c_63`.
    pub fn wrap() -> Circuit {
        let (m0, s63, m1, c63) = (0, 1, 2, 3);
        let gates = vec![
            Gate::And(m0, m1),   // 4: m0 AND m1
            Gate::Xor(m0, m1),   // 5: m0 XOR m1
            Gate::Xor(s63, c63), // 6: r_63
            Gate::Not(6),        // 7: NOT r_63
            Gate::And(5, 7),     // 8: (m0 XOR m1) AND NOT r_63
            Gate::Xor(4, 8),     // 9: alpha
        ];
        Circuit {
            garbler_inputs: 2,
            evaluator_inputs: 2,
            gates,
            outputs: vec![9],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wrap circuit against the definition `wrap(u, v) = [u + v >= 2^64]`, on all 16
    /// combinations of its inputs, each realised by many pairs of 64-bit shares.
    #[test]
    fn the_wrap_circuit_is_right_on_all_16_input_combinations() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let circuit = Circuit::wrap();
        assert_eq!(circuit.and_gates(), 2);
        let mut seen = [0usize; 16];
        while seen.iter().any(|&n| n < 50) {
            let (r0, r1): (u64, u64) = (rng.random(), rng.random());
            let r = r0.wrapping_add(r1);
            let (m0, m1, r63) = (r0 >> 63 == 1, r1 >> 63 == 1, r >> 63 == 1);
            // Any split of r_63 into s_63 XOR c_63.
            let s63: bool = rng.random();
            let c63 = r63 ^ s63;
            let combo = usize::from(m0)
                | usize::from(s63) << 1
                | usize::from(m1) << 2
                | usize::from(c63) << 3;
            seen[combo] += 1;
            let alpha = circuit.eval(&[m0, s63], &[m1, c63])[0];
            assert_eq!(
                alpha,
                r0.overflowing_add(r1).1,
                "r0 = {r0:#x}, r1 = {r1:#x}"
            );
        }
    }
}
