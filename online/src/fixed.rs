//! Fixed-point encoding; the format lives in `dyad-vocabulary`, shared with the client.

pub use dyad_vocabulary::fixed::*;
