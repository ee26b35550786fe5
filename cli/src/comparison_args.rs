//! The protocol choices both servers and the offline plan must agree on, declared once for
//! every command that takes them (`plan`, `train`, `train-plain`, `serve`, `provision`, `demo`).

use dyad_online::protocols::{CheckZeroVariant, Comparison, Exp};
use dyad_online::{Config, FixedPoint, Prime};

/// How comparisons and softmax are computed under MPC.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct ComparisonArgs {
    /// How the comparison finds `[r > x]`: `bits` (an AND tree over the mask's bits, 6 rounds,
    /// no prime), or a CheckZero over `Z_p`: `product` (leak-free, 8 rounds) or `paper`
    /// (Algorithm 4 as published; leaks). Both servers and the offline plan must agree.
    #[arg(long, default_value_t = CheckZeroVariant::default())]
    pub checkzero: CheckZeroVariant,
    /// The prime the comparison shares its mask bits in (the CheckZero variants only): 67 (one
    /// byte per element online) or 40961 (two bytes, but its mod-p triples are made thousands
    /// at a time by homomorphic encryption). Both servers and the offline plan must agree.
    #[arg(long, default_value_t = Prime::default())]
    pub prime: Prime,
    /// How softmax computes `e^x`: `squaring` ((1 + x/64)^64, one comparison per element,
    /// error below 0.006) or `segments` (the paper's 16 chords: 16 comparisons, error up to
    /// 0.05). Both servers and the offline plan must agree; serving computes no softmax and
    /// ignores it.
    #[arg(long, default_value_t = Exp::default())]
    pub exp: Exp,
}

impl ComparisonArgs {
    /// The comparison protocol chosen.
    pub fn comparison(&self) -> Comparison {
        Comparison {
            checkzero: self.checkzero,
            prime: self.prime,
        }
    }

    /// The online configuration with the fixed-point format `fixed`.
    pub fn config(&self, fixed: FixedPoint) -> Config {
        Config {
            fixed,
            checkzero: self.checkzero,
            prime: self.prime,
            exp: self.exp,
        }
    }
}
