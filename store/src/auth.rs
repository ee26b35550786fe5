//! Access control, the service's side: every call carries the store's token
//! (`authorization: Bearer <token>`, added by `dyad_store_client::token::AddToken`). Only the
//! server's own processes (its offline workers and its runtime) are given the token.

use tonic::{Request, Status};

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
