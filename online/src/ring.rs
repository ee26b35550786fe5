//! `Z_L` with `L = 2^64`: the ring every arithmetic share lives in. [`Z64`] itself is in
//! `dyad-vocabulary` (the client encodes with it too); this adds the ring's matrix product.

mod matmul;

pub use dyad_vocabulary::Z64;
pub use matmul::matmul;
