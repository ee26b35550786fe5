//! One connected stretch of a training job: agree with the peer on the job and on where to
//! resume, open this server's randomness and the party, then train until the job is done,
//! a signal stops it, or the link breaks (the caller reconnects and comes back here).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use dyad_link::{LinkCounters, PartyId, PartyLink};
use dyad_online::nn::Secure;
use dyad_online::{Party, Z64};
use dyad_randomness::Randomness;
use tokio::sync::watch;

use super::TrainingError;
use super::checkpoint::{Checkpoints, Position, agree_on_resume};
use super::job::{self, Job};
use super::runner::{self, Ended, Flow, Hooks, State, Stats};
use crate::{DatasetShare, RandomnessSource};

/// Everything a session needs.
pub struct Setup<S> {
    /// The job.
    pub job: Job,
    /// This server's share of the data.
    pub data: DatasetShare,
    /// This server.
    pub party: PartyId,
    /// Where its correlated randomness comes from.
    pub source: S,
    /// Where checkpoints go.
    pub out: PathBuf,
}

impl<S> Setup<S> {
    /// The checkpoints of this job.
    pub fn checkpoints(&self) -> Checkpoints {
        Checkpoints::new(self.out.join("checkpoints"), self.job.fingerprint())
    }
}

/// What a session reports as it goes, for the front end to show or count.
pub trait Observer: Send {
    /// The two servers agreed where to start: at the checkpoint `resume` (step and evaluations
    /// done) both hold, or from the start; `state` is where the run stands.
    fn started(&mut self, resume: Option<Position>, state: &State<Z64>);

    /// A checkpoint was saved: after a step, which took `step_seconds`, or after an
    /// evaluation (`None`), whose new points are at the end of `state.curve`.
    fn saved(&mut self, state: &State<Z64>, step_seconds: Option<f64>);

    /// The link to the other server broke (why); the job waits for it to come back, then
    /// resumes from the latest checkpoint both hold.
    fn peer_lost(&mut self, why: &str);
}

/// Runs the job over `link` from the latest checkpoint both sides hold.
pub async fn run<S: RandomnessSource>(
    link: &mut PartyLink,
    setup: &Setup<S>,
    observer: &mut dyn Observer,
    stop: &watch::Receiver<bool>,
) -> Result<(Ended, State<Z64>), TrainingError> {
    let job = &setup.job;
    let mut channel = job::agree(link, job).await?;
    let checkpoints = setup.checkpoints();
    let resume = agree_on_resume(&mut channel, &checkpoints.positions()?).await?;

    let coordination = link.channel().await?;
    let randomness = setup.source.open(setup.party, coordination).await?;
    let mut party = Party::new(link, randomness, job.config()).await?;

    let mut state = match resume {
        Some(position) => checkpoints.load(position, &job.network, job.optimizer.moments())?,
        None => {
            let initial = job.initial_params()?;
            State::start(initial.import(&Secure::new(&mut party)), &job.hyper())
        }
    };
    observer.started(resume, &state);
    let mut hooks = SecureHooks {
        base: state.stats,
        at_start: party.counters(),
        store_at_start: party.randomness().time_waiting(),
        started: Instant::now(),
        checkpoints,
        observer,
        stop: stop.clone(),
        last_step: (state.step, Instant::now()),
    };
    let data = &setup.data;
    let mut stop = stop.clone();
    let mut backend = Secure::new(&mut party);
    let ended = tokio::select! {
        ended = runner::run(
            &mut backend,
            job,
            &data.train,
            &data.test,
            &mut state,
            &mut hooks,
        ) => ended?,
        // A stop between steps ends the run after its checkpoint (the hooks see it); one
        // during a step (waiting for a dry stockpile, say) abandons the step: the latest
        // checkpoint is where the next start resumes, and the randomness the step took is
        // never served again.
        _ = stop.wait_for(|s| *s) => Ended::Stopped,
    };
    Ok((ended, state))
}

/// Accounts, checkpoints, reports and watches for a stop signal.
struct SecureHooks<'o> {
    base: Stats,
    at_start: LinkCounters,
    store_at_start: Duration,
    started: Instant,
    checkpoints: Checkpoints,
    observer: &'o mut dyn Observer,
    stop: watch::Receiver<bool>,
    /// The last step timed, and when: an evaluation's save does not count as a step, its time
    /// goes into the step after it.
    last_step: (u64, Instant),
}

impl<R: Randomness> Hooks<Secure<'_, R>> for SecureHooks<'_> {
    fn account(&mut self, backend: &Secure<'_, R>, stats: &mut Stats) {
        let link = backend.party.counters() - self.at_start;
        let store = backend.party.randomness().time_waiting() - self.store_at_start;
        *stats = Stats {
            seconds: self.base.seconds + self.started.elapsed().as_secs_f64(),
            store_seconds: self.base.store_seconds + store.as_secs_f64(),
            bytes_sent: self.base.bytes_sent + link.bytes_sent,
            bytes_received: self.base.bytes_received + link.bytes_received,
            rounds: self.base.rounds + link.rounds,
        };
    }

    fn save(&mut self, state: &State<Z64>) -> Result<Flow, TrainingError> {
        self.checkpoints.save(state)?;
        let seconds = (state.step > self.last_step.0).then(|| {
            let seconds = self.last_step.1.elapsed().as_secs_f64();
            self.last_step = (state.step, Instant::now());
            seconds
        });
        self.observer.saved(state, seconds);
        Ok(match *self.stop.borrow() {
            true => Flow::Stop,
            false => Flow::Continue,
        })
    }
}
