//! Which lane an offline worker pair is: given (`--lane`), taken from the host name
//! (`--lane-from-hostname`: a Kubernetes StatefulSet's pod `dyad-worker-3` is lane 3), or
//! from the environment (`DYAD_LANE`, for Compose services that set it). The flags win over
//! the environment; without any, lane 0.

use anyhow::Context;

/// The environment variable read when neither flag is given.
pub const LANE_VARIABLE: &str = "DYAD_LANE";

/// The lane, from the flags, the host name or the environment (see the module doc).
pub fn lane(flag: Option<u32>, from_hostname: bool) -> anyhow::Result<u32> {
    if let Some(lane) = flag {
        return Ok(lane);
    }
    if from_hostname {
        let name = hostname()?;
        return trailing_number(&name).map_err(anyhow::Error::msg);
    }
    match std::env::var(LANE_VARIABLE) {
        Ok(text) => text.trim().parse().with_context(|| {
            format!("{LANE_VARIABLE}={text:?} is not a lane (a number from 0 to 4294967295)")
        }),
        Err(std::env::VarError::NotPresent) => Ok(0),
        Err(e) => Err(e).context(LANE_VARIABLE),
    }
}

/// This machine's (or container's, or pod's) host name.
fn hostname() -> anyhow::Result<String> {
    let path = "/proc/sys/kernel/hostname";
    let name = std::fs::read_to_string(path)
        .with_context(|| format!("--lane-from-hostname: cannot read the host name ({path})"))?;
    Ok(name.trim().to_owned())
}

/// The lane a host name ends in: the number its first label ends with (`dyad-worker-3` and
/// `dyad-worker-3.dyad-worker` are lane 3).
pub fn trailing_number(hostname: &str) -> Result<u32, String> {
    let label = hostname.split('.').next().unwrap_or_default();
    let digits = label
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(label, |i| &label[i + 1..]);
    match digits.parse() {
        Ok(lane) => Ok(lane),
        Err(_) if digits.is_empty() => Err(format!(
            "--lane-from-hostname: the host name {hostname:?} does not end in a number (a \
             StatefulSet's pods are named like dyad-worker-3); give --lane or {LANE_VARIABLE}"
        )),
        Err(_) => Err(format!(
            "--lane-from-hostname: the host name {hostname:?} ends in {digits}, which is no lane \
             (at most 4294967295)"
        )),
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
            assert_eq!(trailing_number(name), Ok(lane), "{name}");
        }
        for (name, why) in [
            ("dyad-worker", "does not end in a number"),
            ("", "does not end in a number"),
            ("worker.dyad-3", "does not end in a number"),
            ("dyad-worker-99999999999", "no lane"),
        ] {
            let e = trailing_number(name).expect_err(name);
            assert!(e.contains(why), "{name}: {e}");
        }
    }
}
