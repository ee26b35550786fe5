//! Why a call to the stockpile failed, and whether trying again may help.

use tonic::{Code, Status};

use crate::token::TokenError;

/// A failed connection or call to a stockpile.
#[derive(Debug, thiserror::Error)]
pub enum StoreClientError {
    /// The address is malformed.
    #[error("{addr} is not a stockpile address: {source}")]
    Address {
        /// The address as given.
        addr: String,
        /// Why it is not one.
        #[source]
        source: tonic::transport::Error,
    },
    /// The token cannot be presented.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// No connection: the stockpile is down, restarting, or the name does not resolve yet.
    #[error("cannot reach the stockpile at {addr}: {source}")]
    Unreachable {
        /// The stockpile's address.
        addr: String,
        /// The transport's error.
        #[source]
        source: tonic::transport::Error,
    },
    /// The stockpile answered with something this client cannot use.
    #[error("the stockpile at {addr} answered with {what}")]
    BadReply {
        /// The stockpile's address.
        addr: String,
        /// What was wrong.
        what: &'static str,
    },
    /// A call failed: the stockpile refused it, or the connection broke during it.
    #[error("the stockpile at {addr}: {} ({:?})", status.message(), status.code())]
    Call {
        /// The stockpile's address.
        addr: String,
        /// The gRPC status.
        status: Status,
    },
}

impl StoreClientError {
    /// The gRPC status code of a failed call (`None` before any call was made).
    pub fn code(&self) -> Option<Code> {
        match self {
            StoreClientError::Call { status, .. } => Some(status.code()),
            _ => None,
        }
    }

    /// The stockpile's own message for a failed call, or the whole error otherwise.
    pub fn message(&self) -> String {
        match self {
            StoreClientError::Call { status, .. } => status.message().to_owned(),
            other => other.to_string(),
        }
    }

    /// The address of the stockpile concerned.
    pub fn addr(&self) -> &str {
        match self {
            StoreClientError::Address { addr, .. }
            | StoreClientError::Unreachable { addr, .. }
            | StoreClientError::BadReply { addr, .. }
            | StoreClientError::Call { addr, .. } => addr,
            StoreClientError::Token(_) => "",
        }
    }

    /// Whether the same call may succeed later: the stockpile could not be reached (down,
    /// restarting: `Unavailable`, or a broken connection: `Unknown`), or it lacked the items
    /// or the room (`ResourceExhausted`). Its other refusals (a wrong token, a malformed or
    /// conflicting request) would only recur.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreClientError::Unreachable { .. } => true,
            StoreClientError::Call { status, .. } => matches!(
                status.code(),
                Code::Unavailable | Code::ResourceExhausted | Code::Unknown
            ),
            StoreClientError::Address { .. }
            | StoreClientError::Token(_)
            | StoreClientError::BadReply { .. } => false,
        }
    }

    /// Whether the stockpile answered that it lacks the items (a Take) or the room (a Put).
    pub fn is_exhausted(&self) -> bool {
        self.code() == Some(Code::ResourceExhausted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(code: Code) -> StoreClientError {
        StoreClientError::Call {
            addr: "s:7100".into(),
            status: Status::new(code, "why"),
        }
    }

    #[test]
    fn only_unreachable_and_exhausted_stockpiles_are_worth_another_call() {
        for code in [Code::Unavailable, Code::ResourceExhausted, Code::Unknown] {
            assert!(call(code).is_retryable(), "{code:?}");
        }
        for code in [
            Code::InvalidArgument,
            Code::PermissionDenied,
            Code::Unauthenticated,
            Code::FailedPrecondition,
            Code::NotFound,
            Code::AlreadyExists,
            Code::Internal,
        ] {
            assert!(!call(code).is_retryable(), "{code:?}");
        }
        assert!(call(Code::ResourceExhausted).is_exhausted());
        assert!(!call(Code::Unavailable).is_exhausted());
        let error = call(Code::NotFound);
        assert_eq!((error.addr(), error.message().as_str()), ("s:7100", "why"));
        assert!(error.to_string().contains("s:7100"), "{error}");
    }
}
