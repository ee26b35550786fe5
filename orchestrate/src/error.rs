//! Why starting, watching or stopping the processes failed.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use dyad_server::endpoints::ScrapeError;

/// What went wrong with the pair's processes or their working directory.
#[derive(Debug, thiserror::Error)]
pub enum OrchestrateError {
    /// The file system refused.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done: "create", "clear", "open", "write".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The working directory exists and is not one this crate made.
    #[error("{} exists and was not made by `dyad demo`; choose another --dir", .0.display())]
    NotOurs(PathBuf),
    /// A process could not be started.
    #[error("cannot start the {name}: {source}")]
    Spawn {
        /// The process.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A process's state could not be read.
    #[error("cannot check on the {name}: {source}")]
    Wait {
        /// The process.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A process exited while it was still needed.
    #[error("the {name} exited early ({status}); see {}:\n{tail}", log.display())]
    ExitedEarly {
        /// The process.
        name: String,
        /// How it exited.
        status: ExitStatus,
        /// Its log.
        log: PathBuf,
        /// The log's last lines.
        tail: String,
    },
    /// A process that was to finish exited unsuccessfully.
    #[error("the {name} failed ({status}); see {}:\n{tail}", log.display())]
    Failed {
        /// The process.
        name: String,
        /// How it exited.
        status: ExitStatus,
        /// Its log.
        log: PathBuf,
        /// The log's last lines.
        tail: String,
    },
    /// A process did not stop when asked and was killed.
    #[error("the {name} did not stop within {grace:?} and was killed")]
    Killed {
        /// The process.
        name: String,
        /// How long it was given.
        grace: Duration,
    },
    /// A stockpile did not answer in time.
    #[error("the stockpile on {0} did not come up")]
    StoreNotUp(String),
    /// A server did not say it was serving in time.
    #[error("a server did not start serving within 2 minutes; see {}", .0.display())]
    NotServing(PathBuf),
    /// No free loopback port could be found.
    #[error("cannot pick a free loopback port: {0}")]
    Ports(#[source] std::io::Error),
    /// A path given to a process is not UTF-8 (the flags are text).
    #[error("a non-UTF-8 path: {}", .0.display())]
    NonUtf8Path(PathBuf),
    /// An offline worker's metrics could not be read.
    #[error("cannot read an offline worker's metrics: {0}")]
    Scrape(#[from] ScrapeError),
}

impl OrchestrateError {
    /// An I/O failure of `action` on `path`.
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> OrchestrateError {
        let path = path.to_owned();
        move |source| OrchestrateError::Io {
            action,
            path,
            source,
        }
    }
}
