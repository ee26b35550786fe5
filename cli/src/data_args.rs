//! The options that choose a plaintext dataset and split it (`dyad share`, `train-plain`,
//! `predict`, `provision`); reading it is `dyad_server::datasets`.

use std::path::PathBuf;

use dyad_server::datasets::{Dataset, DatasetError, Source};

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
    /// Split the examples in the file's order, unshuffled: a file already in the order wanted
    /// (such as several owners' data one after another, to reproduce a job on their union).
    #[arg(long, conflicts_with = "split_seed")]
    pub in_order: bool,
}

impl DataArgs {
    /// The bundled digits split `train`/`test` with seed 1 (the demo's data).
    pub fn bundled(train: usize, test: usize) -> DataArgs {
        DataArgs {
            data: None,
            images: None,
            labels: None,
            train,
            test,
            split_seed: 1,
            in_order: false,
        }
    }

    /// Where the data comes from.
    pub fn source(&self) -> Source {
        match (&self.data, &self.images, &self.labels) {
            (Some(csv), _, _) => Source::Csv(csv.clone()),
            (None, Some(images), Some(labels)) => Source::Idx {
                images: images.clone(),
                labels: labels.clone(),
            },
            _ => Source::Bundled,
        }
    }

    /// Loads the dataset and splits it.
    pub fn load(&self) -> Result<(Dataset, Dataset), DatasetError> {
        let data = self.source().load()?;
        match self.in_order {
            true => data.split_in_order(self.train, self.test),
            false => data.split(self.train, self.test, self.split_seed),
        }
    }

    /// A short description for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} ({} training, {} test)",
            self.source(),
            self.train,
            self.test
        )
    }
}
