//! The stockpile's token: one line of hex in a file only the server's own processes read,
//! presented with every call (`authorization: Bearer <token>`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use tonic::metadata::{Ascii, MetadataValue};
use tonic::{Request, Status};

/// A token file that cannot be read, written or used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Reading the file failed.
    #[error("cannot read the store token {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file holds something else.
    #[error("{} does not hold a store token", path.display())]
    NotAToken {
        /// The file.
        path: PathBuf,
    },
    /// Creating or writing the file failed.
    #[error("cannot create the store token {}: {source}", path.display())]
    Create {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The token cannot travel in a header.
    #[error("the store token is not printable ASCII")]
    NotAscii,
}

/// Reads a token file (one line of at least 32 hex digits).
pub fn read_token(path: &Path) -> Result<String, TokenError> {
    let text = fs::read_to_string(path).map_err(|source| TokenError::Read {
        path: path.to_owned(),
        source,
    })?;
    let token = text.trim().to_owned();
    match token.len() >= 32 && token.chars().all(|c| c.is_ascii_hexdigit()) {
        true => Ok(token),
        false => Err(TokenError::NotAToken {
            path: path.to_owned(),
        }),
    }
}

/// Reads the token file, creating it with a fresh random token (readable by its owner only)
/// if it does not exist yet.
pub fn read_or_create_token(path: &Path) -> Result<String, TokenError> {
    if path.exists() {
        return read_token(path);
    }
    let bytes: [u8; 32] = rand::random();
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let create = |source| TokenError::Create {
        path: path.to_owned(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(create)?;
    writeln!(file, "{token}").map_err(create)?;
    Ok(token)
}

/// The client side: adds the token to every call.
#[derive(Clone)]
pub struct AddToken {
    header: MetadataValue<Ascii>,
}

impl AddToken {
    /// Presents `token`.
    pub fn new(token: &str) -> Result<AddToken, TokenError> {
        let header = format!("Bearer {token}")
            .parse()
            .map_err(|_| TokenError::NotAscii)?;
        Ok(AddToken { header })
    }
}

impl tonic::service::Interceptor for AddToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.header.clone());
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_made_once_kept_private_and_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("token");
        let made = read_or_create_token(&path).expect("made");
        assert_eq!(made.len(), 64);
        assert_eq!(read_or_create_token(&path).expect("kept"), made);
        assert_eq!(read_token(&path).expect("read"), made);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::write(&path, "not hex\n").expect("spoil");
        assert!(matches!(
            read_token(&path),
            Err(TokenError::NotAToken { .. })
        ));
        let missing = dir.path().join("missing");
        assert!(matches!(read_token(&missing), Err(TokenError::Read { .. })));
        assert!(matches!(AddToken::new("a\nb"), Err(TokenError::NotAscii)));
    }
}
