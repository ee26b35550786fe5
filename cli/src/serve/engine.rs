//! The evaluation loop of a serving server: with the other server, it agrees on which waiting
//! requests to evaluate together and runs the network on their shares.
//!
//! `P0` leads: it proposes the oldest waiting request ids (up to the batch limit); `P1` says
//! which of them it has too (waiting briefly for stragglers) and whether both were asked for
//! the same output; both then evaluate exactly the agreed requests, in the proposed order, in
//! one MPC evaluation, each request with its own rows of the weight-bound triples (so the
//! same randomness serves batches of any size). Requests arriving meanwhile form the next batch, so batches grow with load and a
//! lone request waits for nothing. When idle, `P0` proposes an empty batch now and then, so
//! `P1` still expires requests `P0` never received.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use dyad_link::{Channel, PartyId, PartyLink};
use dyad_online::bytes::{Reader, put_string};
use dyad_online::model::Network;
use dyad_online::nn::{Params, Secure, predict};
use dyad_online::protocols::{Comparison, WeightMasks, argmax_rows};
use dyad_online::randomness::RandomnessError;
use dyad_online::{Config, FixedPoint, Party, ProtocolError, Z64};
use dyad_store::{StockpileRandomness, StoreClient};
use ndarray::{Array2, Axis, IxDyn};
use tokio::sync::watch;
use tonic::Status;

use super::metrics::ServeMetrics;
use super::requests::{Answer, Output, Pending, Requests};

/// Requests' worth of randomness taken from the stockpile at a time.
const SERVING_PREFETCH: u64 = 32;
/// How often an idle leader proposes an empty batch.
const HEARTBEAT: Duration = Duration::from_millis(100);
/// How long the follower waits for a proposed request it has not received yet.
const STRAGGLER_WAIT: Duration = Duration::from_millis(20);

/// The served model: this server's share of it.
pub struct Model {
    pub network: Network,
    pub fixed: FixedPoint,
    pub params: Params<Z64>,
}

/// Everything the loop needs besides the link.
pub struct Engine {
    pub party: PartyId,
    pub model: Model,
    pub requests: Arc<Requests>,
    pub max_batch: usize,
    /// The comparison both servers and the offline plan use.
    pub comparison: Comparison,
    /// The stockpile's address and token.
    pub store: (String, String),
    /// How long an evaluation waits for a dry stockpile before its requests fail.
    pub stock_wait: Duration,
    pub metrics: Arc<ServeMetrics>,
}

/// A proposed request's fate, as the follower sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Both servers have it, for the same output.
    Agreed = 0,
    /// The follower has not received it (yet).
    Missing = 1,
    /// The two servers were asked for different outputs.
    Mismatch = 2,
}

impl Engine {
    /// Serves until `stop`; after a broken link, fails what is waiting and reconnects.
    pub async fn run(
        &self,
        mut link: PartyLink,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        loop {
            let result = self.session(&mut link, &stop).await;
            let lost = match &result {
                Ok(()) => return Ok(()),
                Err(e) if crate::train::peer_lost(e) => e.root_cause().to_string(),
                Err(_) => return result,
            };
            self.requests.fail_all(&Status::unavailable(format!(
                "the other server is unreachable ({lost}); retry once it is back"
            )));
            eprintln!("lost the other server ({lost}); waiting for it to come back");
            let mut stop = stop.clone();
            link = tokio::select! {
                link = link.reconnect() => link?,
                _ = stop.changed() => return Ok(()),
            };
            eprintln!("the other server is back; serving again");
        }
    }

