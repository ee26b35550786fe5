//! A ciphertext `(c0, c1)` with `c0 + c1·s = Delta·m + noise`, and the plaintext products the
//! multiplying party accumulates.

use super::rns::RnsPoly;
use super::setting::Setting;

/// Both parts over all limbs, in one domain (NTT while multiplying, coefficients after).
#[derive(Clone, Debug)]
pub struct Ciphertext {
    /// The part that carries the message.
    pub c0: RnsPoly,
    /// The part the secret multiplies.
    pub c1: RnsPoly,
}

impl Ciphertext {
    /// The encryption of zero with no noise in `setting`: the start of a sum of products.
    pub fn zero(setting: &Setting) -> Ciphertext {
        let (basis, limbs) = (setting.basis(), setting.limbs());
        Ciphertext {
            c0: RnsPoly::zero(basis, limbs),
            c1: RnsPoly::zero(basis, limbs),
        }
    }

    /// `self += ct·plain` (NTT domain): the ciphertext of the sum of products.
    pub fn mul_accumulate(&mut self, ct: &Ciphertext, plain: &RnsPoly) {
        self.c0.mul_accumulate(&ct.c0, plain);
        self.c1.mul_accumulate(&ct.c1, plain);
    }
}
