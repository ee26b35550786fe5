//! The control messages of an offline worker pair (see `worker`'s module documentation): P0's
//! [`Decision`] for each round and P1's [`Report`] after it. Public so that the libFuzzer target
//! `peer_messages` reaches their parsers.

/// P0's word for the next round.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Both generate `count` items of `stream`, numbered from `first`.
    Generate {
        /// The stream's name.
        stream: String,
        /// The first item's sequence number in the lane.
        first: u64,
        /// How many.
        count: u64,
    },
    /// Nothing is needed now: ask again after `millis`.
    Wait {
        /// The pause.
        millis: u32,
    },
    /// The pair stops.
    Stop,
}

/// P1's word after a round.
#[derive(Debug, PartialEq, Eq)]
pub struct Report {
    /// Items of the round's batch P1's stockpile has stored (0 after a wait): P0 puts its own
    /// half only on this confirmation (see the module's doc).
    pub stored: u64,
    /// Bytes P1's stockpile can take before its high-water mark (0: pause).
    pub headroom: u64,
    /// P1 is stopping.
    pub stopping: bool,
}

impl Report {
    /// The message's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.stored.to_le_bytes().to_vec();
        out.extend_from_slice(&self.headroom.to_le_bytes());
        out.push(u8::from(self.stopping));
        out
    }

    /// Reads a report; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<Report> {
        match bytes {
            [words @ .., stopping @ (0 | 1)] if words.len() == 16 => Some(Report {
                stored: u64::from_le_bytes(words[..8].try_into().ok()?),
                headroom: u64::from_le_bytes(words[8..].try_into().ok()?),
                stopping: *stopping == 1,
            }),
            _ => None,
        }
    }
}

impl Decision {
    /// The message's bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Decision::Generate {
                stream,
                first,
                count,
            } => {
                let mut out = vec![0];
                out.extend_from_slice(&first.to_le_bytes());
                out.extend_from_slice(&count.to_le_bytes());
                out.extend_from_slice(stream.as_bytes());
                out
            }
            Decision::Wait { millis } => {
                let mut out = vec![1];
                out.extend_from_slice(&millis.to_le_bytes());
                out
            }
            Decision::Stop => vec![2],
        }
    }

    /// Reads a decision; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<Decision> {
        match bytes.split_first()? {
            (0, rest) if rest.len() > 16 => Some(Decision::Generate {
                first: u64::from_le_bytes(rest[..8].try_into().ok()?),
                count: u64::from_le_bytes(rest[8..16].try_into().ok()?),
                stream: String::from_utf8(rest[16..].to_vec()).ok()?,
            }),
            (1, rest) if rest.len() == 4 => Some(Decision::Wait {
                millis: u32::from_le_bytes(rest.try_into().ok()?),
            }),
            (2, []) => Some(Decision::Stop),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pair's control messages from hostile bytes (issue 13): a value or a refusal,
    /// never a panic.
    #[test]
    fn control_messages_of_any_bytes_are_read_or_refused() {
        let seeds = vec![
            Decision::Generate {
                stream: "matrix-triple/2x3x4".into(),
                first: 7,
                count: 100,
            }
            .encode(),
            Decision::Wait { millis: 250 }.encode(),
            Decision::Stop.encode(),
            Report {
                stored: 4096,
                headroom: 1 << 30,
                stopping: false,
            }
            .encode(),
        ];
        dyad_fuzz::bounded("control", &seeds, dyad_fuzz::TEST_ITERATIONS, |bytes| {
            let _ = Decision::decode(bytes);
            let _ = Report::decode(bytes);
        });
    }
}
