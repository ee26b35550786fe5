//! One connected stretch of a training job: agree with the peer on the job and on where to
//! resume, set up the stockpile randomness and the party, then train until the job is done,
//! a signal stops it, or the link breaks (the caller reconnects and comes back here).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dyad_link::{LinkCounters, LinkError, PartyId, PartyLink};
use dyad_online::nn::{Params, Secure};
use dyad_online::randomness::RandomnessError;
use dyad_online::{Party, ProtocolError, Z64};
use dyad_store::{StockpileRandomness, StoreClient};
use tokio::sync::watch;

use super::checkpoint::{Checkpoints, agree_on_resume};
use super::job::{self, Job};
use super::metrics::TrainMetrics;
use super::progress::{Progress, StockMonitor};
use super::runner::{self, Ended, Flow, Hooks, State, Stats};
use crate::data::shares::DatasetShare;

/// Everything a session needs.
pub struct Setup {
    /// The job.
    pub job: Job,
    /// This server's share of the data.
    pub data: DatasetShare,
    /// This server.
    pub party: PartyId,
    /// Its stockpile's address and token.
    pub store: (String, String),
    /// Where checkpoints and results go.
    pub out: PathBuf,
    /// How long to wait for the stockpile when it runs dry.
    pub stock_wait: Duration,
    /// What `--metrics` shows.
    pub metrics: Arc<TrainMetrics>,
}

impl Setup {
    /// The checkpoints of this job.
    pub fn checkpoints(&self) -> Checkpoints {
        Checkpoints::new(self.out.join("checkpoints"), self.job.fingerprint())
    }
}

/// Whether `e` means the link to the peer broke (worth reconnecting), rather than a refusal or
/// a fault that would happen again.
pub fn peer_lost(e: &anyhow::Error) -> bool {
    let broken = |l: &LinkError| matches!(l, LinkError::Disconnected(_));
    e.chain().any(|c| {
        c.downcast_ref::<LinkError>().is_some_and(broken)
            || matches!(
                c.downcast_ref::<ProtocolError>(),
                Some(ProtocolError::Link(l) | ProtocolError::Randomness(RandomnessError::Link(l)))
                    if broken(l)
            )
            || matches!(c.downcast_ref::<RandomnessError>(), Some(RandomnessError::Link(l)) if broken(l))
    })
}

/// Runs the job over `link` from the latest checkpoint both sides hold.
pub async fn run(
    link: &mut PartyLink,
    setup: &Setup,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<(Ended, State<Z64>)> {
    let job = &setup.job;
    let mut channel = job::agree(link, job).await?;
    let checkpoints = setup.checkpoints();
    let resume = agree_on_resume(&mut channel, &checkpoints.positions()?).await?;

    let (addr, token) = &setup.store;
    let connect = async || {
        StoreClient::connect(addr, token)
            .await
            .map_err(anyhow::Error::msg)
    };
    let coordination = link.channel().await?;
    let randomness = StockpileRandomness::new(
        setup.party,
        connect().await?,
        coordination,
        setup.stock_wait,
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let mut party = Party::new(link, randomness, job.config()).await?;

    let mut state = match resume {
        Some(position) => checkpoints.load(position, &job.network)?,
        None => {
            let initial =
                Params::initial(&job.network, job.seed, job.fixed).map_err(anyhow::Error::msg)?;
            State::start(initial.import(&Secure::new(&mut party)))
        }
    };
    let stock = StockMonitor::start(connect().await?, job.step_demand()?);
    let progress = Progress::new(state.step, job.total_steps());
    progress.say(&match resume {
        Some((step, evaluations)) => format!(
            "resuming at step {step} ({evaluations} evaluations done), in agreement with the peer"
        ),
        None => format!(
            "training {} from the start, in agreement with the peer",
            job.network.name
        ),
    });
    let mut hooks = SecureHooks {
        base: state.stats,
        at_start: party.counters(),
        store_at_start: party.randomness().time_in_store(),
        started: Instant::now(),
        checkpoints,
        progress,
        stock,
        stop: stop.clone(),
        epochs: job.epochs,
        per_epoch: job.steps_per_epoch(),
        reported: state.curve.len(),
        metrics: setup.metrics.clone(),
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
struct SecureHooks {
    base: Stats,
    at_start: LinkCounters,
    store_at_start: Duration,
    started: Instant,
    checkpoints: Checkpoints,
    progress: Progress,
    stock: StockMonitor,
    stop: watch::Receiver<bool>,
    epochs: usize,
    per_epoch: u64,
    reported: usize,
    metrics: Arc<TrainMetrics>,
    /// The last step timed, and when: an evaluation's save does not count as a step, its time
    /// goes into the step after it.
    last_step: (u64, Instant),
}

impl Hooks<Secure<'_, StockpileRandomness>> for SecureHooks {
    fn account(&mut self, backend: &Secure<'_, StockpileRandomness>, stats: &mut Stats) {
        let link = backend.party.counters() - self.at_start;
        let store = backend.party.randomness().time_in_store() - self.store_at_start;
        *stats = Stats {
            seconds: self.base.seconds + self.started.elapsed().as_secs_f64(),
            store_seconds: self.base.store_seconds + store.as_secs_f64(),
            bytes_sent: self.base.bytes_sent + link.bytes_sent,
            bytes_received: self.base.bytes_received + link.bytes_received,
            rounds: self.base.rounds + link.rounds,
        };
    }

    fn save(&mut self, state: &State<Z64>) -> anyhow::Result<Flow> {
        self.checkpoints.save(state)?;
        let seconds = (state.step > self.last_step.0).then(|| {
            let seconds = self.last_step.1.elapsed().as_secs_f64();
            self.last_step = (state.step, Instant::now());
            seconds
        });
        self.metrics.step(
            state.step,
            seconds,
            state.stats,
            state.curve.last().copied(),
        );
        for p in &state.curve[self.reported..] {
            let loss = p
                .loss
                .map(|l| format!(", mean training loss {l:.4}"))
                .unwrap_or_default();
            self.progress.say(&format!(
                "{}: test accuracy {:.2}%{loss} (revealed under MPC)",
                p.place(self.per_epoch),
                100.0 * p.accuracy
            ));
        }
        let epoch = (state.step / self.per_epoch.max(1)) as usize + 1;
        let mut detail = format!("epoch {}/{}", epoch.min(self.epochs), self.epochs);
        if let Some(p) = state.curve.last() {
            detail += &format!("  test accuracy {:.1}%", 100.0 * p.accuracy);
        }
        if let Some(steps) = self.stock.steps() {
            detail += &format!("  stock {steps:.1} steps");
        }
        self.progress.update(state.step, &detail);
        self.reported = state.curve.len();
        Ok(match *self.stop.borrow() {
            true => Flow::Stop,
            false => Flow::Continue,
        })
    }
}
