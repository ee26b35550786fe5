//! Checkpoints of a server's training state (its model share, the moments the optimizer keeps,
//! the unrevealed loss sum, the curve so far), written atomically after every step and every evaluation; the last two are
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

/// A checkpoint without an optimizer's moments (plain SGD; the only kind before optimizers).
const MAGIC: &[u8; 8] = b"DYADCKP1";
/// A checkpoint with a velocity (momentum): the model's length-prefixed bytes, then the
/// velocity's. Read, no longer written.
const MAGIC_VELOCITY: &[u8; 8] = b"DYADCKP2";
/// A checkpoint with moments (momentum's one, Adam's two): their count, then the model's and
/// each moment's bytes, each length-prefixed.
const MAGIC_MOMENTS: &[u8; 8] = b"DYADCKP3";
/// Every format this release reads.
const MAGICS: [&[u8; 8]; 3] = [MAGIC, MAGIC_VELOCITY, MAGIC_MOMENTS];
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
                && MAGICS.iter().any(|m| header[..8] == m[..])
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

    /// Loads the checkpoint at `position` of a job whose optimizer keeps `moments` values per
    /// parameter (the fingerprint already names the optimizer: another count is a damaged
    /// or forged file).
    pub fn load(
        &self,
        position: Position,
        network: &Network,
        moments: usize,
    ) -> Result<State<Z64>, FileError> {
        let path = self.path(position);
        let bytes = crate::files::read(&path)?;
        let state = self
            .decode(&bytes, network)
            .map_err(FileError::format("a usable checkpoint", &path))?;
        match state.moments.len() == moments {
            true => Ok(state),
            false => Err(FileError::format("a usable checkpoint", &path)(
                FormatError::Field(format!(
                    "it holds {} optimizer moments where the job keeps {moments}",
                    state.moments.len()
                )),
            )),
        }
    }

    /// Reads a checkpoint's bytes: refuses anything but a checkpoint of this job.
    pub fn decode(&self, bytes: &[u8], network: &Network) -> Result<State<Z64>, FormatError> {
        decode(bytes, self.fingerprint, network)
    }

    /// A checkpoint's bytes.
    pub fn encode(&self, state: &State<Z64>) -> Vec<u8> {
        let mut out = match state.moments.is_empty() {
            true => MAGIC.to_vec(),
            false => MAGIC_MOMENTS.to_vec(),
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
        if state.moments.is_empty() {
            out.extend_from_slice(&params);
            return out;
        }
        out.extend_from_slice(&(state.moments.len() as u32).to_le_bytes());
        for bytes in std::iter::once(params).chain(state.moments.iter().map(Params::to_bytes)) {
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(&bytes);
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
    let magic = r.take(8)?;
    if !MAGICS.iter().any(|m| magic == &m[..]) {
        return Err(FormatError::Header { hint: "" });
    }
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
    let prefixed = |r: &mut Reader| -> Result<Params<Z64>, FormatError> {
        let length = r.u64()?;
        let bytes = r.take(usize::try_from(length).unwrap_or(usize::MAX))?;
        Ok(Params::from_bytes(bytes, network)?)
    };
    let (params, moments) = match magic {
        m if m == MAGIC => (Params::from_bytes(r.rest(), network)?, Vec::new()),
        m if m == MAGIC_VELOCITY => {
            let params = prefixed(&mut r)?;
            (params, vec![Params::from_bytes(r.rest(), network)?])
        }
        _ => {
            let count = r.u32()?;
            // Read one by one: a hostile count runs out of bytes, not of memory.
            let params = prefixed(&mut r)?;
            let mut moments = Vec::new();
            for _ in 0..count {
                moments.push(prefixed(&mut r)?);
            }
            if !r.is_empty() {
                return Err(FormatError::Trailing);
            }
            (params, moments)
        }
    };
    Ok(State {
        step,
        params,
        moments,
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
        // Steps as plain SGD (no moments), momentum (one) and Adam (two) save them, in turn.
        let moments = (0..step % 3)
            .map(|i| {
                Params::initial(&network, step + 100 + i, fixed)
                    .expect("params")
                    .import(&PlainFixed::new(fixed))
            })
            .collect();
        State {
            step,
            params,
            moments,
            loss: Z64(99),
            curve: (1..=epochs).map(point).collect(),
            stats: Stats {
                rounds: 3,
                ..Stats::default()
            },
        }
    }

    /// A momentum job's checkpoint as the previous release wrote it (`DYADCKP2`: the model
    /// length-prefixed, then the velocity) still resumes.
    #[test]
    fn reads_the_velocity_checkpoints_written_before_adam() {
        let network = Network::by_name("net-a").expect("known");
        let ckpts = Checkpoints::new(PathBuf::from("unused"), 42);
        let with_velocity = state(4, 1);
        assert_eq!(with_velocity.moments.len(), 1);
        let plain = State {
            moments: Vec::new(),
            ..with_velocity.clone()
        };
        let (params, velocity) = (plain.params.to_bytes(), with_velocity.moments[0].to_bytes());
        let head = ckpts.encode(&plain);
        let old = [
            MAGIC_VELOCITY.as_slice(),
            &head[8..head.len() - params.len()],
            &(params.len() as u64).to_le_bytes(),
            &params,
            &velocity,
        ]
        .concat();
        assert_eq!(ckpts.decode(&old, &network).expect("read"), with_velocity);
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
        assert_eq!(ckpts.load((3, 2), &network, 0).expect("load"), state(3, 2));
        assert_eq!(ckpts.load((2, 1), &network, 2).expect("load"), state(2, 1));
        // A count other than the job's optimizer keeps is refused.
        assert!(ckpts.load((2, 1), &network, 1).is_err());
        // Checkpoints with moments, cut anywhere or run on, are refused.
        for step in [4, 5] {
            let bytes = ckpts.encode(&state(step, 2));
            for cut in [8, 16, bytes.len() / 2, bytes.len() - 1] {
                assert!(
                    ckpts.decode(&bytes[..cut], &network).is_err(),
                    "cut at {cut}"
                );
            }
            let longer = [bytes.as_slice(), &[0]].concat();
            assert!(ckpts.decode(&longer, &network).is_err());
        }
        // Another job's checkpoints are not ours.
        let other = Checkpoints::new(dir.path().join("c"), 43);
        assert!(other.positions().expect("list").is_empty());
        assert!(other.load((3, 2), &network, 0).is_err());
    }
}
