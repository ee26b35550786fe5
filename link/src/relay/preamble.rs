//! The route preamble: the one datagram a dialling party sends the relay, from the UDP socket
//! its QUIC client then uses, to say which route its flow takes; and the relay's answer.
//!
//! Both start with a zero byte, which no QUIC packet does (every QUIC header sets the fixed
//! bit, `0x40`, of its first byte), so the relay tells a preamble from a flow's traffic by its
//! first bytes, and a late answer that reaches the QUIC client is dropped there as garbage.
//!
//! ```text
//! request (exactly 128 bytes): MAGIC | 1 | nonce (8) | name length (1) | name | zeros
//! answer  (at most 85 bytes):  MAGIC | 2 | nonce (8) | status (1) | detail length (1) | detail
//! ```
//!
//! The answer is never larger than the request, so the relay cannot be used to amplify a
//! flood sent from a forged source address; the nonce lets the dialler ignore answers that are
//! not to its own request.

use std::fmt;
use std::str::FromStr;

/// The first bytes of every preamble and answer (a zero byte first: see the module doc).
pub const MAGIC: &[u8; 10] = b"\0DYAD-RT/1";
/// The size of every request.
pub const REQUEST_BYTES: usize = 128;
/// The longest route name.
pub const MAX_ROUTE_NAME: usize = 100;
/// The longest detail in an answer.
pub const MAX_DETAIL: usize = 64;

const REQUEST: u8 = 1;
const ANSWER: u8 = 2;
const NAME_AT: usize = MAGIC.len() + 1 + 8 + 1;

/// The name of a route: 1 to 100 ASCII letters, digits and `-`, `_`, `.`, `/` (for example
/// `offline/3`, `train`, `serve`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteName(String);

impl RouteName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `c` may appear in a route name.
    pub(super) fn allowed(c: char) -> bool {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')
    }
}

/// A string that is no route name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is no route name: 1 to {MAX_ROUTE_NAME} ASCII letters, digits and - _ . /")]
pub struct RouteNameError(pub String);

impl FromStr for RouteName {
    type Err = RouteNameError;

    fn from_str(s: &str) -> Result<RouteName, RouteNameError> {
        match !s.is_empty() && s.len() <= MAX_ROUTE_NAME && s.chars().all(RouteName::allowed) {
            true => Ok(RouteName(s.to_owned())),
            false => Err(RouteNameError(s.to_owned())),
        }
    }
}

impl fmt::Display for RouteName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A dialler's request for a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Echoed in the answer.
    pub nonce: [u8; 8],
    /// The route asked for.
    pub route: RouteName,
}

/// Why bytes are not a request or an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreambleError {
    /// They do not start with [`MAGIC`] and the expected type.
    #[error("not a route preamble")]
    NotPreamble,
    /// A request of the wrong size.
    #[error("a route request of {0} bytes, not {REQUEST_BYTES}")]
    Size(usize),
    /// A malformed name, length or padding.
    #[error("a malformed route preamble: {0}")]
    Malformed(String),
}

/// Whether a datagram is a preamble or an answer (rather than QUIC): its first bytes are
/// [`MAGIC`].
pub fn is_preamble(datagram: &[u8]) -> bool {
    datagram.starts_with(MAGIC)
}

impl Request {
    /// The request's datagram.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(REQUEST_BYTES);
        out.extend_from_slice(MAGIC);
        out.push(REQUEST);
        out.extend_from_slice(&self.nonce);
        let name = self.route.as_str().as_bytes();
        // A RouteName is at most MAX_ROUTE_NAME (< 256) bytes.
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        out.resize(REQUEST_BYTES, 0);
        out
    }

    /// Reads a request: exactly [`REQUEST_BYTES`], a valid name, zeros after it.
    pub fn parse(datagram: &[u8]) -> Result<Request, PreambleError> {
        let nonce = header(datagram, REQUEST)?;
        if datagram.len() != REQUEST_BYTES {
            return Err(PreambleError::Size(datagram.len()));
        }
        let malformed = |m: &str| PreambleError::Malformed(m.to_owned());
        let len = usize::from(datagram[NAME_AT - 1]);
        if len == 0 || len > MAX_ROUTE_NAME {
            return Err(malformed("the name's length is out of range"));
        }
        let name = &datagram[NAME_AT..NAME_AT + len];
        if datagram[NAME_AT + len..].iter().any(|&b| b != 0) {
            return Err(malformed("bytes after the name"));
        }
        let route = std::str::from_utf8(name)
            .map_err(|_| malformed("the name is not text"))?
            .parse()
            .map_err(|e: RouteNameError| PreambleError::Malformed(e.to_string()))?;
        Ok(Request { nonce, route })
    }
}

/// The relay's verdict on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The flow is open: send QUIC.
    Open,
    /// The relay has no such route: final.
    UnknownRoute,
    /// The route exists but cannot be opened now (its target does not resolve yet, the relay
    /// is at its limit of flows): try again.
    Unavailable(String),
}

/// The relay's answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The request's nonce.
    pub nonce: [u8; 8],
    /// The verdict.
    pub status: Status,
}

