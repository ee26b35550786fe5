//! The evaluation loop of a serving server: with the other server, it agrees on which waiting
//! requests to evaluate together and runs the network on their shares.
//!
//! `P0` leads: it proposes the oldest waiting request ids (up to the batch limit); `P1` says
//! which of them it has too (waiting briefly for stragglers) and whether both were asked for
//! the same output; both then evaluate exactly the agreed requests, in the proposed order, in
//! one MPC evaluation, each request with its own rows of the weight-bound triples (so the
//! same randomness serves batches of any size). Requests arriving meanwhile form the next
//! batch, so batches grow with load and a lone request waits for nothing. When idle, `P0`
//! proposes an empty batch now and then, so `P1` still expires requests `P0` never received.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dyad_link::{Channel, LinkMeter, PartyId, PartyLink, Terms};
use dyad_online::model::Network;
use dyad_online::nn::{Params, Secure, predict};
use dyad_online::protocols::{Comparison, WeightMasks, argmax_rows};
use dyad_online::{Config, FixedPoint, Party, ProtocolError, Z64};
use dyad_randomness::RandomnessError;
use ndarray::{Array2, Axis, IxDyn};
use tokio::sync::watch;

use super::ServeError;
use super::messages::{
    Verdict, decode_proposal, decode_verdicts, encode_proposal, encode_verdicts,
};
use super::refusal::Refusal;
use super::requests::{Answer, Output, Pending, Requests};
use crate::RandomnessSource;

/// How often an idle leader proposes an empty batch.
const HEARTBEAT: Duration = Duration::from_millis(100);
/// How long the follower waits for a proposed request it has not received yet.
const STRAGGLER_WAIT: Duration = Duration::from_millis(20);

/// The served model: this server's share of it.
pub struct Model {
    /// The architecture.
    pub network: Network,
    /// Its fixed-point encoding.
    pub fixed: FixedPoint,
    /// This server's share of the parameters.
    pub params: Params<Z64>,
}

/// What the engine reports as it runs, for the front end to print or count.
#[derive(Debug, Clone)]
pub enum ServingEvent {
    /// A session with the other server began; the meter reads its link's traffic.
    Paired(LinkMeter),
    /// This many requests were evaluated together.
    Batch(usize),
    /// The link to the other server broke (why); waiting requests failed, and the engine waits
    /// for the other server to come back.
    PeerLost(String),
    /// The other server is back; serving again.
    PeerBack,
}

/// Everything the loop needs besides the link.
pub struct Engine<S> {
    /// This server.
    pub party: PartyId,
    /// What it serves.
    pub model: Model,
    /// The requests its clients sent.
    pub requests: Arc<Requests>,
    /// The most requests evaluated together.
    pub max_batch: usize,
    /// The comparison both servers and the offline plan use.
    pub comparison: Comparison,
    /// Where each session's correlated randomness comes from.
    pub source: S,
    /// Receives the engine's [`ServingEvent`]s.
    pub events: Arc<dyn Fn(ServingEvent) + Send + Sync>,
}

impl<S: RandomnessSource> Engine<S> {
    /// Serves until `stop`; after a broken link, fails what is waiting and reconnects.
    pub async fn run(
        &self,
        mut link: PartyLink,
        stop: watch::Receiver<bool>,
    ) -> Result<(), ServeError> {
        loop {
            let lost = match self.session(&mut link, &stop).await {
                Ok(()) => return Ok(()),
                Err(e) if e.peer_lost() => e.to_string(),
                Err(e) => return Err(e),
            };
            self.requests
                .fail_all(&Refusal::PeerUnreachable(lost.clone()));
            (self.events)(ServingEvent::PeerLost(lost));
            let mut stop = stop.clone();
            link = tokio::select! {
                link = link.reconnect() => link?,
                _ = stop.changed() => return Ok(()),
            };
            (self.events)(ServingEvent::PeerBack);
        }
    }

    /// One connected stretch: agree on the model, then evaluate batches until stopped.
    async fn session(
        &self,
        link: &mut PartyLink,
        stop: &watch::Receiver<bool>,
    ) -> Result<(), ServeError> {
        (self.events)(ServingEvent::Paired(link.meter()));
        let mut control = link.channel().await?;
        let terms = Terms::new()
            .term("model", &self.model.network)
            .term("fixed point", format!("f = {}", self.model.fixed.f));
        control.agree(&terms).await?;
        let coordination = link.channel().await?;
        let randomness = self.source.open(self.party, coordination).await?;
        let config = Config {
            fixed: self.model.fixed,
            checkzero: self.comparison.checkzero,
            prime: self.comparison.prime,
            ..Config::default()
        };
        let mut party = Party::new(link, randomness, config).await?;
        // Weight-bound triples live as long as this session: both servers start afresh after
        // a reconnect, so their banks advance in step.
        let mut masks = WeightMasks::new(self.model.params.weights());
        let mut stop = stop.clone();
        loop {
            let round = async {
                let agreed = match self.party {
                    PartyId::P0 => self.lead(&mut control).await?,
                    PartyId::P1 => self.follow(&mut control).await?,
                };
                if !agreed.is_empty() {
                    self.evaluate(&mut party, &mut masks, agreed).await?;
                }
                Ok::<(), ServeError>(())
            };
            // A stop ends the round at once (its requests learn that the server is going
            // away); the link is not reused.
            tokio::select! {
                round = round => round?,
                _ = stop.wait_for(|s| *s) => return Ok(()),
            }
        }
    }

