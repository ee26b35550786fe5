//! A network named on a command line: one of the paper's (`net-a` .. `net-d`) by name, a
//! model description file, a model file (a server's share or the plaintext, as `dyad import`
//! writes them) or an ONNX file (`.onnx`, as `dyad import --onnx` reads it). Training,
//! planning and the plaintext reference all take one, so a served model's stock can be
//! planned from the file its owner imported.

use std::path::PathBuf;

use dyad_online::model::Network;

use crate::model_file::ModelFile;

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
    /// A model file that does not read.
    #[error("{}: not a readable model file: {reason}", path.display())]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        reason: crate::files::FormatError,
    },
    /// An ONNX file Dyad does not import.
    #[error("{}: {reason}", path.display())]
    Onnx {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        reason: crate::onnx::ImportError,
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

/// The network `model` names: one of [`Network::NAMES`], else the network of the file of that
/// name (a model file by its header, an ONNX file by its `.onnx` name, else a description).
pub fn load_network(model: &str) -> Result<Network, NetworkError> {
    if let Some(net) = Network::by_name(model) {
        return Ok(net);
    }
    let bytes = std::fs::read(model).map_err(|source| NetworkError::Unreadable {
        path: model.into(),
        source,
    })?;
    if bytes.starts_with(b"DYADM") {
        return ModelFile::from_bytes(&bytes)
            .map(|file| file.network)
            .map_err(|reason| NetworkError::ModelFile {
                path: model.into(),
                reason,
            });
    }
    if model.ends_with(".onnx") {
        let name = std::path::Path::new(model)
            .file_stem()
            .map_or("model".into(), |s| s.to_string_lossy().into_owned());
        return crate::onnx::import(&bytes, &name, dyad_online::FixedPoint::default())
            .map(|(file, _)| file.network)
            .map_err(|reason| NetworkError::Onnx {
                path: model.into(),
                reason,
            });
    }
    let text = String::from_utf8_lossy(&bytes);
    Network::parse(model, &text).map_err(|reason| NetworkError::Malformed {
        path: model.into(),
        reason,
    })
}
