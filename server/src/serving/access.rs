//! Who may query the inference endpoint, and how often (issue 13). Each server checks on its
//! own, before a request is queued, so a refused request costs no randomness: a request the
//! other server refuses just expires here, as any request only one server receives does.
//!
//! - **Authentication:** with a client list, every call carries `authorization: Bearer
//!   <token>`; an unknown or missing token is refused. Tokens are compared in constant time
//!   against every entry, so response times do not tell how much of a guess was right.
//! - **Quotas:** each client (by name, or by address where there is no list) has a token
//!   bucket of `per_minute` requests that refills continuously; a request finding it empty is
//!   refused at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use subtle::ConstantTimeEq;

use super::Refusal;

/// The shortest token accepted: 32 characters, 128 bits as hex (from `openssl rand -hex 32`,
/// 256). Guessing a 128-bit token online is hopeless; shorter ones are refused so that no
/// operator deploys a password-sized one by mistake.
pub const MIN_TOKEN_CHARS: usize = 32;
/// Buckets kept before idle, full ones are forgotten (clients without a list are keyed by
/// address, so their number is not bounded by a file).
const MAX_BUCKETS: usize = 4096;

/// A malformed client list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("client list line {line}: {problem}")]
pub struct ClientListError {
    /// The line (from 1).
    pub line: usize,
    /// What is wrong with it.
    pub problem: String,
}

/// The clients allowed to call, with their tokens.
#[derive(Debug, Clone, Default)]
pub struct Clients(Vec<(String, Vec<u8>)>);

