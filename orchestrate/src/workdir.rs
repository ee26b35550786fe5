//! The working directory of a local pair: certificates, stockpiles, logs, model shares and
//! curves, made afresh on every run.

use std::path::{Path, PathBuf};

use crate::OrchestrateError;

/// Marks a directory as made here, so a rerun may clear it.
const MARKER: &str = ".dyad-demo";

/// Makes `dir` empty: creates it, or clears it if an earlier run made it (and refuses any
/// other existing directory, which may hold someone's files).
pub fn fresh_dir(dir: &Path) -> Result<PathBuf, OrchestrateError> {
    if dir.exists() {
        if !dir.join(MARKER).exists() {
            return Err(OrchestrateError::NotOurs(dir.to_owned()));
        }
        std::fs::remove_dir_all(dir).map_err(OrchestrateError::io("clear", dir))?;
    }
    std::fs::create_dir_all(dir).map_err(OrchestrateError::io("create", dir))?;
    let marker = dir.join(MARKER);
    std::fs::write(
        &marker,
        "made by dyad demo; a rerun replaces this directory\n",
    )
    .map_err(OrchestrateError::io("write", &marker))?;
    Ok(dir.to_path_buf())
}
