//! `dyad probe URL`: asks a health endpoint (`--health` of `dyad store`, `offline`, `train`,
//! `serve` and `relay`) and exits 0 only on `200 OK`. Container health checks run a command
//! inside the container, and the image holds nothing but `dyad` (no shell, no curl), so the
//! binary brings its own client. Kubernetes probes the endpoints itself and needs none.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, bail};

#[derive(clap::Args)]
pub struct Args {
    /// `http://HOST:PORT/PATH`, e.g. `http://127.0.0.1:8080/readyz`.
    url: String,
    /// Seconds to wait for the connection and for the answer.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (authority, path) = split_url(&args.url)?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let addr = authority
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {authority}"))?
        .next()
        .with_context(|| format!("{authority} resolves to no address"))?;
    let mut socket = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("cannot connect to {authority}"))?;
    socket.set_read_timeout(Some(timeout))?;
    socket.set_write_timeout(Some(timeout))?;
    write!(
        socket,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    socket
        .read_to_end(&mut response)
        .with_context(|| format!("{authority} did not answer within {timeout:?}"))?;
    let response = String::from_utf8_lossy(&response);
    let (status, body) = parse(&response)?;
    println!("{status} {}", body.trim());
    match status {
        200 => Ok(()),
        _ => bail!("{} answered {status}", args.url),
    }
}

/// `("host:port", "/path")` of `http://host:port/path`.
fn split_url(url: &str) -> anyhow::Result<(&str, &str)> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("{url:?} is not an http:// URL"))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |at| rest.split_at(at));
    if !authority.contains(':') {
        bail!("{url:?} names no port");
    }
    Ok((authority, path))
}

/// The status code and body of an HTTP/1.x response.
fn parse(response: &str) -> anyhow::Result<(u16, &str)> {
    let status = response
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|code| code.parse().ok())
        .with_context(|| {
            format!(
                "not an HTTP response: {:?}",
                response.lines().next().unwrap_or("")
            )
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
