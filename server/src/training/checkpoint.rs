//! Checkpoints of a server's training state (its model share, the optimizer's velocity if it
//! keeps one, the unrevealed loss sum, the curve so far), written atomically after every step and every evaluation; the last two are
//! kept. After a crash of either side, both restart from the latest position both hold: one
//! side can be at most one save ahead, because every step needs the other side's messages.

use std::path::{Path, PathBuf};

use dyad_link::Channel;
use dyad_online::Z64;
use dyad_online::bytes::Reader;
use dyad_online::model::Network;
use dyad_online::nn::Params;

use super::TrainingError;
use super::runner::{Point, State, Stats};
use crate::files::{FileError, FormatError};

/// A checkpoint without an optimizer's velocity (plain SGD; the only kind before optimizers).
const MAGIC: &[u8; 8] = b"DYADCKP1";
/// A checkpoint with one: the model's length-prefixed bytes, then the velocity's.
const MAGIC_VELOCITY: &[u8; 8] = b"DYADCKP2";
const KEEP: usize = 2;

/// Where a run stands: SGD steps done and evaluations done (points on its curve).
pub type Position = (u64, usize);

/// A job's checkpoints in a directory.
pub struct Checkpoints {
    dir: PathBuf,
    fingerprint: u64,
}

impl Checkpoints {
    /// The checkpoints of the job with `fingerprint` in `dir`.
    pub fn new(dir: PathBuf, fingerprint: u64) -> Checkpoints {
        Checkpoints { dir, fingerprint }
    }

    fn path(&self, (step, evaluations): Position) -> PathBuf {
        self.dir
            .join(format!("ckpt-{step:010}-{evaluations:04}.dyad"))
    }

    /// The positions saved for this job, oldest first. Checkpoints of other jobs are ignored.
    pub fn positions(&self) -> Result<Vec<Position>, FileError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(FileError::io("list", &self.dir)(e)),
        };
        let mut found = Vec::new();
        for entry in entries {
            let path = entry.map_err(FileError::io("list", &self.dir))?.path();
            let Some(position) = parse_name(&path) else {
                continue;
            };
            let mut header = [0u8; 16];
            let ours = std::fs::File::open(&path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
                .is_ok()
                && (header[..8] == MAGIC[..] || header[..8] == MAGIC_VELOCITY[..])
                && header[8..] == self.fingerprint.to_le_bytes();
            if ours {
                found.push(position);
            }
        }
        found.sort_unstable();
        Ok(found)
    }

    /// Saves `state`, then removes all but the last [`KEEP`] checkpoints.
    pub fn save(&self, state: &State<Z64>) -> Result<(), FileError> {
        let position = (state.step, state.curve.len());
        crate::files::write_atomically(&self.path(position), &self.encode(state))?;
        let positions = self.positions()?;
        for &old in positions.iter().rev().skip(KEEP) {
            let _ = std::fs::remove_file(self.path(old));
        }
        Ok(())
    }

    /// Loads the checkpoint at `position`.
    pub fn load(&self, position: Position, network: &Network) -> Result<State<Z64>, FileError> {
        let path = self.path(position);
        let bytes = crate::files::read(&path)?;
        self.decode(&bytes, network)
            .map_err(FileError::format("a usable checkpoint", &path))
    }

    /// Reads a checkpoint's bytes: refuses anything but a checkpoint of this job.
    pub fn decode(&self, bytes: &[u8], network: &Network) -> Result<State<Z64>, FormatError> {
        decode(bytes, self.fingerprint, network)
    }

    /// A checkpoint's bytes.
    pub fn encode(&self, state: &State<Z64>) -> Vec<u8> {
        let mut out = match state.velocity {
            None => MAGIC.to_vec(),
            Some(_) => MAGIC_VELOCITY.to_vec(),
        };
        out.extend_from_slice(&self.fingerprint.to_le_bytes());
        out.extend_from_slice(&state.step.to_le_bytes());
        out.extend_from_slice(&state.loss.0.to_le_bytes());
        put_stats(&mut out, &state.stats);
        out.extend_from_slice(&(state.curve.len() as u32).to_le_bytes());
        for p in &state.curve {
            out.extend_from_slice(&(p.epoch as u32).to_le_bytes());
            out.extend_from_slice(&p.step.to_le_bytes());
            out.extend_from_slice(&p.accuracy.to_bits().to_le_bytes());
            out.extend_from_slice(&p.loss.unwrap_or(f64::NAN).to_bits().to_le_bytes());
            put_stats(&mut out, &p.stats);
        }
        let params = state.params.to_bytes();
        match &state.velocity {
            None => out.extend_from_slice(&params),
            Some(velocity) => {
                out.extend_from_slice(&(params.len() as u64).to_le_bytes());
                out.extend_from_slice(&params);
                out.extend_from_slice(&velocity.to_bytes());
            }
        }
        out
    }
}

fn parse_name(path: &Path) -> Option<Position> {
    let name = path.file_name()?.to_str()?;
    let (step, evaluations) = name
        .strip_prefix("ckpt-")?
        .strip_suffix(".dyad")?
        .split_once('-')?;
    Some((step.parse().ok()?, evaluations.parse().ok()?))
}

