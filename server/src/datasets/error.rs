//! Why a plaintext dataset or input file could not be used.

use std::path::PathBuf;

use dyad_vocabulary::fixed::EncodeError;

/// A dataset or input file that cannot be read, or is not data.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file system refused.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file starts like gzip but does not decompress.
    #[error("{what} is not valid gzip: {source}")]
    Gzip {
        /// The file, or "the bundled digits".
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not of the format expected.
    #[error("{what}: {reason}")]
    Format {
        /// The file and what it should have been ("x.csv is not MNIST CSV").
        what: String,
        /// What is wrong with it.
        #[source]
        reason: DataFormatError,
    },
    /// The split asks for more examples than there are.
    #[error("cannot take {train} training and {test} test examples from {available}")]
    Split {
        /// Training examples asked for.
        train: usize,
        /// Test examples asked for.
        test: usize,
        /// Examples in the dataset.
        available: usize,
    },
    /// A value cannot be encoded in fixed point within the operand limit.
    #[error("the {set}: example {example}, {what} {index}: {source}")]
    Encode {
        /// "training set" or "test set".
        set: &'static str,
        /// The example's row.
        example: usize,
        /// "value" or "label entry".
        what: &'static str,
        /// Its position in the row.
        index: usize,
        /// Why it cannot be encoded.
        #[source]
        source: EncodeError,
    },
}

/// What is wrong with a data file's bytes.
#[derive(Debug, thiserror::Error)]
pub enum DataFormatError {
    /// Text was expected.
    #[error("not text")]
    NotText(#[source] std::str::Utf8Error),
    /// A line of a CSV file is wrong.
    #[error("line {line}: {problem}")]
    Line {
        /// Its number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// The file holds no example.
    #[error("no examples")]
    Empty,
    /// An IDX file, a PNG or an image is malformed or of an unsupported kind: how.
    #[error("{0}")]
    Malformed(String),
    /// The PNG's compressed data does not decompress.
    #[error("the PNG image data is corrupt: {0}")]
    Deflate(#[source] std::io::Error),
}

impl DataFormatError {
    /// A malformed file, described.
    pub(crate) fn malformed(what: impl Into<String>) -> DataFormatError {
        DataFormatError::Malformed(what.into())
    }
}
