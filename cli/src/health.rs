//! The health of a long-running process, for orchestrators' probes (`--health ADDR`):
//! `GET /healthz` answers 200 while the process's main loop runs, `GET /readyz` 200 when it
//! can do its job. Each says why not, in a line of text, with 503.
//!
//! Readiness is a set of named conditions (a worker's "peer" and "stockpile", say), each
//! met or not with a reason; the process is ready when all are met.

use std::sync::Mutex;

use tokio::sync::watch;

/// The conditions of one process, shared by its main loop and its health endpoint.
pub struct Health {
    state: Mutex<State>,
}

struct State {
    stopping: bool,
    /// Each condition and, when it is not met, why.
    conditions: Vec<(&'static str, Result<String, String>)>,
}

const OK: &str = "200 OK";
const UNAVAILABLE: &str = "503 Service Unavailable";

impl Health {
    /// A process whose `conditions` are not met yet, for the reasons given.
    pub fn new(conditions: &[(&'static str, &str)]) -> std::sync::Arc<Health> {
        let conditions = conditions
            .iter()
            .map(|(name, why)| (*name, Err((*why).to_owned())))
            .collect();
        std::sync::Arc::new(Health {
            state: Mutex::new(State {
                stopping: false,
                conditions,
            }),
        })
    }

    /// `condition` is met (`Ok`, saying how) or not (`Err`, saying why).
    pub fn set(&self, condition: &'static str, state: Result<String, String>) {
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
    pub fn stop_with(self: &std::sync::Arc<Health>, mut stop: watch::Receiver<bool>) {
        let health = self.clone();
        tokio::spawn(async move {
            if stop.wait_for(|s| *s).await.is_ok() {
                health.stopping();
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
        let ready = s.conditions.iter().all(|(_, state)| state.is_ok());
        let mut body = String::from(if ready { "ready\n" } else { "not ready\n" });
        for (name, state) in &s.conditions {
            match state {
                Ok(how) => body += &format!("{name}: {how}\n"),
                Err(why) => body += &format!("{name}: NOT READY: {why}\n"),
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
        health.set("peer", Ok("paired with 10.0.0.1:7200".into()));
        assert_eq!(health.readiness().0, UNAVAILABLE);
        health.set("stockpile", Ok("reached".into()));
        let (status, body) = health.readiness();
        assert_eq!((status, body.lines().next()), (OK, Some("ready")), "{body}");
        health.set("peer", Err("lost the peer".into()));
        assert!(health.readiness().1.contains("lost the peer"));
        health.stopping();
        assert_eq!(health.liveness(), (UNAVAILABLE, "stopping\n".into()));
        assert_eq!(health.readiness().0, UNAVAILABLE);
    }
}
