//! Agreement between the two servers before they compute together: each states its terms (a
//! training job, the online configuration, the served model, a worker pair's plan), both
//! exchange them, and either side refuses naming every term that differs. One codec and one
//! refusal for every such handshake, so that the messages are fuzzed in one place
//! ([`Terms::decode`]) and every refusal reads alike.

use std::fmt;

use crate::{Channel, LinkError};

/// One side's terms: named values, in order, each with a hint of how to mend a difference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Terms(Vec<Term>);

/// One named value of [`Terms`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    name: String,
    value: String,
    hint: &'static str,
}

/// A message of terms that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    /// The message is not UTF-8.
    #[error("the peer's terms are not text")]
    NotText,
    /// A line is not `name=value`.
    #[error("the peer's terms have a line without `=`: {0:?}")]
    Line(String),
}

impl Terms {
    /// No terms yet.
    pub fn new() -> Terms {
        Terms::default()
    }

    /// Adds `name = value`. Line breaks in the value become `; ` (a term is one line).
    pub fn term(self, name: &str, value: impl fmt::Display) -> Terms {
        self.hinted(name, value, "")
    }

    /// Adds `name = value` with `hint`, said after a difference (for example
    /// `" (--pool)"`).
    pub fn hinted(mut self, name: &str, value: impl fmt::Display, hint: &'static str) -> Terms {
        let value = value.to_string();
        self.0.push(Term {
            name: name.replace(['=', '\n'], " "),
            value: value.trim_end().replace('\n', "; "),
            hint,
        });
        self
    }

    /// The message: one `name=value` line per term.
    pub fn encode(&self) -> Vec<u8> {
        self.0
            .iter()
            .map(|t| format!("{}={}\n", t.name, t.value))
            .collect::<String>()
            .into_bytes()
    }

    /// Reads the peer's message as `(name, value)` pairs.
    pub fn decode(bytes: &[u8]) -> Result<Vec<(String, String)>, TermsError> {
        let text = std::str::from_utf8(bytes).map_err(|_| TermsError::NotText)?;
        text.lines()
            .map(|line| match line.split_once('=') {
                Some((name, value)) => Ok((name.to_owned(), value.to_owned())),
                None => Err(TermsError::Line(line.to_owned())),
            })
            .collect()
    }

    /// Every term whose value differs from the peer's (or that one side lacks), in this side's
    /// order, then the peer's extra terms.
    pub fn differences(&self, theirs: &[(String, String)]) -> Vec<Difference> {
        let peer = |name: &str| {
            theirs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let mut out: Vec<Difference> = self
            .0
            .iter()
            .filter_map(|t| {
                let other = peer(&t.name);
                (other.as_deref() != Some(t.value.as_str())).then(|| Difference {
                    name: t.name.clone(),
                    ours: Some(t.value.clone()),
                    theirs: other,
                    hint: t.hint,
                })
            })
            .collect();
        out.extend(
            theirs
                .iter()
                .filter(|(n, _)| !self.0.iter().any(|t| &t.name == n))
                .map(|(name, value)| Difference {
                    name: name.clone(),
                    ours: None,
                    theirs: Some(value.clone()),
                    hint: "",
                }),
        );
        out
    }
}

/// One term on which the two sides differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The term's name.
    pub name: String,
    /// This side's value, if it states one.
    pub ours: Option<String>,
    /// The peer's value, if it states one.
    pub theirs: Option<String>,
    /// How to mend it, as this side's terms say.
    pub hint: &'static str,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let said = |v: &Option<String>| match v {
            Some(v) => format!("`{v}`"),
            None => "nothing".to_owned(),
        };
        write!(
            f,
            "{}: this server has {}, the peer {}{}",
            self.name,
            said(&self.ours),
            said(&self.theirs),
            self.hint
        )
    }
}

/// The differences that made one side refuse, each on its own line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
pub struct Disagreement(pub Vec<Difference>);

/// Why an agreement failed.
#[derive(Debug, thiserror::Error)]
pub enum AgreementError {
    /// The link failed during the exchange.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The peer's message cannot be read (another build, or hostile bytes).
    #[error(transparent)]
    Unreadable(#[from] TermsError),
    /// The terms differ.
    #[error("the peer's terms differ:\n  {0}")]
    Differ(Disagreement),
}

impl Channel {
    /// Exchanges `terms` with the peer, which calls this too; refuses, naming every
    /// difference, unless the peer's terms are the same.
    pub async fn agree(&mut self, terms: &Terms) -> Result<(), AgreementError> {
        let theirs = self.exchange_for_agreement(&terms.encode()).await?;
        let differences = terms.differences(&Terms::decode(&theirs)?);
        match differences.is_empty() {
            true => Ok(()),
            false => Err(AgreementError::Differ(Disagreement(differences))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(lanes: u32) -> Terms {
        Terms::new()
            .term("network", "input 1 28 28\ndense 10\n")
            .hinted("lane", lanes, " (--lane)")
    }

    #[test]
    fn equal_terms_agree_and_each_difference_is_named() {
        let mine = job(2);
        let theirs = Terms::decode(&mine.encode()).expect("reads");
        assert!(mine.differences(&theirs).is_empty());
        let other = Terms::decode(&job(3).term("extra", 1).encode()).expect("reads");
        let said: Vec<String> = mine
            .differences(&other)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            said,
            [
                "lane: this server has `2`, the peer `3` (--lane)",
                "extra: this server has nothing, the peer `1`",
            ]
        );
    }

    #[test]
    fn a_value_is_one_line() {
        let decoded = Terms::decode(&job(1).encode()).expect("reads");
        assert_eq!(decoded[0].1, "input 1 28 28; dense 10");
    }

    #[test]
    fn terms_of_any_bytes_are_read_or_refused() {
        dyad_fuzz::bounded(
            "terms",
            &[
                job(1).encode(),
                b"no equals sign".to_vec(),
                vec![0xff, b'='],
            ],
            dyad_fuzz::TEST_ITERATIONS,
            |bytes| {
                if let Ok(theirs) = Terms::decode(bytes) {
                    let _ = job(1).differences(&theirs);
                }
            },
        );
    }
}
