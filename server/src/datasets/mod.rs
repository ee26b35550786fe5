//! Plaintext datasets, as a data owner holds them: MNIST in the IDX files it is distributed
//! in (plain or gzipped), or as CSV rows of 784 pixel values then the label; by default the
//! 5,000 real digits bundled with Dyad; and a client's inputs ([`inputs`]: PNG, IDX, CSV).
//! The data owner's side (`dyad share`, a future upload) and the plaintext reference read
//! these; the servers only ever see shares (see [`shares`]).

mod csv;
mod error;
mod idx;
pub mod inputs;
pub mod png;
pub mod shares;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::Examples;
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;

pub use error::{DataFormatError, DatasetError};

/// 5,000 MNIST digits (784 pixels 0..=255, then the label, per line), gzipped.
const BUNDLED: &[u8] = include_bytes!("../../../data/mnist_5k.csv.gz");

/// Images with their labels.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// One image per row, pixels scaled to `[0, 1]`.
    pub images: Array2<f64>,
    /// The class of each image.
    pub labels: Vec<u8>,
    /// One image's channels, height and width.
    pub shape: (usize, usize, usize),
    /// Number of classes.
    pub classes: usize,
}

/// Where a dataset comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The 5,000 MNIST digits bundled with Dyad.
    Bundled,
    /// A CSV file (optionally gzipped): per line 784 pixel values 0..=255, then the label.
    Csv(PathBuf),
    /// An IDX image file and its label file (as MNIST is distributed, optionally gzipped).
    Idx {
        /// The images.
        images: PathBuf,
        /// Their labels.
        labels: PathBuf,
    },
}

impl Source {
    /// Reads the whole dataset.
    pub fn load(&self) -> Result<Dataset, DatasetError> {
        match self {
            Source::Bundled => bundled(),
            Source::Csv(csv) => csv::parse(&read(csv)?).map_err(|reason| DatasetError::Format {
                what: format!("{} is not MNIST CSV", csv.display()),
                reason,
            }),
            Source::Idx { images, labels } => {
                idx::dataset(&read(images)?, &read(labels)?).map_err(|reason| {
                    DatasetError::Format {
                        what: format!(
                            "{} and {} are not MNIST IDX files",
                            images.display(),
                            labels.display()
                        ),
                        reason,
                    }
                })
            }
        }
    }
}

impl std::fmt::Display for Source {
    /// The source for messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Bundled => write!(f, "the bundled MNIST digits"),
            Source::Csv(p) | Source::Idx { images: p, .. } => write!(f, "{}", p.display()),
        }
    }
}

/// The bundled digits.
pub fn bundled() -> Result<Dataset, DatasetError> {
    let what = "the bundled digits";
    let bytes = gunzip(BUNDLED).map_err(|source| DatasetError::Gzip {
        what: what.into(),
        source,
    })?;
    csv::parse(&bytes).map_err(|reason| DatasetError::Format {
        what: what.into(),
        reason,
    })
}

/// A file's bytes, decompressed if gzipped.
fn read(path: &Path) -> Result<Vec<u8>, DatasetError> {
    let bytes = std::fs::read(path).map_err(|source| DatasetError::Io {
        path: path.to_owned(),
        source,
    })?;
    match bytes.starts_with(&[0x1f, 0x8b]) {
        true => gunzip(&bytes).map_err(|source| DatasetError::Gzip {
            what: path.display().to_string(),
            source,
        }),
        false => Ok(bytes),
    }
}

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

impl Dataset {
    /// `train` training and `test` test examples, disjoint, drawn in an order shuffled by
    /// `seed`.
    pub fn split(
        &self,
        train: usize,
        test: usize,
        seed: u64,
    ) -> Result<(Dataset, Dataset), DatasetError> {
        let mut order: Vec<usize> = (0..self.labels.len()).collect();
        order.shuffle(&mut ChaCha20Rng::seed_from_u64(seed));
        self.split_as(&order, train, test)
    }

    /// The first `train` examples for training and the next `test` for testing, in the order
    /// they come.
    pub fn split_in_order(
        &self,
        train: usize,
        test: usize,
    ) -> Result<(Dataset, Dataset), DatasetError> {
        let order: Vec<usize> = (0..self.labels.len()).collect();
        self.split_as(&order, train, test)
    }

    fn split_as(
        &self,
        order: &[usize],
        train: usize,
        test: usize,
    ) -> Result<(Dataset, Dataset), DatasetError> {
        let n = order.len();
        if train == 0 || train.saturating_add(test) > n {
            return Err(DatasetError::Split {
                train,
                test,
                available: n,
            });
        }
        Ok((
            self.rows(&order[..train]),
            self.rows(&order[train..train + test]),
        ))
    }

    fn rows(&self, rows: &[usize]) -> Dataset {
        Dataset {
            images: self.images.select(Axis(0), rows),
            labels: rows.iter().map(|&i| self.labels[i]).collect(),
            ..*self
        }
    }

    /// Examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether it holds no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Its pixels and one-hot labels, as the training runner takes them.
    pub fn examples(&self) -> Examples<f64> {
        Examples {
            x: self.images.clone(),
            y: self.onehot(),
        }
    }

    /// The labels one-hot, one row per example.
    pub fn onehot(&self) -> Array2<f64> {
        let mut y = Array2::zeros((self.len(), self.classes));
        for (mut row, &label) in y.rows_mut().into_iter().zip(&self.labels) {
            row[usize::from(label)] = 1.0;
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_digits_split_into_disjoint_mixed_sets() {
        let all = bundled().expect("bundled");
        assert_eq!((all.len(), all.images.ncols()), (5000, 784));
        let (train, test) = all.split(4000, 1000, 1).expect("split");
        assert_eq!((train.len(), test.len()), (4000, 1000));
        // Every class in both (the file itself is sorted by label).
        for set in [&train, &test] {
            for class in 0..10 {
                assert!(set.labels.iter().filter(|&&l| l == class).count() > 50);
            }
        }
        let same = all.split(4000, 1000, 1).expect("split");
        assert_eq!(same.1.labels, test.labels);
        assert!(all.split(4001, 1000, 1).is_err());
        assert_eq!(train.onehot().sum(), 4000.0);
    }
}
