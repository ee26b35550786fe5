//! The bit-exact wire form of residues (as many bits as their prime has: 31, or 17 for
//! `65537`) and of switched coefficients (`k` bits each). Readers check every value, so a malformed message is an error, never
//! an out-of-range residue.

use super::basis::Basis;
use super::rns::RnsPoly;
use crate::OfflineError;
use crate::bit_packing::{BitReader, BitWriter};

/// Bits a polynomial over the first `limbs` primes of `basis` takes.
pub fn poly_bits(basis: &Basis, limbs: usize) -> usize {
    (0..limbs)
        .map(|i| basis.residue_bits(i) as usize * basis.degree())
        .sum()
}

/// Appends every residue of `poly`.
pub fn put_poly(writer: &mut BitWriter, poly: &RnsPoly) {
    for i in 0..poly.limbs() {
        let bits = poly.basis().residue_bits(i);
        for &r in poly.limb(i) {
            writer.push(u64::from(r), bits);
        }
    }
}

/// Reads a polynomial over the first `limbs` primes of `basis`.
pub fn get_poly(
    reader: &mut BitReader,
    basis: &'static Basis,
    limbs: usize,
) -> Result<RnsPoly, OfflineError> {
    let degree = basis.degree();
    let mut residues = Vec::with_capacity(limbs * degree);
    for (i, &q) in basis.primes()[..limbs].iter().enumerate() {
        let bits = basis.residue_bits(i);
        for _ in 0..degree {
            let r = reader.pop(bits).ok_or_else(truncated)? as u32;
            if r >= q {
                return Err(OfflineError::Peer(format!(
                    "a residue {r} not below its prime {q}"
                )));
            }
            residues.push(r);
        }
    }
    Ok(RnsPoly::from_residues(basis, residues))
}

/// Appends a coefficient modulo `2^bits` (`bits <= 128`).
pub fn put_switched(writer: &mut BitWriter, value: u128, bits: u32) {
    writer.push(value as u64, bits.min(64));
    if bits > 64 {
        writer.push((value >> 64) as u64, bits - 64);
    }
}

/// Reads a coefficient modulo `2^bits`.
pub fn get_switched(reader: &mut BitReader, bits: u32) -> Result<u128, OfflineError> {
    let low = reader.pop(bits.min(64)).ok_or_else(truncated)?;
    let high = match bits > 64 {
        true => reader.pop(bits - 64).ok_or_else(truncated)?,
        false => 0,
    };
    Ok(u128::from(low) | (u128::from(high) << 64))
}

fn truncated() -> OfflineError {
    OfflineError::Peer("a homomorphic-encryption message ends early".into())
}
