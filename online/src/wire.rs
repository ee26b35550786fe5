//! Byte encodings of protocol messages: ring elements as 8 little-endian bytes, `Z_67`
//! elements as one byte each, bits packed eight to a byte. Decoding checks lengths and ranges,
//! so a corrupt or hostile message is an error, never a panic or a silently wrong value.

use crate::{Fp, ProtocolError, Z64};

/// Encodes ring elements.
pub fn ring_to_bytes(xs: &[Z64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(xs.len() * 8);
    for x in xs {
        out.extend_from_slice(&x.0.to_le_bytes());
    }
    out
}

/// Decodes exactly `n` ring elements.
pub fn ring_from_bytes(bytes: &[u8], n: usize) -> Result<Vec<Z64>, ProtocolError> {
    expect_len(bytes, n * 8, n, "ring elements")?;
    Ok(bytes
        .chunks_exact(8)
        .map(|c| Z64(u64::from_le_bytes(c.try_into().expect("8 bytes"))))
        .collect())
}

/// Encodes `Z_67` elements.
pub fn fp_to_bytes(xs: &[Fp]) -> Vec<u8> {
    xs.iter().map(|x| x.value()).collect()
}

/// Decodes exactly `n` `Z_67` elements.
pub fn fp_from_bytes(bytes: &[u8], n: usize) -> Result<Vec<Fp>, ProtocolError> {
    expect_len(bytes, n, n, "mod-67 elements")?;
    bytes
        .iter()
        .map(|&b| Fp::checked(b).ok_or_else(|| ProtocolError::Peer(format!("{b} is not below 67"))))
        .collect()
}

/// Packs bits (each 0 or 1) eight to a byte.
pub fn bits_to_bytes(bits: &[u8]) -> Vec<u8> {
    bits.chunks(8)
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0u8, |acc, (i, &b)| acc | ((b & 1) << i))
        })
        .collect()
}

/// Unpacks exactly `n` bits.
pub fn bits_from_bytes(bytes: &[u8], n: usize) -> Result<Vec<u8>, ProtocolError> {
    expect_len(bytes, n.div_ceil(8), n, "bits")?;
    Ok((0..n).map(|i| (bytes[i / 8] >> (i % 8)) & 1).collect())
}

fn expect_len(bytes: &[u8], len: usize, n: usize, what: &str) -> Result<(), ProtocolError> {
    match bytes.len() == len {
        true => Ok(()),
        false => Err(ProtocolError::Peer(format!(
            "expected {n} {what} ({len} bytes), got {} bytes",
            bytes.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_lengths() {
        let ring = [Z64(0), Z64(u64::MAX), Z64(12345)];
        assert_eq!(ring_from_bytes(&ring_to_bytes(&ring), 3).expect("ok"), ring);
        assert!(ring_from_bytes(&ring_to_bytes(&ring), 2).is_err());
        let fp = [Fp::new(0), Fp::new(66), Fp::new(5)];
        assert_eq!(fp_from_bytes(&fp_to_bytes(&fp), 3).expect("ok"), fp);
        assert!(fp_from_bytes(&[67], 1).is_err());
        let bits = [1, 0, 1, 1, 0, 0, 0, 1, 1];
        assert_eq!(bits_from_bytes(&bits_to_bytes(&bits), 9).expect("ok"), bits);
        assert!(bits_from_bytes(&[0], 9).is_err());
    }
}
