//! The one policy for calling a stockpile again: the offline workers' Puts and inventories and
//! the jobs' Takes all retry through [`Retry`], so "how long does a process wait for its
//! stockpile" has one answer.

use std::time::{Duration, Instant};

use crate::{MAX_WAIT, StoreClient, StoreClientError};

/// The first pause after an unreachable stockpile; it doubles after each failure.
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// The longest pause between two attempts.
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// Trying a stockpile call again while the failure is one that passes
/// ([`StoreClientError::is_retryable`]), until a deadline.
#[derive(Debug)]
pub struct Retry {
    deadline: Instant,
    pause: Duration,
    /// Whether an exhausted answer already waited at the stockpile (a Take with a wait), so
    /// the next attempt goes at once.
    exhausted_waited: bool,
}

impl Retry {
    /// Takes until `total` has passed. A Take that found too few items waited for them at
    /// the stockpile ([`Retry::remaining`]), so it is repeated at once; an unreachable
    /// stockpile is tried again after a pause.
    ///
    /// Taking again after a lost reply is safe: the lost reply's items stay leased until their
    /// lease expires and are then discarded, never handed out again.
    pub fn takes(total: Duration) -> Retry {
        Retry::new(total, true)
    }

    /// Any other call (a Put, an inventory) until `total` has passed, pausing before each new
    /// attempt: the stockpile is unreachable, restarting, or full.
    pub fn calls(total: Duration) -> Retry {
        Retry::new(total, false)
    }

    fn new(total: Duration, exhausted_waited: bool) -> Retry {
        Retry {
            deadline: Instant::now() + total,
            pause: FIRST_PAUSE,
            exhausted_waited,
        }
    }

    /// How long the next Take may wait at the stockpile: what is left, at most [`MAX_WAIT`].
    pub fn remaining(&self) -> Duration {
        self.deadline
            .saturating_duration_since(Instant::now())
            .min(MAX_WAIT)
    }

    /// Whether to call again after `error`, pausing first where that is the policy.
    pub async fn again(&mut self, error: &StoreClientError) -> bool {
        match self.pause_after(error, Instant::now()) {
            None => false,
            Some(Duration::ZERO) => true,
            Some(pause) => {
                tracing::warn!("{error}; trying again in {pause:?}");
                tokio::time::sleep(pause).await;
                true
            }
        }
    }

    /// The pause before calling again after `error` at `now`, or `None` to give up.
    fn pause_after(&mut self, error: &StoreClientError, now: Instant) -> Option<Duration> {
        if !error.is_retryable() || now >= self.deadline {
            return None;
        }
        if error.is_exhausted() && self.exhausted_waited {
            return Some(Duration::ZERO);
        }
        let pause = self.pause.min(self.deadline - now);
        self.pause = (self.pause * 2).min(LONGEST_PAUSE);
        Some(pause)
    }

    /// Runs `call` on `store` until it succeeds or fails for good.
    pub async fn run<T>(
        mut self,
        store: &mut StoreClient,
        mut call: impl AsyncFnMut(&mut StoreClient) -> Result<T, StoreClientError>,
    ) -> Result<T, StoreClientError> {
        loop {
            match call(store).await {
                Err(e) if self.again(&e).await => {}
                done => return done,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::{Code, Status};

    fn failed(code: Code) -> StoreClientError {
        StoreClientError::Call {
            addr: "s:7100".into(),
            status: Status::new(code, "why"),
        }
    }

    #[test]
    fn pauses_double_up_to_the_longest_and_end_at_the_deadline() {
        let mut retry = Retry::calls(Duration::from_secs(5));
        let start = retry.deadline - Duration::from_secs(5);
        let (mut now, mut pauses) = (start, Vec::new());
        while let Some(pause) = retry.pause_after(&failed(Code::Unavailable), now) {
            pauses.push(pause.as_millis());
            now += pause;
        }
        // The last pause is cut to the deadline.
        assert_eq!(pauses, [100, 200, 400, 800, 1600, 1900]);
        assert_eq!(now, retry.deadline);
    }

    #[test]
    fn a_take_that_waited_goes_again_at_once_a_put_pauses_and_refusals_end_it() {
        let mut takes = Retry::takes(Duration::from_secs(60));
        let now = Instant::now();
        let exhausted = failed(Code::ResourceExhausted);
        assert_eq!(takes.pause_after(&exhausted, now), Some(Duration::ZERO));
        assert_eq!(
            takes.pause_after(&failed(Code::Unavailable), now),
            Some(FIRST_PAUSE)
        );
        let mut puts = Retry::calls(Duration::from_secs(60));
        assert_eq!(puts.pause_after(&exhausted, now), Some(FIRST_PAUSE));
        for refusal in [
            Code::InvalidArgument,
            Code::PermissionDenied,
            Code::NotFound,
        ] {
            assert_eq!(puts.pause_after(&failed(refusal), now), None);
            assert_eq!(takes.pause_after(&failed(refusal), now), None);
        }
        let later = now + Duration::from_secs(61);
        assert_eq!(puts.pause_after(&failed(Code::Unavailable), later), None);
        assert_eq!(Retry::takes(Duration::ZERO).remaining(), Duration::ZERO);
    }
}