    /// One connected stretch: agree on the model, then evaluate batches until stopped.
    async fn session(
        &self,
        link: &mut PartyLink,
        stop: &watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        self.metrics.session(link.meter());
        let mut control = link.channel().await?;
        let mine = format!("{}f={}", self.model.network, self.model.fixed.f);
        let theirs = control.exchange_for_agreement(mine.as_bytes()).await?;
        if theirs != mine.as_bytes() {
            bail!(
                "the other server serves another model; refusing to serve:\n  this server: {}\n  the other:   {}",
                mine.replace('\n', "; "),
                String::from_utf8_lossy(&theirs).replace('\n', "; ")
            );
        }
        let (addr, token) = &self.store;
        let client = StoreClient::connect(addr, token)
            .await
            .map_err(anyhow::Error::msg)?;
        let coordination = link.channel().await?;
        // Each take is a store round trip at P0, an announcement and another at P1, on the
        // request's critical path: take for many requests at once (what is left when the
        // session ends is discarded, as the banks' unused rows are).
        let randomness =
            StockpileRandomness::new(self.party, client, coordination, self.stock_wait)
                .await
                .map_err(anyhow::Error::msg)?
                .with_prefetch(SERVING_PREFETCH);
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
                anyhow::Ok(())
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
    async fn lead(&self, control: &mut Channel) -> anyhow::Result<Vec<(String, Pending)>> {
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
    async fn follow(&self, control: &mut Channel) -> anyhow::Result<Vec<(String, Pending)>> {
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
        control
            .send(&verdicts.iter().map(|v| *v as u8).collect::<Vec<u8>>())
            .await?;
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
            pending.answer(Err(Status::invalid_argument(format!(
                "the two servers were asked for different outputs for request {id}"
            ))));
        }
        self.requests.take(&ids(Verdict::Agreed))
    }

    /// Runs the network on the agreed requests and answers them. A dry stockpile fails the
    /// batch and serving goes on; a broken link ends the session.
    async fn evaluate(
        &self,
        party: &mut Party<StockpileRandomness>,
        masks: &mut WeightMasks,
        batch: Vec<(String, Pending)>,
    ) -> anyhow::Result<()> {
        let size = batch.len();
        self.metrics.batch(size);
        let result = self.answers(party, masks, &batch).await;
        match result {
            Ok(answers) => {
                for ((_, pending), answer) in batch.into_iter().zip(answers) {
                    pending.answer(Ok((answer, size)));
                }
                Ok(())
            }
            Err(e) => {
                let status = status_of(&e);
                for (_, pending) in batch {
                    pending.answer(Err(status.clone()));
                }
                match status.code() {
                    tonic::Code::ResourceExhausted => Ok(()),
                    _ => Err(e).context("an evaluation failed"),
                }
            }
        }
    }

    /// This server's shares of the answers.
    async fn answers(
        &self,
        party: &mut Party<StockpileRandomness>,
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

/// The gRPC status for a failed evaluation.
fn status_of(e: &ProtocolError) -> Status {
    match e {
        ProtocolError::Randomness(RandomnessError::Exhausted { .. }) => {
            Status::resource_exhausted(format!(
                "this server's stockpile has run dry ({e}); the offline workers refill it, retry later"
            ))
        }
        ProtocolError::Link(_) | ProtocolError::Randomness(RandomnessError::Link(_)) => {
            Status::unavailable(format!("the link to the other server broke: {e}"))
        }
        _ => Status::internal(format!("the evaluation failed: {e}")),
    }
}

fn encode_proposal(proposal: &[(String, Output)]) -> Vec<u8> {
    let mut out = (proposal.len() as u32).to_le_bytes().to_vec();
    for (id, output) in proposal {
        put_string(&mut out, id);
        out.push(output.code());
    }
    out
}

fn decode_proposal(bytes: &[u8]) -> anyhow::Result<Vec<(String, Output)>> {
    let bad = || anyhow::anyhow!("the other server sent a malformed batch proposal");
    let mut r = Reader::new(bytes);
    let n = r.u32().map_err(|_| bad())?;
    (0..n)
        .map(|_| {
            let id = r.string().map_err(|_| bad())?.ok_or_else(bad)?;
            let output = Output::from_code(r.u8().map_err(|_| bad())?).ok_or_else(bad)?;
            Ok((id, output))
        })
        .collect()
}

fn decode_verdicts(bytes: &[u8], n: usize) -> anyhow::Result<Vec<Verdict>> {
    let verdict = |b: u8| {
        [Verdict::Agreed, Verdict::Missing, Verdict::Mismatch]
            .into_iter()
            .find(|v| *v as u8 == b)
    };
    let verdicts: Option<Vec<Verdict>> = bytes.iter().map(|&b| verdict(b)).collect();
    match verdicts {
        Some(v) if v.len() == n => Ok(v),
        _ => bail!("the other server sent a malformed answer to a batch proposal"),
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
        assert_eq!(
            decode_verdicts(&[0, 2], 2).expect("decodes"),
            vec![Verdict::Agreed, Verdict::Mismatch]
        );
        assert!(decode_verdicts(&[0, 7], 2).is_err());
        assert!(decode_verdicts(&[0], 2).is_err());
    }
}
