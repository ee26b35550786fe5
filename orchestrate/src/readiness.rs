//! Waiting until a started process can do its job, failing early (with its log) if any
//! process that should still run has exited meanwhile.

use std::path::Path;
use std::time::{Duration, Instant};

use dyad_store_client::StoreClient;
use dyad_store_client::token::read_token;

use crate::{OrchestrateError, ProcessId, Processes};

/// How often a condition is looked at again.
const POLL: Duration = Duration::from_millis(100);

/// Waits until the stockpile at `addr` answers an inventory with the token in `token` (the
/// store writes it on its first start), for up to a minute.
pub async fn store(
    addr: &str,
    token: &Path,
    children: &mut Processes,
) -> Result<(), OrchestrateError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        children.check_running(&[])?;
        if let Ok(token) = read_token(token)
            && let Ok(mut client) = StoreClient::connect(addr, &token).await
            && client.inventory().await.is_ok()
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(OrchestrateError::StoreNotUp(addr.to_owned()));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until a server's `log` says `text` (`dyad serve` logs "; serving" once paired), for
/// up to two minutes; `finished` are the children that may have exited.
pub async fn log_says(
    children: &mut Processes,
    finished: &[ProcessId],
    log: &Path,
    text: &str,
) -> Result<(), OrchestrateError> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        children.check_running(finished)?;
        if std::fs::read_to_string(log).is_ok_and(|l| l.contains(text)) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(OrchestrateError::NotServing(log.to_owned()));
        }
        tokio::time::sleep(POLL).await;
    }
}
