//! What the two serving engines say to each other about batches, in the encoding of the
//! runtime's other peer messages (`dyad_online::bytes`): `P0` proposes request ids with their
//! outputs, `P1` answers each with a verdict.

use dyad_online::bytes::{Reader, put_string};

use super::ServeError;
use super::requests::Output;

/// A proposed request's fate, as the follower sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Both servers have it, for the same output.
    Agreed = 0,
    /// The follower has not received it (yet).
    Missing = 1,
    /// The two servers were asked for different outputs.
    Mismatch = 2,
}

/// `P0`'s proposal: the oldest waiting requests, with what each asks for.
pub fn encode_proposal(proposal: &[(String, Output)]) -> Vec<u8> {
    let mut out = (proposal.len() as u32).to_le_bytes().to_vec();
    for (id, output) in proposal {
        put_string(&mut out, id);
        out.push(output.code());
    }
    out
}

/// Reads a proposal.
pub fn decode_proposal(bytes: &[u8]) -> Result<Vec<(String, Output)>, ServeError> {
    let bad = || ServeError::Malformed("batch proposal");
    let mut r = Reader::new(bytes);
    let n = r.u32().map_err(|_| bad())?;
    let proposal = (0..n)
        .map(|_| {
            let id = r.string().map_err(|_| bad())?.ok_or_else(bad)?;
            let output = Output::from_code(r.u8().map_err(|_| bad())?).ok_or_else(bad)?;
            Ok((id, output))
        })
        .collect::<Result<Vec<_>, ServeError>>()?;
    match r.is_empty() {
        true => Ok(proposal),
        false => Err(bad()),
    }
}

/// `P1`'s answer: one verdict per proposed request.
pub fn encode_verdicts(verdicts: &[Verdict]) -> Vec<u8> {
    verdicts.iter().map(|v| *v as u8).collect()
}

/// Reads the answer to a proposal of `n` requests.
pub fn decode_verdicts(bytes: &[u8], n: usize) -> Result<Vec<Verdict>, ServeError> {
    let verdict = |b: u8| {
        [Verdict::Agreed, Verdict::Missing, Verdict::Mismatch]
            .into_iter()
            .find(|v| *v as u8 == b)
    };
    let verdicts: Option<Vec<Verdict>> = bytes.iter().map(|&b| verdict(b)).collect();
    match verdicts {
        Some(v) if v.len() == n => Ok(v),
        _ => Err(ServeError::Malformed("answer to a batch proposal")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposals_and_verdicts_round_trip_and_garbage_is_refused() {
        let proposal = vec![
            ("a1".to_string(), Output::Logits),
            ("b-2".into(), Output::Class),
        ];
        assert_eq!(
            decode_proposal(&encode_proposal(&proposal)).expect("decodes"),
            proposal
        );
        assert!(decode_proposal(&[5, 0, 0, 0, 1]).is_err());
        let mut trailing = encode_proposal(&proposal);
        trailing.push(0);
        assert!(decode_proposal(&trailing).is_err());
        let verdicts = [Verdict::Agreed, Verdict::Mismatch];
        assert_eq!(
            decode_verdicts(&encode_verdicts(&verdicts), 2).expect("decodes"),
            verdicts
        );
        assert!(decode_verdicts(&[0, 7], 2).is_err());
        assert!(decode_verdicts(&[0], 2).is_err());
    }
}
