//! The server's files: model shares, dataset shares and checkpoints. Writes are atomic (a crash
//! leaves either the old version or the new one, never a torn mixture), and every failure says
//! which file and why, as a type.

use std::io::Write;
use std::path::{Path, PathBuf};

use dyad_online::bytes::Truncated;

/// A file that cannot be read, written, or is not what it should be.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file system refused.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done: "read", "write", "create", "list".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file's contents are not of the expected kind.
    #[error("{} is not {what}: {reason}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What it should have been: "a Dyad model file", "a dataset share", ...
        what: &'static str,
        /// What is wrong with it.
        #[source]
        reason: FormatError,
    },
}

impl FileError {
    /// An I/O failure of `action` on `path`.
    pub fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FileError {
        let path = path.to_owned();
        move |source| FileError::Io {
            action,
            path,
            source,
        }
    }

    /// A format failure of `path`, which should have been `what`.
    pub fn format(what: &'static str, path: &Path) -> impl FnOnce(FormatError) -> FileError {
        let path = path.to_owned();
        move |reason| FileError::Format { path, what, reason }
    }
}

/// What is wrong with a file's bytes.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// It starts with another kind of file's header.
    #[error("wrong header{hint}")]
    Header {
        /// Where such files come from, for the message (may be empty).
        hint: &'static str,
    },
    /// It ends early.
    #[error(transparent)]
    Truncated(#[from] Truncated),
    /// It goes on after its end.
    #[error("trailing bytes")]
    Trailing,
    /// It belongs to another job.
    #[error("it belongs to another job")]
    OtherJob,
    /// A field is out of range or inconsistent: which, and how.
    #[error("{0}")]
    Field(String),
    /// The network description it holds is malformed.
    #[error(transparent)]
    Network(#[from] dyad_online::ModelError),
    /// The parameters it holds are not its network's.
    #[error(transparent)]
    Params(#[from] dyad_online::ParamsFileError),
}

/// Reads a whole file.
pub fn read(path: &Path) -> Result<Vec<u8>, FileError> {
    std::fs::read(path).map_err(FileError::io("read", path))
}

/// Writes `bytes` to `path` by way of a synced temporary file renamed over it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(FileError::io("create", dir))?;
    let name = path
        .file_name()
        .ok_or_else(|| {
            FileError::io("write", path)(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a file name",
            ))
        })?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(FileError::io("write", path))
}
