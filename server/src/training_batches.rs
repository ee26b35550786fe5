//! Examples as the training runner consumes them, in any backend's element type.

use ndarray::Array2;

/// Inputs (one flattened example per row) and one-hot labels, in some backend's element type:
/// reals, fixed-point plaintexts, or one server's shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Examples<E> {
    /// Inputs.
    pub x: Array2<E>,
    /// One-hot labels.
    pub y: Array2<E>,
}

impl<E> Examples<E> {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
