//! A network named on a command line: one of the paper's (`net-a` .. `net-d`) by name, or a
//! model description file. Training, planning and the plaintext reference all take one.

use std::path::PathBuf;

use dyad_online::model::Network;

/// A `--model` that names no network.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// Neither a known name nor a readable file.
    #[error("{} is neither one of {:?} nor a readable model file: {source}", path.display(), Network::NAMES)]
    Unreadable {
        /// What was given.
        path: PathBuf,
        /// Why the file could not be read.
        #[source]
        source: std::io::Error,
    },
    /// A file that does not describe a network.
    #[error("{}: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, as the description parser says.
        #[source]
        reason: dyad_online::ModelError,
    },
}

/// The network `model` names: one of [`Network::NAMES`], else the description in the file of
/// that name.
pub fn load_network(model: &str) -> Result<Network, NetworkError> {
    if let Some(net) = Network::by_name(model) {
        return Ok(net);
    }
    let text = std::fs::read_to_string(model).map_err(|source| NetworkError::Unreadable {
        path: model.into(),
        source,
    })?;
    Network::parse(model, &text).map_err(|reason| NetworkError::Malformed {
        path: model.into(),
        reason,
    })
}