fn put_stats(out: &mut Vec<u8>, s: &Stats) {
    for v in [
        s.seconds.to_bits(),
        s.store_seconds.to_bits(),
        s.bytes_sent,
        s.bytes_received,
        s.rounds,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn get_stats(r: &mut Reader) -> Result<Stats, FormatError> {
    Ok(Stats {
        seconds: f64::from_bits(r.u64()?),
        store_seconds: f64::from_bits(r.u64()?),
        bytes_sent: r.u64()?,
        bytes_received: r.u64()?,
        rounds: r.u64()?,
    })
}

fn decode(bytes: &[u8], fingerprint: u64, network: &Network) -> Result<State<Z64>, FormatError> {
    let mut r = Reader::new(bytes);
    let with_velocity = match r.take(8)? {
        m if m == MAGIC => false,
        m if m == MAGIC_VELOCITY => true,
        _ => return Err(FormatError::Header { hint: "" }),
    };
    if r.u64()? != fingerprint {
        return Err(FormatError::OtherJob);
    }
    let step = r.u64()?;
    let loss = Z64(r.u64()?);
    let stats = get_stats(&mut r)?;
    let points = r.u32()? as usize;
    let mut curve = Vec::with_capacity(points.min(1 << 16));
    for _ in 0..points {
        let epoch = r.u32()? as usize;
        let step = r.u64()?;
        let accuracy = f64::from_bits(r.u64()?);
        let loss = Some(f64::from_bits(r.u64()?)).filter(|l| !l.is_nan());
        let stats = get_stats(&mut r)?;
        curve.push(Point {
            epoch,
            step,
            accuracy,
            loss,
            stats,
        });
    }
    let (params, velocity) = match with_velocity {
        false => (Params::from_bytes(r.rest(), network)?, None),
        true => {
            let length = r.u64()?;
            let params = r.take(usize::try_from(length).unwrap_or(usize::MAX))?;
            let params = Params::from_bytes(params, network)?;
            (params, Some(Params::from_bytes(r.rest(), network)?))
        }
    };
    Ok(State {
        step,
        params,
        velocity,
        loss,
        curve,
        stats,
    })
}

/// Tells the peer which positions this side holds and returns the latest both hold (`None`:
/// start from the beginning).
pub async fn agree_on_resume(
    channel: &mut Channel,
    mine: &[Position],
) -> Result<Option<Position>, TrainingError> {
    let mut out = Vec::new();
    for &(step, evaluations) in mine {
        out.extend_from_slice(&step.to_le_bytes());
        out.extend_from_slice(&(evaluations as u64).to_le_bytes());
    }
    let theirs = channel.exchange(&out).await?;
    if theirs.len() % 16 != 0 {
        return Err(TrainingError::Peer("a malformed list of checkpoints"));
    }
    let mut r = Reader::new(&theirs);
    let mut common = None;
    while !r.is_empty() {
        let malformed = |_| TrainingError::Peer("a malformed list of checkpoints");
        let position = (
            r.u64().map_err(malformed)?,
            r.u64().map_err(malformed)? as usize,
        );
        if mine.contains(&position) {
            common = common.max(Some(position));
        }
    }
    Ok(common)
}

#[cfg(test)]
mod tests {
    use dyad_online::FixedPoint;
    use dyad_online::nn::PlainFixed;

    use super::*;

    fn state(step: u64, epochs: usize) -> State<Z64> {
        let network = Network::by_name("net-a").expect("known");
        let fixed = FixedPoint::default();
        let params = Params::initial(&network, step, fixed)
            .expect("params")
            .import(&PlainFixed::new(fixed));
        let point = |epoch| Point {
            epoch,
            step,
            accuracy: 0.5,
            loss: (epoch % 2 == 0).then_some(1.25),
            stats: Stats {
                seconds: 1.5,
                bytes_sent: 7,
                ..Stats::default()
            },
        };
        // Odd steps as a job with momentum saves them, even ones as plain SGD does.
        let velocity = (step % 2 == 1).then(|| {
            Params::initial(&network, step + 100, fixed)
                .expect("params")
                .import(&PlainFixed::new(fixed))
        });
        State {
            step,
            params,
            velocity,
            loss: Z64(99),
            curve: (1..=epochs).map(point).collect(),
            stats: Stats {
                rounds: 3,
                ..Stats::default()
            },
        }
    }

    #[test]
    fn saves_loads_and_keeps_the_last_two() {
        let dir = tempfile::tempdir().expect("tempdir");
        let network = Network::by_name("net-a").expect("known");
        let ckpts = Checkpoints::new(dir.path().join("c"), 42);
        assert!(ckpts.positions().expect("empty").is_empty());
        for (step, epochs) in [(1, 0), (2, 0), (2, 1), (3, 2)] {
            ckpts.save(&state(step, epochs)).expect("save");
        }
        assert_eq!(ckpts.positions().expect("list"), vec![(2, 1), (3, 2)]);
        assert_eq!(ckpts.load((3, 2), &network).expect("load"), state(3, 2));
        assert_eq!(ckpts.load((2, 1), &network).expect("load"), state(2, 1));
        // A checkpoint with a velocity, cut anywhere, is refused.
        let bytes = ckpts.encode(&state(3, 2));
        for cut in [8, 16, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                ckpts.decode(&bytes[..cut], &network).is_err(),
                "cut at {cut}"
            );
        }
        // Another job's checkpoints are not ours.
        let other = Checkpoints::new(dir.path().join("c"), 43);
        assert!(other.positions().expect("list").is_empty());
        assert!(other.load((3, 2), &network).is_err());
    }
}
