//! Packing values of arbitrary widths into bytes, so each OT correction costs exactly the bits
//! it needs (a ring value multiplied by `2^t` needs only its low `64 - t` bits).

/// Appends values of 1 to 64 bits to a little-endian bit stream.
#[derive(Default)]
pub struct BitWriter {
    words: Vec<u64>,
    /// Bits not yet written out, in the low `pending_bits` bits.
    pending: u128,
    pending_bits: u32,
}

impl BitWriter {
    /// A writer with room for about `bits` bits.
    pub fn with_capacity(bits: usize) -> BitWriter {
        BitWriter {
            words: Vec::with_capacity(bits.div_ceil(64)),
            pending: 0,
            pending_bits: 0,
        }
    }

    /// Appends the low `width` bits of `value`.
    #[inline]
    pub fn push(&mut self, value: u64, width: u32) {
        debug_assert!((1..=64).contains(&width));
        let value = if width == 64 {
            value
        } else {
            value & ((1 << width) - 1)
        };
        self.pending |= u128::from(value) << self.pending_bits;
        self.pending_bits += width;
        if self.pending_bits >= 64 {
            self.words.push(self.pending as u64);
            self.pending >>= 64;
            self.pending_bits -= 64;
        }
    }

    /// The bytes written (whole bytes; the last may be padded with zeros).
    pub fn into_bytes(mut self) -> Vec<u8> {
        let bits = self.words.len() * 64 + self.pending_bits as usize;
        if self.pending_bits > 0 {
            self.words.push(self.pending as u64);
        }
        let mut bytes = if cfg!(target_endian = "little") {
            bytemuck::cast_slice::<u64, u8>(&self.words).to_vec()
        } else {
            self.words.iter().flat_map(|w| w.to_le_bytes()).collect()
        };
        bytes.truncate(bits.div_ceil(8));
        bytes
    }
}

/// Reads values written by [`BitWriter`].
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// Bytes consumed into `buffer`.
    at: usize,
    buffer: u128,
    buffered: u32,
}

impl<'a> BitReader<'a> {
    /// Reads from `bytes`.
    pub fn new(bytes: &'a [u8]) -> BitReader<'a> {
        BitReader {
            bytes,
            at: 0,
            buffer: 0,
            buffered: 0,
        }
    }

    /// The next `width` bits, or `None` past the end.
    #[inline]
    pub fn pop(&mut self, width: u32) -> Option<u64> {
        if self.buffered < width {
            self.refill();
            if self.buffered < width {
                return None;
            }
        }
        let mask = if width == 64 {
            u64::MAX
        } else {
            (1 << width) - 1
        };
        let value = self.buffer as u64 & mask;
        self.buffer >>= width;
        self.buffered -= width;
        Some(value)
    }

    /// Buffers 8 more bytes: a fixed-size load (a variable-length copy would be a library call
    /// per refill), or the tail. Kept out of [`BitReader::pop`] so that `pop` is small enough
    /// to inline into the readers' loops (as a call it cost some 55 instructions a residue).
    #[inline(never)]
    fn refill(&mut self) {
        let (word, take) = match self.bytes.get(self.at..self.at + 8) {
            Some(eight) => (u64::from_le_bytes(eight.try_into().expect("8 bytes")), 8),
            None => {
                let tail = &self.bytes[self.at..];
                let mut word = [0u8; 8];
                word[..tail.len()].copy_from_slice(tail);
                (u64::from_le_bytes(word), tail.len())
            }
        };
        self.at += take;
        self.buffer |= u128::from(word) << self.buffered;
        self.buffered += 8 * take as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn values_of_every_width_round_trip() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let values: Vec<(u64, u32)> = (0..5000)
            .map(|_| {
                let w = rng.random_range(1..=64);
                (rng.random::<u64>(), w)
            })
            .collect();
        let mut writer = BitWriter::default();
        for &(v, w) in &values {
            writer.push(v, w);
        }
        let bytes = writer.into_bytes();
        let total: u32 = values.iter().map(|v| v.1).sum();
        assert_eq!(bytes.len(), (total as usize).div_ceil(8));
        let mut reader = BitReader::new(&bytes);
        for &(v, w) in &values {
            let mask = if w == 64 { u64::MAX } else { (1 << w) - 1 };
            assert_eq!(reader.pop(w), Some(v & mask));
        }
        assert_eq!(reader.pop(8), None);
    }
}
