//! Access control: every call carries the store's token (`authorization: Bearer <token>`).
//! Only the server's own processes (its offline workers and its runtime) are given the token.

use std::fs;
use std::io::Write;
use std::path::Path;

use tonic::metadata::MetadataValue;
use tonic::{Request, Status};

/// Reads a token file (one line of hex).
pub fn read_token(path: &Path) -> Result<String, String> {
    let text = fs::read_to_string(path)
        .map_err(|e| format!("cannot read the store token {}: {e}", path.display()))?;
    let token = text.trim().to_owned();
    match token.len() >= 32 && token.chars().all(|c| c.is_ascii_hexdigit()) {
        true => Ok(token),
        false => Err(format!("{} does not hold a store token", path.display())),
    }
}

/// Reads the token file, creating it with a fresh random token (readable by its owner only)
/// if it does not exist yet.
pub fn read_or_create_token(path: &Path) -> Result<String, String> {
    if path.exists() {
        return read_token(path);
    }
    let bytes: [u8; 32] = rand::random();
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create the store token {}: {e}", path.display()))?;
    writeln!(file, "{token}").map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(token)
}

/// The server side: refuses calls without the token (UNAUTHENTICATED) or with another one
/// (PERMISSION_DENIED).
#[derive(Clone)]
pub struct CheckToken {
    expected: String,
}

impl CheckToken {
    /// Accepts calls carrying `token`.
    pub fn new(token: String) -> CheckToken {
        CheckToken { expected: token }
    }
}

impl tonic::service::Interceptor for CheckToken {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let presented = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                Status::unauthenticated(
                    "the stockpile needs `authorization: Bearer <token>` (the store's token file)",
                )
            })?;
        // Compare without an early exit, so timing does not tell how much matched.
        let same = presented.len() == self.expected.len()
            && presented
                .bytes()
                .zip(self.expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        match same {
            true => Ok(request),
            false => Err(Status::permission_denied("wrong stockpile token")),
        }
    }
}

/// The client side: adds the token to every call.
#[derive(Clone)]
pub struct AddToken {
    header: MetadataValue<tonic::metadata::Ascii>,
}

impl AddToken {
    /// Presents `token`.
    pub fn new(token: &str) -> Result<AddToken, String> {
        let header = format!("Bearer {token}")
            .parse()
            .map_err(|_| "the store token is not printable ASCII".to_string())?;
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
