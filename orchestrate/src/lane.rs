//! Which lane an offline worker pair is (a deployment's numbering of its worker pairs): given (`--lane`), taken from the host name
//! (`--lane-from-hostname`: a Kubernetes StatefulSet's pod `dyad-worker-3` is lane 3), or
//! from the environment (`DYAD_LANE`, for Compose services that set it). The flags win over
//! the environment; without any, lane 0.

/// The environment variable read when neither flag is given.
pub const LANE_VARIABLE: &str = "DYAD_LANE";

/// A lane that cannot be found.
#[derive(Debug, thiserror::Error)]
pub enum LaneError {
    /// The host name cannot be read.
    #[error("--lane-from-hostname: cannot read the host name ({path}): {source}")]
    Hostname {
        /// Where it was read from.
        path: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The host name ends in no digits.
    #[error(
        "--lane-from-hostname: the host name {0:?} does not end in a number (a StatefulSet's \
         pods are named like dyad-worker-3); give --lane or {LANE_VARIABLE}"
    )]
    NoNumber(String),
    /// The host name ends in a number too large for a lane.
    #[error(
        "--lane-from-hostname: the host name {hostname:?} ends in {digits}, which is no lane \
         (at most 4294967295)"
    )]
    TooLarge {
        /// The host name.
        hostname: String,
        /// The digits it ends in.
        digits: String,
    },
    /// The environment variable is not a lane.
    #[error("{LANE_VARIABLE}={0:?} is not a lane (a number from 0 to 4294967295)")]
    Variable(String),
}

/// The lane, from the flags, the host name or the environment (see the module doc).
pub fn lane(flag: Option<u32>, from_hostname: bool) -> Result<u32, LaneError> {
    if let Some(lane) = flag {
        return Ok(lane);
    }
    if from_hostname {
        return trailing_number(&hostname()?);
    }
    match std::env::var(LANE_VARIABLE) {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| LaneError::Variable(text.clone())),
        Err(std::env::VarError::NotPresent) => Ok(0),
        Err(std::env::VarError::NotUnicode(text)) => {
            Err(LaneError::Variable(text.to_string_lossy().into_owned()))
        }
    }
}

/// This machine's (or container's, or pod's) host name.
fn hostname() -> Result<String, LaneError> {
    let path = "/proc/sys/kernel/hostname";
    let name =
        std::fs::read_to_string(path).map_err(|source| LaneError::Hostname { path, source })?;
    Ok(name.trim().to_owned())
}

/// The lane a host name ends in: the number its first label ends with (`dyad-worker-3` and
/// `dyad-worker-3.dyad-worker` are lane 3).
pub fn trailing_number(hostname: &str) -> Result<u32, LaneError> {
    let label = hostname.split('.').next().unwrap_or_default();
    let digits = label
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(label, |i| &label[i + 1..]);
    match digits.parse() {
        Ok(lane) => Ok(lane),
        Err(_) if digits.is_empty() => Err(LaneError::NoNumber(hostname.to_owned())),
        Err(_) => Err(LaneError::TooLarge {
            hostname: hostname.to_owned(),
            digits: digits.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lane_is_the_number_a_host_name_ends_in() {
        for (name, lane) in [
            ("dyad-worker-3", 3),
            ("dyad-worker-0", 0),
            ("dyad-worker-12.dyad-worker.party-0.svc.cluster.local", 12),
            ("worker7", 7),
            ("42", 42),
        ] {
            assert_eq!(trailing_number(name).ok(), Some(lane), "{name}");
        }
        for (name, why) in [
            ("dyad-worker", "does not end in a number"),
            ("", "does not end in a number"),
            ("worker.dyad-3", "does not end in a number"),
            ("dyad-worker-99999999999", "no lane"),
        ] {
            let e = trailing_number(name).expect_err(name).to_string();
            assert!(e.contains(why), "{name}: {e}");
        }
    }
}
