//! Reading little-endian records from the front of a byte slice, for the file and message
//! formats built on this crate (parameter files, dataset shares, checkpoints, announcements).
//! Running out is an error, never a panic.

use thiserror::Error;

/// The bytes ran out.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("truncated: {wanted} more bytes wanted, {left} left")]
pub struct Truncated {
    /// Bytes asked for.
    pub wanted: usize,
    /// Bytes there were.
    pub left: usize,
}

/// A cursor over a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads `bytes` from the start.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let (head, rest) = self.rest.split_at_checked(n).ok_or(Truncated {
            wanted: n,
            left: self.rest.len(),
        })?;
        self.rest = rest;
        Ok(head)
    }

    /// A byte.
    pub fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.take(1)?[0])
    }

    /// A `u32`.
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    /// A `u64`.
    pub fn u64(&mut self) -> Result<u64, Truncated> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    /// `n` `u64`s.
    pub fn u64s(&mut self, n: usize) -> Result<Vec<u64>, Truncated> {
        let bytes = self.take(n.checked_mul(8).ok_or(Truncated {
            wanted: usize::MAX,
            left: self.rest.len(),
        })?)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect())
    }

    /// A string written as its `u32` length and UTF-8 bytes; `None` inside if not UTF-8.
    pub fn string(&mut self) -> Result<Option<String>, Truncated> {
        let len = self.u32()? as usize;
        Ok(String::from_utf8(self.take(len)?.to_vec()).ok())
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

/// Appends `s` as [`Reader::string`] reads it.
pub fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_was_written_and_reports_running_out() {
        let mut bytes = vec![7u8];
        bytes.extend_from_slice(&5u32.to_le_bytes());
        bytes.extend_from_slice(&9u64.to_le_bytes());
        put_string(&mut bytes, "hé");
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8(), Ok(7));
        assert_eq!(r.u32(), Ok(5));
        assert_eq!(r.u64s(1), Ok(vec![9]));
        assert_eq!(r.string(), Ok(Some("hé".into())));
        assert!(r.is_empty());
        assert_eq!(r.u64(), Err(Truncated { wanted: 8, left: 0 }));
        assert!(Reader::new(&[1, 2]).u64s(usize::MAX).is_err());
    }
}
