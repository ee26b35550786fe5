//! Packing values of arbitrary widths into bytes, so each OT correction costs exactly the bits
//! it needs (a ring value multiplied by `2^t` needs only its low `64 - t` bits).

/// Appends values of 1 to 64 bits to a little-endian bit stream.
#[derive(Default)]
pub struct BitWriter {
    words: Vec<u64>,
    /// Bits used in the last word (0 when a new word is due).
    used: u32,
}

impl BitWriter {
    /// A writer with room for about `bits` bits.
    pub fn with_capacity(bits: usize) -> BitWriter {
        BitWriter {
            words: Vec::with_capacity(bits.div_ceil(64)),
            used: 0,
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
        if self.used == 0 {
            self.words.push(value);
        } else {
            let last = self.words.last_mut().expect("used > 0 means a word exists");
            *last |= value << self.used;
            let spill = self.used + width;
            if spill > 64 {
                self.words.push(value >> (64 - self.used));
            }
        }
        self.used = (self.used + width) % 64;
    }

    /// The bytes written (whole bytes; the last may be padded with zeros).
    pub fn into_bytes(self) -> Vec<u8> {
        let bits = if self.used == 0 {
            self.words.len() * 64
        } else {
            (self.words.len() - 1) * 64 + self.used as usize
        };
        let mut bytes: Vec<u8> = self.words.iter().flat_map(|w| w.to_le_bytes()).collect();
        bytes.truncate(bits.div_ceil(8));
        bytes
    }
}

/// Reads values written by [`BitWriter`].
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// Bit position.
    at: usize,
}

impl<'a> BitReader<'a> {
    /// Reads from `bytes`.
    pub fn new(bytes: &'a [u8]) -> BitReader<'a> {
        BitReader { bytes, at: 0 }
    }

    /// The next `width` bits, or `None` past the end.
    #[inline]
    pub fn pop(&mut self, width: u32) -> Option<u64> {
        let end = self.at + width as usize;
        if end > self.bytes.len() * 8 {
            return None;
        }
        // Read the (up to) 9 bytes covering the value.
        let first = self.at / 8;
        let shift = (self.at % 8) as u32;
        let mut window = [0u8; 16];
        let take = (self.bytes.len() - first).min(16);
        window[..take].copy_from_slice(&self.bytes[first..first + take]);
        let wide = u128::from_le_bytes(window) >> shift;
        self.at = end;
        let mask = if width == 64 {
            u64::MAX
        } else {
            (1 << width) - 1
        };
        Some(wide as u64 & mask)
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
