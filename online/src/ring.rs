//! `Z_L` with `L = 2^64`: the ring every arithmetic share lives in. [`Z64`] itself is in
//! `dyad-vocabulary` (the client encodes with it too); its matrix product is in
//! `dyad-randomness`, whose matrix-triple relation is that product.

pub use dyad_randomness::matmul;
pub use dyad_vocabulary::Z64;
