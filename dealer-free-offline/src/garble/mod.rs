//! Semi-honest garbled circuits with half-gates (Zahur, Rosulek, Evans 2015): free XOR,
//! point-and-permute, two ciphertexts per AND gate, and the fixed-key AES hash of
//! `cryprot-core` (its tweakable circular correlation robust TMMO construction).
//!
//! The garbler (P0) holds a global offset `Delta` with least significant bit 1; every wire has
//! a label `W0` for 0 and `W1 = W0 XOR Delta` for 1, and the evaluator (P1) learns one of
//! them. The evaluator's input labels come from correlated OT (correlation `Delta`), so the
//! garbler never learns its inputs. Outputs stay XOR-shared: the evaluator keeps the colour
//! bit `lsb(W)` of each output label and the garbler the colour bit of `W0`, a random mask;
//! their XOR is the output, which neither party learns.

pub mod circuit;
mod halfgates;
mod protocol;

pub use circuit::{Circuit, Gate, Wire};
pub use protocol::{evaluate_batch, garble_batch};
