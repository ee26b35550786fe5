//! Asking a health endpoint, as `dyad probe` does for container health checks (the image holds
//! nothing but `dyad`: no shell, no curl, so the binary brings its own client).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// A probe that got no HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The URL is not `http://HOST:PORT/PATH`.
    #[error("{0:?} is not an http:// URL")]
    NotHttp(String),
    /// The URL names no port.
    #[error("{0:?} names no port")]
    NoPort(String),
    /// The host does not resolve.
    #[error("cannot resolve {authority}: {source}")]
    Resolve {
        /// `host:port`.
        authority: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The host resolves to nothing.
    #[error("{0} resolves to no address")]
    NoAddress(String),
    /// The connection failed or broke.
    #[error("{authority}: {source}")]
    Io {
        /// `host:port`.
        authority: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The answer is not HTTP.
    #[error("not an HTTP response: {0:?}")]
    NotHttpResponse(String),
}

/// Sends `GET` for `url` (`http://HOST:PORT/PATH`) and returns the status code and body,
/// waiting at most `timeout` for the connection and for the answer.
pub fn probe(url: &str, timeout: Duration) -> Result<(u16, String), ProbeError> {
    let (authority, path) = split_url(url)?;
    let io = |source| ProbeError::Io {
        authority: authority.to_owned(),
        source,
    };
    let addr = authority
        .to_socket_addrs()
        .map_err(|source| ProbeError::Resolve {
            authority: authority.to_owned(),
            source,
        })?
        .next()
        .ok_or_else(|| ProbeError::NoAddress(authority.to_owned()))?;
    let mut socket = TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
    socket.set_read_timeout(Some(timeout)).map_err(io)?;
    socket.set_write_timeout(Some(timeout)).map_err(io)?;
    write!(
        socket,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .map_err(io)?;
    let mut response = Vec::new();
    socket.read_to_end(&mut response).map_err(io)?;
    let response = String::from_utf8_lossy(&response);
    let (status, body) = parse(&response)?;
    Ok((status, body.to_owned()))
}

/// `("host:port", "/path")` of `http://host:port/path`.
fn split_url(url: &str) -> Result<(&str, &str), ProbeError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| ProbeError::NotHttp(url.to_owned()))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |at| rest.split_at(at));
    if !authority.contains(':') {
        return Err(ProbeError::NoPort(url.to_owned()));
    }
    Ok((authority, path))
}

/// The status code and body of an HTTP/1.x response.
fn parse(response: &str) -> Result<(u16, &str), ProbeError> {
    let status = response
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            ProbeError::NotHttpResponse(response.lines().next().unwrap_or("").to_owned())
        })?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::{parse, split_url};

    #[test]
    fn urls_split_into_authority_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/readyz").expect("valid"),
            ("127.0.0.1:8080", "/readyz")
        );
        assert_eq!(
            split_url("http://store:8080").expect("valid"),
            ("store:8080", "/")
        );
        assert!(split_url("https://store:8080/readyz").is_err());
        assert!(split_url("http://store/readyz").is_err());
    }

    #[test]
    fn statuses_and_bodies() {
        let (status, body) =
            parse("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 9\r\n\r\nno peer\n")
                .expect("valid");
        assert_eq!((status, body), (503, "no peer\n"));
        assert!(parse("SSH-2.0-OpenSSH").is_err());
    }
}
