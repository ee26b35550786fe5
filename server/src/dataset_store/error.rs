//! Why the dataset store refuses a call, as a type the service maps to a gRPC status.

use std::path::{Path, PathBuf};

use crate::files::{FileError, FormatError};

/// A refused or failed call on the dataset store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Not a name the store takes.
    #[error(
        "{0:?} is not a dataset name: 1 to {max} characters of [A-Za-z0-9_.-], not starting with a dot",
        max = super::MAX_NAME_CHARS
    )]
    BadName(String),
    /// A complete dataset already has the name.
    #[error("a dataset named {0:?} exists")]
    Exists(String),
    /// No dataset (or unfinished upload) has the name.
    #[error("there is no dataset named {0:?}")]
    NotFound(String),
    /// Another owner's dataset or upload.
    #[error("{0:?} is another owner's")]
    NotYours(String),
    /// A chunk that does not continue the upload where it stands.
    #[error(
        "the upload of {name:?} holds {held} bytes; a chunk came for offset {sent} (resume from {held})"
    )]
    Offset {
        /// The dataset.
        name: String,
        /// Bytes held.
        held: u64,
        /// Where the chunk (or the declared end) was.
        sent: u64,
    },
    /// An upload past [`super::MAX_SHARE_BYTES`].
    #[error("the upload of {0:?} passes the {gib} GiB limit of a dataset share", gib = super::MAX_SHARE_BYTES >> 30)]
    TooLarge(String),
    /// More bytes than the owner declared.
    #[error(
        "the upload of {name:?} holds {held} bytes, its last chunk says {declared}; it was discarded"
    )]
    Size {
        /// The dataset.
        name: String,
        /// Bytes held.
        held: u64,
        /// Bytes declared.
        declared: u64,
    },
    /// The file does not match its declared SHA-256.
    #[error("the upload of {0:?} does not match its SHA-256; it was discarded")]
    Digest(String),
    /// The file is not a dataset share.
    #[error("the upload of {name:?} is not a dataset share ({reason}); it was discarded")]
    NotAShare {
        /// The dataset.
        name: String,
        /// What is wrong with it.
        #[source]
        reason: FormatError,
    },
    /// The other server's share.
    #[error(
        "the upload of {name:?} is P{share}'s share and this is P{server}; it was discarded (send each server only its own share)"
    )]
    WrongParty {
        /// The dataset.
        name: String,
        /// Whose share it is.
        share: u8,
        /// This server.
        server: u8,
    },
    /// Datasets that do not make one training set.
    #[error("the datasets cannot be trained on together: {0}")]
    Union(String),
    /// A dataset's metadata does not read.
    #[error("{}: {reason}", path.display())]
    Meta {
        /// The metadata file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The file system refused.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A share file that does not read or write.
    #[error(transparent)]
    File(FileError),
}

impl StoreError {
    /// An I/O failure of `action` on `path`.
    pub fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.to_owned();
        move |source| StoreError::Io {
            action,
            path,
            source,
        }
    }

    /// Whether the disk is full (or over quota): the caller may resume once there is room.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::Io { source, .. }
            if matches!(source.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded))
    }
}
