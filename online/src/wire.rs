//! Byte encodings of protocol messages: ring elements as 8 little-endian bytes, `Z_p`
//! elements as one or two (see [`crate::Prime::bytes`]), bits packed eight to a byte. Decoding checks lengths and ranges,
//! so a corrupt or hostile message is an error, never a panic or a silently wrong value.

use crate::{Fp, Prime, ProtocolError, Z64};

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

/// Encodes `Z_p` elements (all of one field).
pub fn fp_to_bytes(xs: &[Fp]) -> Vec<u8> {
    match xs.first().map(|x| x.prime().bytes()) {
        Some(1) => xs.iter().map(|x| x.value() as u8).collect(),
        _ => xs
            .iter()
            .flat_map(|x| (x.value() as u16).to_le_bytes())
            .collect(),
    }
}

/// Decodes exactly `n` elements of `Z_prime`.
pub fn fp_from_bytes(bytes: &[u8], n: usize, prime: Prime) -> Result<Vec<Fp>, ProtocolError> {
    let width = prime.bytes();
    expect_len(bytes, n * width, n, "mod-p elements")?;
    let out_of_range = |v: u32| ProtocolError::Peer(format!("{v} is not below {prime}"));
    match width {
        1 => bytes
            .iter()
            .map(|&b| {
                prime
                    .checked(u32::from(b))
                    .ok_or_else(|| out_of_range(u32::from(b)))
            })
            .collect(),
        _ => bytes
            .chunks_exact(2)
            .map(|b| {
                let v = u32::from(u16::from_le_bytes([b[0], b[1]]));
                prime.checked(v).ok_or_else(|| out_of_range(v))
            })
            .collect(),
    }
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
        for prime in [Prime::P67, Prime::P40961] {
            let last = u64::from(prime.value()) - 1;
            let fp = [prime.element(0), prime.element(last), prime.element(5)];
            assert_eq!(fp_from_bytes(&fp_to_bytes(&fp), 3, prime).expect("ok"), fp);
        }
        assert!(fp_from_bytes(&[67], 1, Prime::P67).is_err());
        assert!(
            fp_from_bytes(&[0x01, 0xa0], 1, Prime::P40961).is_err(),
            "40961"
        );
        assert!(fp_from_bytes(&[0x01], 1, Prime::P40961).is_err(), "short");
        let bits = [1, 0, 1, 1, 0, 0, 0, 1, 1];
        assert_eq!(bits_from_bytes(&bits_to_bytes(&bits), 9).expect("ok"), bits);
        assert!(bits_from_bytes(&[0], 9).is_err());
    }
}
