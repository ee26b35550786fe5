//! The requests a server has received and not yet answered, keyed by request id: the gRPC
//! handlers put them in, the evaluation loop takes them out in the batches both servers agree
//! on, and requests the other server never gets expire.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dyad_online::Z64;
use tokio::sync::{Notify, oneshot};

use super::Refusal;

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Shares of the logits.
    Logits,
    /// A share of the class index.
    Class,
}

impl Output {
    /// Its byte in the servers' batch proposals.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The output with this byte, if any.
    pub fn from_code(code: u8) -> Option<Output> {
        [Output::Logits, Output::Class]
            .into_iter()
            .find(|o| o.code() == code)
    }
}

/// This server's answer to one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Its share of the logits.
    Logits(Vec<Z64>),
    /// Its share of the class index.
    Class(Z64),
}

/// An answer and how many requests were evaluated together with it.
pub type Reply = Result<(Answer, usize), Refusal>;

/// A request waiting for its evaluation.
pub struct Pending {
    /// This server's share of the input.
    pub input: Vec<Z64>,
    /// What it asks for.
    pub output: Output,
    arrived: Instant,
    reply: oneshot::Sender<Reply>,
}

/// The waiting requests.
pub struct Requests {
    waiting: Mutex<HashMap<String, Pending>>,
    /// Wakes the evaluation loop when a request arrives.
    pub arrived: Notify,
    /// How long a request may wait for the other server to have it too.
    pub timeout: Duration,
}

impl Requests {
    /// No requests yet; each may wait `timeout` for the other server to have it too.
    pub fn new(timeout: Duration) -> Requests {
        Requests {
            waiting: Mutex::new(HashMap::new()),
            arrived: Notify::new(),
            timeout,
        }
    }

    /// Queues a request; the receiver gets its reply.
    pub fn submit(
        &self,
        id: String,
        input: Vec<Z64>,
        output: Output,
    ) -> Result<oneshot::Receiver<Reply>, Refusal> {
        let (reply, answer) = oneshot::channel();
        let mut waiting = self.waiting.lock().expect("lock");
        if waiting.contains_key(&id) {
            return Err(Refusal::Duplicate(id));
        }
        waiting.insert(
            id,
            Pending {
                input,
                output,
                arrived: Instant::now(),
                reply,
            },
        );
        drop(waiting);
        self.arrived.notify_one();
        Ok(answer)
    }

    /// The ids and outputs of up to `most` waiting requests, oldest first.
    pub fn oldest(&self, most: usize) -> Vec<(String, Output)> {
        let waiting = self.waiting.lock().expect("lock");
        let mut all: Vec<(&String, &Pending)> = waiting.iter().collect();
        all.sort_by_key(|(_, p)| p.arrived);
        all.into_iter()
            .take(most)
            .map(|(id, p)| (id.clone(), p.output))
            .collect()
    }

    /// Whether a request is waiting, and what it asks for.
    pub fn output_of(&self, id: &str) -> Option<Output> {
        self.waiting.lock().expect("lock").get(id).map(|p| p.output)
    }

    /// Takes the requests with these ids (all must be waiting).
    pub fn take(&self, ids: &[String]) -> Vec<(String, Pending)> {
        let mut waiting = self.waiting.lock().expect("lock");
        ids.iter()
            .filter_map(|id| Some((id.clone(), waiting.remove(id)?)))
            .collect()
    }

    /// Fails the requests that waited longer than the timeout: the other server never got
    /// them (or never asked this one about them).
    pub fn expire(&self, other: &'static str) {
        let mut waiting = self.waiting.lock().expect("lock");
        let old: Vec<String> = waiting
            .iter()
            .filter(|(_, p)| p.arrived.elapsed() > self.timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for id in old {
            if let Some(p) = waiting.remove(&id) {
                let _ = p.reply.send(Err(Refusal::NotPaired {
                    id,
                    other,
                    timeout: self.timeout,
                }));
            }
        }
    }

    /// Fails every waiting request with `refusal`.
    pub fn fail_all(&self, refusal: &Refusal) {
        let mut waiting = self.waiting.lock().expect("lock");
        for (_, p) in waiting.drain() {
            let _ = p.reply.send(Err(refusal.clone()));
        }
    }
}

impl Pending {
    /// Answers the request (a client that gave up is no error).
    pub fn answer(self, reply: Reply) {
        let _ = self.reply.send(reply);
    }
}
