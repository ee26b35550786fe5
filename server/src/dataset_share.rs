//! A server's share of a dataset: what `dyad share` writes and a training job reads. The data
//! owner splits every fixed-point pixel and one-hot label into two uniformly random additive
//! shares; each file alone is uniformly random and says nothing about the data.
//!
//! Layout (little-endian): `DYADDAT1`, party (u8), f (u8), dataset id (16 bytes, the same in
//! both files), channels, height, width, classes (u32 each), training and test counts (u64
//! each), then the training inputs, training labels, test inputs and test labels as `u64`s,
//! row by row.

use std::path::Path;

use dyad_online::bytes::Reader;
use dyad_online::{FixedPoint, Z64};
use ndarray::Array2;

use crate::Examples;
use crate::files::{FileError, FormatError};

const MAGIC: &[u8; 8] = b"DYADDAT1";

/// One server's share of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetShare {
    /// Names the dataset: both servers' shares carry the same id.
    pub id: [u8; 16],
    /// Whose share this is.
    pub party: u8,
    /// Fixed-point fractional bits of the encoding.
    pub f: u32,
    /// One example's channels, height and width.
    pub shape: (usize, usize, usize),
    /// Number of classes.
    pub classes: usize,
    /// Training examples.
    pub train: Examples<Z64>,
    /// Test examples.
    pub test: Examples<Z64>,
}

impl DatasetShare {
    /// The dataset id as hex.
    pub fn id_hex(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Writes the file (atomically: a crash leaves the old file or the new one).
    pub fn write(&self, path: &Path) -> Result<(), FileError> {
        crate::files::write_atomically(path, &self.to_bytes())
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.push(self.party);
        out.push(self.f as u8);
        out.extend_from_slice(&self.id);
        let (c, h, w) = self.shape;
        for v in [c, h, w, self.classes] {
            out.extend_from_slice(&(v as u32).to_le_bytes());
        }
        for n in [self.train.len(), self.test.len()] {
            out.extend_from_slice(&(n as u64).to_le_bytes());
        }
        for a in [&self.train.x, &self.train.y, &self.test.x, &self.test.y] {
            out.extend(a.iter().flat_map(|v| v.0.to_le_bytes()));
        }
        out
    }

    /// Reads a file [`DatasetShare::write`] wrote.
    pub fn read(path: &Path) -> Result<DatasetShare, FileError> {
        let bytes = crate::files::read(path)?;
        Self::from_bytes(&bytes).map_err(FileError::format("a dataset share", path))
    }

    /// Reads a file's bytes; refuses anything but a dataset share.
    pub fn from_bytes(bytes: &[u8]) -> Result<DatasetShare, FormatError> {
        let mut r = Reader::new(bytes);
        if r.take(8)? != MAGIC {
            return Err(FormatError::Header {
                hint: " (expected a file from `dyad share`)",
            });
        }
        let party = r.u8()?;
        let f = u32::from(r.u8()?);
        if party > 1 {
            return Err(FormatError::Field(format!("party {party}")));
        }
        FixedPoint::new(f).ok_or_else(|| FormatError::Field(format!("fractional bits {f}")))?;
        let mut id = [0u8; 16];
        id.copy_from_slice(r.take(16)?);
        let [c, h, w, classes] = [(); 4].map(|_| r.u32().map(|v| v as usize));
        let (c, h, w, classes) = (c?, h?, w?, classes?);
        let (n_train, n_test) = (r.u64()? as usize, r.u64()? as usize);
        // Checked: the sizes come from the file (a crafted one overflowed `c * h * w`).
        let pixels = c
            .checked_mul(h)
            .and_then(|ch| ch.checked_mul(w))
            .ok_or_else(overflow)?;
        let mut matrix = |rows: usize, cols: usize| -> Result<Array2<Z64>, FormatError> {
            let values = r.u64s(rows.checked_mul(cols).ok_or_else(overflow)?)?;
            Array2::from_shape_vec((rows, cols), values.into_iter().map(Z64).collect())
                .map_err(|e| FormatError::Field(e.to_string()))
        };
        let train = Examples {
            x: matrix(n_train, pixels)?,
            y: matrix(n_train, classes)?,
        };
        let test = Examples {
            x: matrix(n_test, pixels)?,
            y: matrix(n_test, classes)?,
        };
        if !r.is_empty() {
            return Err(FormatError::Trailing);
        }
        Ok(DatasetShare {
            id,
            party,
            f,
            shape: (c, h, w),
            classes,
            train,
            test,
        })
    }
}

/// Sizes in a file whose product does not fit in memory's numbering.
fn overflow() -> FormatError {
    FormatError::Field("sizes overflow".into())
}
