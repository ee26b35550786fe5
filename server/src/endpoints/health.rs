//! The health of a long-running process, for orchestrators' probes (`--health ADDR`):
//! `GET /healthz` answers 200 while the process's main loop runs, `GET /readyz` 200 when it
//! can do its job. Each says why not, in a line of text, with 503.
//!
//! Readiness is a set of named conditions (a worker's "peer" and "stockpile", say), each
//! met or not with a reason; the process is ready when all are met.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dyad_store_client::StoreClient;

use tokio::sync::watch;

/// The conditions of one process, shared by its main loop and its health endpoint.
pub struct Health {
    state: Mutex<State>,
}

struct State {
    stopping: bool,
    /// Each condition and its state.
    conditions: Vec<(&'static str, Condition)>,
}

/// A readiness condition's state, with the line the readiness page shows for it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Condition {
    /// Met, saying how.
    Met(String),
    /// Not met, saying why.
    Unmet(String),
}

/// How often [`Health::watch_stockpile`] checks that the stockpile answers.
const STOCKPILE_CHECK: Duration = Duration::from_secs(5);

const OK: &str = "200 OK";
const UNAVAILABLE: &str = "503 Service Unavailable";

impl Health {
    /// A process whose `conditions` are not met yet, for the reasons given.
    pub fn new(conditions: &[(&'static str, &str)]) -> Arc<Health> {
        let conditions = conditions
            .iter()
            .map(|(name, why)| (*name, Condition::Unmet((*why).to_owned())))
            .collect();
        Arc::new(Health {
            state: Mutex::new(State {
                stopping: false,
                conditions,
            }),
        })
    }

    /// `condition` is met, as `how` says.
    pub fn met(&self, condition: &'static str, how: impl Into<String>) {
        self.set(condition, Condition::Met(how.into()));
    }

    /// `condition` is not met, for the reason `why`.
    pub fn unmet(&self, condition: &'static str, why: impl Into<String>) {
        self.set(condition, Condition::Unmet(why.into()));
    }

    fn set(&self, condition: &'static str, state: Condition) {
        if let Ok(mut s) = self.state.lock()
            && let Some(entry) = s.conditions.iter_mut().find(|(name, _)| *name == condition)
        {
            entry.1 = state;
        }
    }

    /// Marks the process as stopping (a signal arrived): neither alive nor ready from now on.
    pub fn stopping(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.stopping = true;
        }
    }

    /// Marks the process as stopping when `stop` turns true.
    pub fn stop_with(self: &Arc<Health>, mut stop: watch::Receiver<bool>) {
        let health = self.clone();
        tokio::spawn(async move {
            if stop.wait_for(|s| *s).await.is_ok() {
                health.stopping();
            }
        });
    }

    /// Keeps the condition "stockpile" up to date: whether `store` answers an inventory
    /// within [`STOCKPILE_CHECK`], checked every as often.
    pub fn watch_stockpile(self: &Arc<Health>, mut store: StoreClient) {
        let health = self.clone();
        tokio::spawn(async move {
            loop {
                match tokio::time::timeout(STOCKPILE_CHECK, store.inventory()).await {
                    Ok(Ok(_)) => health.met("stockpile", format!("{} answers", store.addr())),
                    Ok(Err(e)) => health.unmet(
                        "stockpile",
                        format!("{} fails: {}", store.addr(), e.message()),
                    ),
                    Err(_) => {
                        health.unmet("stockpile", format!("{} does not answer", store.addr()))
                    }
                }
                tokio::time::sleep(STOCKPILE_CHECK).await;
            }
        });
    }

    /// The answer to `GET /healthz`.
    pub fn liveness(&self) -> (&'static str, String) {
        match self.state.lock().map(|s| s.stopping) {
            Ok(false) => (OK, "alive\n".into()),
            Ok(true) => (UNAVAILABLE, "stopping\n".into()),
            Err(_) => (UNAVAILABLE, "a thread panicked\n".into()),
        }
    }

    /// The answer to `GET /readyz`: `ready` or `not ready`, then a line per condition.
    pub fn readiness(&self) -> (&'static str, String) {
        let Ok(s) = self.state.lock() else {
            return (UNAVAILABLE, "not ready: a thread panicked\n".into());
        };
        if s.stopping {
            return (UNAVAILABLE, "not ready: stopping\n".into());
        }
        let ready = s
            .conditions
            .iter()
            .all(|(_, state)| matches!(state, Condition::Met(_)));
        let mut body = String::from(if ready { "ready\n" } else { "not ready\n" });
        for (name, state) in &s.conditions {
            match state {
                Condition::Met(how) => body += &format!("{name}: {how}\n"),
                Condition::Unmet(why) => body += &format!("{name}: NOT READY: {why}\n"),
            }
        }
        (if ready { OK } else { UNAVAILABLE }, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_when_every_condition_is_met_and_never_while_stopping() {
        let health = Health::new(&[("peer", "not paired yet"), ("stockpile", "not reached")]);
        assert_eq!(health.liveness().0, OK);
        let (status, body) = health.readiness();
        assert_eq!(status, UNAVAILABLE);
        assert!(body.contains("peer: NOT READY: not paired yet"), "{body}");
        health.met("peer", "paired with 10.0.0.1:7200");
        assert_eq!(health.readiness().0, UNAVAILABLE);
        health.met("stockpile", "reached");
        let (status, body) = health.readiness();
        assert_eq!((status, body.lines().next()), (OK, Some("ready")), "{body}");
        health.unmet("peer", "lost the peer");
        assert!(health.readiness().1.contains("lost the peer"));
        health.stopping();
        assert_eq!(health.liveness(), (UNAVAILABLE, "stopping\n".into()));
        assert_eq!(health.readiness().0, UNAVAILABLE);
    }
}
