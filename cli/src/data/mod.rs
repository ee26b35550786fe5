//! Plaintext datasets, as a data owner holds them: MNIST in the IDX files it is distributed
//! in (plain or gzipped), or as CSV rows of 784 pixel values then the label; by default the
//! 5,000 real digits bundled with Dyad. Only `dyad share` and the plaintext reference read
//! these; the servers only ever see shares (see [`shares`]).

mod csv;
mod idx;
pub mod inputs;
pub mod png;
pub mod shares;

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use dyad_server::Examples;
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;

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

/// Where the data comes from, and how it splits into training and test examples.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// A CSV file (optionally gzipped): per line 784 pixel values 0..=255, then the label.
    /// Without `--data` or `--images`, the bundled 5,000 MNIST digits.
    #[arg(long, conflicts_with_all = ["images", "labels"])]
    pub data: Option<PathBuf>,
    /// An IDX image file (as MNIST is distributed, optionally gzipped); needs `--labels`.
    #[arg(long, requires = "labels")]
    pub images: Option<PathBuf>,
    /// The IDX label file matching `--images`.
    #[arg(long, requires = "images")]
    pub labels: Option<PathBuf>,
    /// Training examples: the first this many.
    #[arg(long, default_value_t = 4000)]
    pub train: usize,
    /// Test examples: the next this many.
    #[arg(long, default_value_t = 1000)]
    pub test: usize,
    /// The examples are shuffled with this seed before the split (the bundled digits come
    /// sorted by label), so the same seed gives the same split everywhere.
    #[arg(long, default_value_t = 1)]
    pub split_seed: u64,
}

impl DataArgs {
    /// Loads the dataset and splits it.
    pub fn load(&self) -> anyhow::Result<(Dataset, Dataset)> {
        let all = match (&self.data, &self.images, &self.labels) {
            (Some(csv), _, _) => csv::parse(&read(csv)?)
                .with_context(|| format!("{} is not MNIST CSV", csv.display()))?,
            (None, Some(images), Some(labels)) => idx::dataset(&read(images)?, &read(labels)?)
                .with_context(|| {
                    format!(
                        "{} and {} are not MNIST IDX files",
                        images.display(),
                        labels.display()
                    )
                })?,
            _ => bundled()?,
        };
        all.split(self.train, self.test, self.split_seed)
    }

    /// A short description for messages.
    pub fn describe(&self) -> String {
        let source = match (&self.data, &self.images) {
            (Some(p), _) | (None, Some(p)) => p.display().to_string(),
            _ => "the bundled MNIST digits".into(),
        };
        format!("{source} ({} training, {} test)", self.train, self.test)
    }
}

/// The bundled digits.
pub fn bundled() -> anyhow::Result<Dataset> {
    csv::parse(&gunzip(BUNDLED).context("the bundled digits")?).context("the bundled digits")
}

/// A file's bytes, decompressed if gzipped.
fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    match bytes.starts_with(&[0x1f, 0x8b]) {
        true => gunzip(&bytes).with_context(|| format!("{} is not valid gzip", path.display())),
        false => Ok(bytes),
    }
}

fn gunzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
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
    ) -> anyhow::Result<(Dataset, Dataset)> {
        let n = self.labels.len();
        if train == 0 || train + test > n {
            bail!("cannot take {train} training and {test} test examples from {n}");
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha20Rng::seed_from_u64(seed));
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
