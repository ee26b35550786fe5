//! Party certificates: generation, files, and the names the link verifies.
//!
//! Each party's certificate is self-signed and names the party (`dyad-p0`, `dyad-p1`). Trust
//! is not delegated to any CA: each side's trust store holds exactly the peer's certificate,
//! so only the holder of the peer's private key can complete the handshake.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{LinkError, PartyId};

/// The DNS name a party's certificate carries and the peer checks.
pub fn server_name(party: PartyId) -> String {
    format!("dyad-p{}", party.index())
}

/// A party's own certificate and private key, PEM-encoded.
#[derive(Clone)]
pub struct Identity {
    /// The party's self-signed certificate (PEM).
    pub cert_pem: String,
    /// The certificate's private key (PEM). Never leaves the party.
    pub key_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

/// The one certificate a party accepts from its peer (PEM).
#[derive(Debug, Clone)]
pub struct PeerPin {
    /// The peer's certificate (PEM).
    pub cert_pem: String,
}

/// Generates a fresh self-signed identity (ECDSA P-256) for `party`.
pub fn generate_identity(party: PartyId) -> Result<Identity, LinkError> {
    let certified = rcgen::generate_simple_self_signed(vec![server_name(party)])
        .map_err(|e| LinkError::Certificate(format!("cannot generate a certificate: {e}")))?;
    Ok(Identity {
        cert_pem: certified.cert.pem(),
        key_pem: certified.signing_key.serialize_pem(),
    })
}

fn cert_path(dir: &Path, party: PartyId) -> PathBuf {
    dir.join(format!("p{}.cert.pem", party.index()))
}

fn key_path(dir: &Path, party: PartyId) -> PathBuf {
    dir.join(format!("p{}.key.pem", party.index()))
}

fn read(path: &Path) -> Result<String, LinkError> {
    let text = fs::read_to_string(path)
        .map_err(|e| LinkError::Certificate(format!("cannot read {}: {e}", path.display())))?;
    if !text.contains("-----BEGIN") {
        return Err(LinkError::Certificate(format!(
            "{} is not a PEM file",
            path.display()
        )));
    }
    Ok(text)
}

impl Identity {
    /// Writes `p<i>.cert.pem` and `p<i>.key.pem` into `dir` (the key readable by its owner only).
    /// Returns the certificate's path, which is what the peer needs.
    pub fn save(&self, dir: &Path, party: PartyId) -> Result<PathBuf, LinkError> {
        let io = |path: &Path, e: std::io::Error| {
            LinkError::Certificate(format!("cannot write {}: {e}", path.display()))
        };
        fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let cert = cert_path(dir, party);
        fs::write(&cert, &self.cert_pem).map_err(|e| io(&cert, e))?;
        let key = key_path(dir, party);
        write_private(&key, &self.key_pem).map_err(|e| io(&key, e))?;
        Ok(cert)
    }

    /// Reads the identity `save` wrote for `party` in `dir`.
    pub fn load(dir: &Path, party: PartyId) -> Result<Identity, LinkError> {
        Ok(Identity {
            cert_pem: read(&cert_path(dir, party))?,
            key_pem: read(&key_path(dir, party))?,
        })
    }
}

impl PeerPin {
    /// Reads the certificate of `peer` from `dir` (as written by [`Identity::save`]).
    pub fn load(dir: &Path, peer: PartyId) -> Result<PeerPin, LinkError> {
        Ok(PeerPin {
            cert_pem: read(&cert_path(dir, peer))?,
        })
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    fs::write(path, text)
}