impl Clients {
    /// Reads `name token` lines; `#` starts a comment. Names are `[A-Za-z0-9_.-]+`, tokens at
    /// least [`MIN_TOKEN_CHARS`] printable characters, neither repeated.
    pub fn parse(text: &str) -> Result<Clients, ClientListError> {
        let mut clients: Vec<(String, Vec<u8>)> = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let bad = |problem: String| ClientListError {
                line: number + 1,
                problem,
            };
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(name), Some(token), None) = (words.next(), words.next(), words.next()) else {
                return Err(bad("expected `name token`".into()));
            };
            if !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            {
                return Err(bad(format!("{name:?} is not a name of [A-Za-z0-9_.-]")));
            }
            if token.len() < MIN_TOKEN_CHARS || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(bad(format!(
                    "{name}'s token must be at least {MIN_TOKEN_CHARS} printable characters"
                )));
            }
            if clients.iter().any(|(n, _)| n == name) {
                return Err(bad(format!("{name} appears twice")));
            }
            if clients.iter().any(|(_, t)| t == token.as_bytes()) {
                return Err(bad(format!("{name}'s token is another client's too")));
            }
            clients.push((name.to_owned(), token.as_bytes().to_vec()));
        }
        Ok(Clients(clients))
    }

    /// How many clients the list allows.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it allows none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The name of the client holding `token`, if any (every entry is compared, in constant
    /// time for tokens of equal length).
    pub fn identify(&self, token: &[u8]) -> Option<&str> {
        let mut found = None;
        for (name, known) in &self.0 {
            if bool::from(known.as_slice().ct_eq(token)) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

/// A token bucket per client.
#[derive(Debug)]
pub struct Quota {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Quota {
    /// At most `per_minute` requests per client per minute, in bursts of up to as many.
    pub fn new(per_minute: u32) -> Quota {
        Quota {
            per_minute: per_minute.max(1),
            buckets: Mutex::default(),
        }
    }

    /// Takes one request from `client`'s bucket at `now`, or says it is empty.
    pub fn admit(&self, client: &str, now: Instant) -> bool {
        let capacity = f64::from(self.per_minute);
        let Ok(mut buckets) = self.buckets.lock() else {
            return false;
        };
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(client) {
            // Forget clients whose buckets have refilled: they behave as new ones anyway.
            let refill = capacity / 60.0;
            buckets.retain(|_, (level, at)| {
                *level + now.saturating_duration_since(*at).as_secs_f64() * refill < capacity
            });
        }
        let (level, at) = buckets.entry(client.to_owned()).or_insert((capacity, now));
        let refilled = now.saturating_duration_since(*at).as_secs_f64() * capacity / 60.0;
        *level = (*level + refilled).min(capacity);
        *at = now;
        match *level >= 1.0 {
            true => {
                *level -= 1.0;
                true
            }
            false => false,
        }
    }
}

/// The endpoint's policy: an optional client list and an optional quota.
#[derive(Debug, Default)]
pub struct Access {
    /// Without a list, anyone who can connect may call.
    pub clients: Option<Clients>,
    /// Without a quota, calls are unlimited.
    pub quota: Option<Quota>,
}

impl Access {
    /// Who is calling: the client the bearer token names (refused if there is a list and the
    /// token is missing or unknown), or, without a list, the caller's address.
    pub fn authenticate(
        &self,
        authorization: Option<&[u8]>,
        peer: Option<IpAddr>,
    ) -> Result<String, Refusal> {
        let Some(clients) = &self.clients else {
            return Ok(peer.map_or_else(|| "unknown".into(), |ip| ip.to_string()));
        };
        let token = authorization
            .and_then(|h| h.strip_prefix(b"Bearer "))
            .ok_or(Refusal::Unauthenticated(
                "this endpoint needs `authorization: Bearer <token>`",
            ))?;
        clients
            .identify(token)
            .map(str::to_owned)
            .ok_or(Refusal::Unauthenticated("unknown client token"))
    }

    /// Admits one request of `client` now, or refuses it as over quota.
    pub fn admit(&self, client: &str) -> Result<(), Refusal> {
        match &self.quota {
            Some(q) if !q.admit(client, Instant::now()) => Err(Refusal::OverQuota {
                client: client.to_owned(),
                per_minute: q.per_minute,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const ALICE: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
    const BOB: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";

    #[test]
    fn the_client_list_names_each_client_once_and_refuses_weak_or_shared_tokens() {
        let list = format!("# who may ask\nalice {ALICE}\n\nbob {BOB}  # the other\n");
        let clients = Clients::parse(&list).expect("parses");
        assert_eq!(clients.len(), 2);
        assert_eq!(clients.identify(ALICE.as_bytes()), Some("alice"));
        assert_eq!(clients.identify(BOB.as_bytes()), Some("bob"));
        assert_eq!(clients.identify(&BOB.as_bytes()[1..]), None);
        assert_eq!(clients.identify(b""), None);
        for (text, problem) in [
            ("alice", "expected"),
            (&format!("alice {ALICE} extra") as &str, "expected"),
            ("alice short", "at least 32"),
            (&format!("al!ce {ALICE}"), "not a name"),
            (&format!("alice {ALICE}\nalice {BOB}"), "twice"),
            (&format!("alice {ALICE}\nbob {ALICE}"), "another client's"),
        ] {
            let err = Clients::parse(text).expect_err(text);
            assert!(err.problem.contains(problem), "{text}: {err}");
        }
        // The edge of the length rule: 31 characters are refused, 32 accepted.
        let at = |n: usize| Clients::parse(&format!("carol {}", "c".repeat(n)));
        assert!(at(MIN_TOKEN_CHARS - 1).is_err());
        assert_eq!(at(MIN_TOKEN_CHARS).map(|c| c.len()), Ok(1));
    }

    #[test]
    fn only_a_listed_bearer_token_gets_in() {
        let open = Access::default();
        let ip: IpAddr = [10, 0, 0, 7].into();
        assert_eq!(open.authenticate(None, Some(ip)), Ok("10.0.0.7".into()));
        let guarded = Access {
            clients: Some(Clients::parse(&format!("alice {ALICE}")).expect("list")),
            quota: None,
        };
        let bearer = |t: &str| format!("Bearer {t}").into_bytes();
        assert_eq!(
            guarded.authenticate(Some(&bearer(ALICE)), Some(ip)),
            Ok("alice".into())
        );
        for header in [None, Some(ALICE.as_bytes().to_vec()), Some(bearer(BOB))] {
            assert!(matches!(
                guarded.authenticate(header.as_deref(), Some(ip)),
                Err(Refusal::Unauthenticated(_))
            ));
        }
    }

    #[test]
    fn a_quota_allows_a_burst_then_refills_at_its_rate_per_client() {
        let quota = Quota::new(60);
        let start = Instant::now();
        for _ in 0..60 {
            assert!(quota.admit("alice", start));
        }
        assert!(!quota.admit("alice", start), "the burst is spent");
        assert!(quota.admit("bob", start), "bob has his own bucket");
        // One request per second comes back.
        assert!(!quota.admit("alice", start + Duration::from_millis(500)));
        assert!(quota.admit("alice", start + Duration::from_millis(1000)));
        assert!(!quota.admit("alice", start + Duration::from_millis(1000)));
        // A long pause refills the bucket to its size, not beyond.
        let later = start + Duration::from_secs(3600);
        for _ in 0..60 {
            assert!(quota.admit("alice", later));
        }
        assert!(!quota.admit("alice", later));
    }

    #[test]
    fn idle_clients_are_forgotten_when_the_table_is_full() {
        let quota = Quota::new(10);
        let start = Instant::now();
        for i in 0..MAX_BUCKETS {
            assert!(quota.admit(&format!("10.0.{}.{}", i / 256, i % 256), start));
        }
        let later = start + Duration::from_secs(60);
        assert!(quota.admit("newcomer", later));
        assert!(quota.buckets.lock().expect("lock").len() < 10);
    }
}