    /// `P0`: proposes a batch and learns which of it `P1` has.
    async fn lead(&self, control: &mut Channel) -> Result<Vec<(String, Pending)>, ServeError> {
        if self.requests.oldest(1).is_empty() {
            let _ = tokio::time::timeout(HEARTBEAT, self.requests.arrived.notified()).await;
        }
        self.requests.expire("server 1");
        let proposal = self.requests.oldest(self.max_batch);
        control.send(&encode_proposal(&proposal)).await?;
        let verdicts = decode_verdicts(&control.recv().await?, proposal.len())?;
        let agreed = self.settle(&proposal, &verdicts);
        if agreed.is_empty() && !proposal.is_empty() {
            // Server 1 lacks them all for now: give it a moment rather than spin.
            tokio::time::sleep(STRAGGLER_WAIT).await;
        }
        Ok(agreed)
    }

    /// `P1`: answers a proposal.
    async fn follow(&self, control: &mut Channel) -> Result<Vec<(String, Pending)>, ServeError> {
        let proposal = decode_proposal(&control.recv().await?)?;
        let deadline = Instant::now() + STRAGGLER_WAIT;
        while proposal
            .iter()
            .any(|(id, _)| self.requests.output_of(id).is_none())
            && Instant::now() < deadline
        {
            let _ =
                tokio::time::timeout_at(deadline.into(), self.requests.arrived.notified()).await;
        }
        // Expire first: a request that expired after its verdict would leave the two servers
        // with different batches.
        self.requests.expire("server 0");
        let verdicts: Vec<Verdict> = proposal
            .iter()
            .map(|(id, output)| match self.requests.output_of(id) {
                None => Verdict::Missing,
                Some(o) if o != *output => Verdict::Mismatch,
                Some(_) => Verdict::Agreed,
            })
            .collect();
        control.send(&encode_verdicts(&verdicts)).await?;
        Ok(self.settle(&proposal, &verdicts))
    }

    /// Fails the mismatched requests and takes the agreed ones, in proposal order.
    fn settle(
        &self,
        proposal: &[(String, Output)],
        verdicts: &[Verdict],
    ) -> Vec<(String, Pending)> {
        let ids = |wanted: Verdict| -> Vec<String> {
            proposal
                .iter()
                .zip(verdicts)
                .filter(|(_, v)| **v == wanted)
                .map(|((id, _), _)| id.clone())
                .collect()
        };
        for (id, pending) in self.requests.take(&ids(Verdict::Mismatch)) {
            pending.answer(Err(Refusal::OutputMismatch(id)));
        }
        self.requests.take(&ids(Verdict::Agreed))
    }

    /// Runs the network on the agreed requests and answers them. A dry stockpile fails the
    /// batch and serving goes on; a broken link ends the session.
    async fn evaluate(
        &self,
        party: &mut Party<S::Randomness>,
        masks: &mut WeightMasks,
        batch: Vec<(String, Pending)>,
    ) -> Result<(), ServeError> {
        let size = batch.len();
        (self.events)(ServingEvent::Batch(size));
        match self.answers(party, masks, &batch).await {
            Ok(answers) => {
                for ((_, pending), answer) in batch.into_iter().zip(answers) {
                    pending.answer(Ok((answer, size)));
                }
                Ok(())
            }
            Err(e) => {
                let refusal = refusal_of(&e);
                for (_, pending) in batch {
                    pending.answer(Err(refusal.clone()));
                }
                match refusal {
                    Refusal::StockpileDry(_) => Ok(()),
                    _ => Err(ServeError::Evaluation(e)),
                }
            }
        }
    }

    /// This server's shares of the answers.
    async fn answers(
        &self,
        party: &mut Party<S::Randomness>,
        masks: &mut WeightMasks,
        batch: &[(String, Pending)],
    ) -> Result<Vec<Answer>, ProtocolError> {
        let network = &self.model.network;
        let i = network.input;
        let inputs: Vec<Z64> = batch
            .iter()
            .flat_map(|(_, p)| p.input.iter().copied())
            .collect();
        let x = ndarray::ArrayD::from_shape_vec(
            IxDyn(&[batch.len(), i.channels, i.height, i.width]),
            inputs,
        )
        .map_err(|e| ProtocolError::Shape(e.to_string()))?;
        let logits: Array2<Z64> = predict(
            &mut Secure::serving(party, batch.len(), masks),
            network,
            &self.model.params,
            x,
        )
        .await?;
        let class_rows: Vec<usize> = (0..batch.len())
            .filter(|&r| batch[r].1.output == Output::Class)
            .collect();
        let classes = match class_rows.is_empty() {
            true => Default::default(),
            false => argmax_rows(party, &logits.select(Axis(0), &class_rows)).await?,
        };
        let mut next_class = classes.iter();
        Ok(batch
            .iter()
            .zip(logits.rows())
            .map(|((_, p), row)| match p.output {
                Output::Logits => Answer::Logits(row.to_vec()),
                Output::Class => Answer::Class(*next_class.next().expect("one per class row")),
            })
            .collect())
    }
}

/// What the requests of a failed evaluation are told.
fn refusal_of(e: &ProtocolError) -> Refusal {
    match e {
        ProtocolError::Randomness(RandomnessError::Exhausted { .. }) => {
            Refusal::StockpileDry(e.to_string())
        }
        ProtocolError::Link(_) | ProtocolError::Randomness(RandomnessError::Link(_)) => {
            Refusal::PeerUnreachable(format!("the link to the other server broke: {e}"))
        }
        _ => Refusal::Failed(e.to_string()),
    }
}
