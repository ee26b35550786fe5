//! `host:port` addresses resolved when they are used.
//!
//! Compose and Kubernetes name their services (`dyad-p0`, `dyad-worker-3.dyad-worker`) and
//! move them to new IP addresses when they restart, so an address given on the command line is
//! kept as written and looked up each time a connection is made (and again at every
//! reconnect), never once at start-up.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use crate::LinkError;

/// A `host:port`: an IPv4 address, a bracketed IPv6 address (`[::1]:7200`) or a DNS name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// The host, without brackets.
    host: String,
    port: u16,
}

impl Address {
    /// Looks the address up now: the first socket address it stands for, in the resolver's
    /// order.
    pub async fn resolve(&self) -> Result<SocketAddr, LinkError> {
        let unresolved = |detail: String| LinkError::Resolve {
            addr: self.to_string(),
            detail,
        };
        tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| unresolved(e.to_string()))?
            .next()
            .ok_or_else(|| unresolved("the name has no address".into()))
    }
}

/// Why a string is no `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a host:port address ({why})")]
pub struct AddressError {
    given: String,
    why: &'static str,
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Address, AddressError> {
        let bad = |why| AddressError {
            given: s.to_owned(),
            why,
        };
        let (host, port) = s.rsplit_once(':').ok_or_else(|| bad("no port"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| bad("the port is not a number from 0 to 65535"))?;
        let host = match host.strip_prefix('[') {
            Some(inner) => inner
                .strip_suffix(']')
                .filter(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
                .ok_or_else(|| bad("a bracketed host must be an IPv6 address"))?,
            None if host.contains(':') => {
                return Err(bad("write an IPv6 address in brackets, as [::1]:7200"));
            }
            None => host,
        };
        let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':');
        if host.is_empty() || host.len() > 253 || !host.chars().all(name_char) {
            return Err(bad("the host is not an IP address or a DNS name"));
        }
        Ok(Address {
            host: host.to_owned(),
            port,
        })
    }
}

impl From<SocketAddr> for Address {
    fn from(addr: SocketAddr) -> Address {
        Address {
            host: addr.ip().to_string(),
            port: addr.port(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host.contains(':') {
            true => write!(f, "[{}]:{}", self.host, self.port),
            false => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_print_as_written() {
        for text in [
            "127.0.0.1:7200",
            "[::1]:7200",
            "dyad-worker-3.dyad-worker:7200",
            "localhost:0",
        ] {
            let addr: Address = text.parse().expect(text);
            assert_eq!(addr.to_string(), text);
        }
        let v6: Address = "[::1]:9".parse().expect("v6");
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 9));
        let from: Address = SocketAddr::from(([10, 0, 0, 1], 5)).into();
        assert_eq!(from.to_string(), "10.0.0.1:5");
    }

    #[test]
    fn bad_addresses_are_refused_with_the_reason() {
        for (text, why) in [
            ("dyad-p0", "no port"),
            ("dyad-p0:port", "not a number"),
            ("dyad-p0:70000", "not a number"),
            (":7200", "not an IP address or a DNS name"),
            ("::1:7200", "in brackets"),
            ("[dyad]:7200", "IPv6"),
            ("a b:1", "not an IP address or a DNS name"),
        ] {
            let e = text.parse::<Address>().expect_err(text);
            assert!(e.to_string().contains(why), "{text}: {e}");
        }
    }

    #[tokio::test]
    async fn names_resolve_when_asked() {
        let local: Address = "localhost:7200".parse().expect("name");
        let found = local.resolve().await.expect("localhost resolves");
        assert!(found.ip().is_loopback() && found.port() == 7200, "{found}");
        let nowhere: Address = "no-such-host.invalid:1".parse().expect("name");
        let e = nowhere.resolve().await.expect_err("nothing there");
        assert!(e.to_string().contains("no-such-host.invalid:1"), "{e}");
    }
}
