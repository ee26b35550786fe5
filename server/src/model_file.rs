//! Model files: a network with its parameters, as one server's share (what training writes and
//! `dyad serve` loads) or in the clear (what `dyad reveal-model` reconstructs and `dyad import`
//! shares out). Both carry the network description, so a file alone says what it is.
//!
//! Layout (little-endian): `DYADMSH1` (a share) or `DYADMDL1` (plaintext), party (u8, 0 for
//! plaintext), fixed-point fractional bits (u8), the network in the text format of
//! `dyad_online::model` (u32 length, UTF-8), then the parameters (`Params::to_bytes`).

use std::path::Path;

use dyad_online::bytes::{Reader, put_string};
use dyad_online::model::Network;
use dyad_online::nn::Params;
use dyad_online::{FixedPoint, Z64};

use crate::files::{FileError, FormatError};

const SHARE: &[u8; 8] = b"DYADMSH1";
const PLAIN: &[u8; 8] = b"DYADMDL1";

/// Whose values a model file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// One server's additive share.
    Party(u8),
    /// The plaintext model (fixed point).
    Plain,
}

/// A network and its parameters (fixed-point shares or plaintexts).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    /// Whose values these are.
    pub holder: Holder,
    /// The encoding.
    pub fixed: FixedPoint,
    /// The network.
    pub network: Network,
    /// The parameters.
    pub params: Params<Z64>,
}

impl ModelFile {
    /// Writes the file atomically.
    pub fn write(&self, path: &Path) -> Result<(), FileError> {
        crate::files::write_atomically(path, &self.to_bytes())
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (magic, party) = match self.holder {
            Holder::Party(i) => (SHARE, i),
            Holder::Plain => (PLAIN, 0),
        };
        let mut out = magic.to_vec();
        out.push(party);
        out.push(self.fixed.f as u8);
        put_string(&mut out, &self.network.to_string());
        out.extend_from_slice(&self.params.to_bytes());
        out
    }

    /// Reads a model file.
    pub fn read(path: &Path) -> Result<ModelFile, FileError> {
        let bytes = crate::files::read(path)?;
        Self::from_bytes(&bytes).map_err(FileError::format("a Dyad model file", path))
    }

    /// Reads a file's bytes; refuses anything but a model file.
    pub fn from_bytes(bytes: &[u8]) -> Result<ModelFile, FormatError> {
        let mut r = Reader::new(bytes);
        let magic = r.take(8)?;
        let party = r.u8()?;
        let holder = match magic {
            m if m == SHARE && party <= 1 => Holder::Party(party),
            m if m == PLAIN => Holder::Plain,
            _ => return Err(FormatError::Header { hint: "" }),
        };
        let f = u32::from(r.u8()?);
        let fixed =
            FixedPoint::new(f).ok_or_else(|| FormatError::Field(format!("{f} fractional bits")))?;
        let text = r
            .string()?
            .ok_or_else(|| FormatError::Field("the network description is not UTF-8".into()))?;
        let name = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# "))
            .unwrap_or("model")
            .to_owned();
        let network = Network::parse(&name, &text)?;
        let params = Params::from_bytes(r.rest(), &network)?;
        Ok(ModelFile {
            holder,
            fixed,
            network,
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let network = Network::by_name("net-d").expect("known");
        let fixed = FixedPoint::default();
        let params = Params::initial(&network, 3, fixed).expect("params");
        let model = ModelFile {
            holder: Holder::Party(1),
            fixed,
            params: params.import(&dyad_online::nn::PlainFixed::new(fixed)),
            network,
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m");
        model.write(&path).expect("write");
        assert_eq!(ModelFile::read(&path).expect("read"), model);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes.truncate(bytes.len() - 3);
        std::fs::write(&path, &bytes).expect("write");
        assert!(ModelFile::read(&path).is_err());
        std::fs::write(&path, b"DYADMSH1\x05").expect("write");
        assert!(ModelFile::read(&path).is_err());
    }
}