impl Answer {
    /// The answer's datagram (a longer detail is cut at [`MAX_DETAIL`] bytes, on a character
    /// boundary).
    pub fn encode(&self) -> Vec<u8> {
        let (code, detail) = match &self.status {
            Status::Open => (0, ""),
            Status::UnknownRoute => (1, ""),
            Status::Unavailable(detail) => (2, detail.as_str()),
        };
        let mut end = detail.len().min(MAX_DETAIL);
        while !detail.is_char_boundary(end) {
            end -= 1;
        }
        let mut out = Vec::with_capacity(MAGIC.len() + 11 + end);
        out.extend_from_slice(MAGIC);
        out.push(ANSWER);
        out.extend_from_slice(&self.nonce);
        out.push(code);
        out.push(end as u8);
        out.extend_from_slice(&detail.as_bytes()[..end]);
        out
    }

    /// Reads an answer.
    pub fn parse(datagram: &[u8]) -> Result<Answer, PreambleError> {
        let nonce = header(datagram, ANSWER)?;
        let malformed = |m: &str| PreambleError::Malformed(m.to_owned());
        let rest = &datagram[NAME_AT - 1..];
        let (&code, rest) = rest.split_first().ok_or_else(|| malformed("no status"))?;
        let (&len, detail) = rest.split_first().ok_or_else(|| malformed("no detail"))?;
        if usize::from(len) != detail.len() || detail.len() > MAX_DETAIL {
            return Err(malformed("the detail's length does not match"));
        }
        let detail =
            std::str::from_utf8(detail).map_err(|_| malformed("the detail is not text"))?;
        let status = match (code, detail.is_empty()) {
            (0, true) => Status::Open,
            (1, true) => Status::UnknownRoute,
            (2, _) => Status::Unavailable(detail.to_owned()),
            _ => return Err(malformed("an unknown status")),
        };
        Ok(Answer { nonce, status })
    }
}

/// Checks the magic and the type; returns the nonce.
fn header(datagram: &[u8], kind: u8) -> Result<[u8; 8], PreambleError> {
    if !is_preamble(datagram) || datagram.get(MAGIC.len()) != Some(&kind) {
        return Err(PreambleError::NotPreamble);
    }
    datagram
        .get(MAGIC.len() + 1..MAGIC.len() + 9)
        .and_then(|n| n.try_into().ok())
        .ok_or(PreambleError::Malformed("no nonce".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str) -> Request {
        Request {
            nonce: [1, 2, 3, 4, 5, 6, 7, 8],
            route: name.parse().expect("a name"),
        }
    }

    #[test]
    fn requests_and_answers_round_trip() {
        for name in ["offline/3", "train", "a", &"x".repeat(MAX_ROUTE_NAME)] {
            let r = request(name);
            let bytes = r.encode();
            assert_eq!(bytes.len(), REQUEST_BYTES);
            assert!(is_preamble(&bytes));
            assert_eq!(Request::parse(&bytes), Ok(r));
        }
        for status in [
            Status::Open,
            Status::UnknownRoute,
            Status::Unavailable("its target does not resolve yet".into()),
        ] {
            let a = Answer {
                nonce: [9; 8],
                status,
            };
            let bytes = a.encode();
            assert!(bytes.len() < REQUEST_BYTES, "no amplification");
            assert_eq!(Answer::parse(&bytes), Ok(a));
        }
    }

    #[test]
    fn a_long_detail_is_cut_on_a_character_boundary() {
        let a = Answer {
            nonce: [0; 8],
            status: Status::Unavailable("é".repeat(MAX_DETAIL)),
        };
        match Answer::parse(&a.encode()).expect("parses").status {
            Status::Unavailable(d) => assert_eq!(d, "é".repeat(MAX_DETAIL / 2)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_requests_are_refused_with_the_reason() {
        let good = request("offline/1").encode();
        let mut trailing = good.clone();
        trailing[REQUEST_BYTES - 1] = 1;
        let mut long = good.clone();
        long[NAME_AT - 1] = (MAX_ROUTE_NAME + 1) as u8;
        let mut bad_char = good.clone();
        bad_char[NAME_AT] = b'{';
        let mut quic = good.clone();
        quic[0] = 0xc0;
        for (bytes, why) in [
            (good[..REQUEST_BYTES - 1].to_vec(), "127 bytes"),
            (trailing, "bytes after the name"),
            (long, "out of range"),
            (bad_char, "no route name"),
            (quic, "not a route preamble"),
        ] {
            let e = Request::parse(&bytes).expect_err(why);
            assert!(e.to_string().contains(why), "{why}: {e}");
        }
        let e = Answer::parse(&good).expect_err("a request is no answer");
        assert_eq!(e, PreambleError::NotPreamble);
        assert!("".parse::<RouteName>().is_err());
        assert!("offline/{lane}".parse::<RouteName>().is_err());
    }

    #[test]
    fn preambles_of_any_bytes_are_read_or_refused() {
        let seeds = vec![
            request("offline/3").encode(),
            request("train").encode(),
            Answer {
                nonce: [7; 8],
                status: Status::Unavailable("the relay is at its limit of 1024 flows".into()),
            }
            .encode(),
            Answer {
                nonce: [7; 8],
                status: Status::Open,
            }
            .encode(),
        ];
        dyad_fuzz::bounded("route preamble", &seeds, dyad_fuzz::TEST_ITERATIONS, |b| {
            if let Ok(r) = Request::parse(b) {
                assert_eq!(r.encode(), b, "a request reads back as sent");
            }
            if let Ok(a) = Answer::parse(b) {
                assert_eq!(a.encode(), b, "an answer reads back as sent");
            }
        });
    }
}
