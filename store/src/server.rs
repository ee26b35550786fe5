//! Running a stockpile: open the database, serve gRPC until told to stop.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dyad_proto::stockpile::stockpile_server::StockpileServer;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;

use crate::auth::CheckToken;
use dyad_store_client::MAX_MESSAGE_BYTES;

use crate::db::{Budget, Db, StoreError};
use crate::service::Service;
use crate::usage::UsageWindow;

/// How a stockpile is run.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The party (0 or 1) whose stockpile this is; a data directory belongs to one party.
    pub party: u8,
    /// The RocksDB directory.
    pub data_dir: PathBuf,
    /// The token clients must present.
    pub token: String,
    /// Disk limits.
    pub budget: Budget,
    /// How long a Take's items may wait for acknowledgement before counting as discarded.
    pub lease_ttl: Duration,
    /// Delete, at open, the records of streams whose kind this version does not know.
    pub drop_retired: bool,
    /// Keep a ledger of every item that leaves ([`crate::audit`]); once on, it stays on.
    pub audit: bool,
}

/// Largest gRPC message: the biggest payload plus room for the envelope.
const MAX_GRPC_MESSAGE: usize = (MAX_MESSAGE_BYTES + (1 << 20)) as usize;

/// Opens the stockpile and serves it on `listener` until `shutdown` completes; then finishes
/// the calls in progress and closes the database cleanly.
pub async fn serve(
    config: StoreConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    open(config).await?.serve(listener, shutdown).await
}

/// Why a stockpile could not be opened or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The database refused.
    #[error("cannot {action} in {}: {source}", dir.display())]
    Db {
        /// What was being done.
        action: &'static str,
        /// The data directory.
        dir: PathBuf,
        /// The engine's error.
        #[source]
        source: StoreError,
    },
    /// The task opening the database ended abnormally.
    #[error("opening the stockpile failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The gRPC server failed.
    #[error("the stockpile server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// An open stockpile, not yet serving: [`open`] and then [`Opened::serve`] let a process say
/// when it is ready, and watch its use ([`Opened::usage`]).
pub struct Opened {
    service: Service,
    lease_ttl: Duration,
    token: String,
}

/// How often [`Opened::usage`] samples the counters.
const USAGE_EVERY: Duration = Duration::from_secs(1);

/// Opens the stockpile `config` describes (creating it, dropping retired streams and starting
/// the ledger as it asks).
pub async fn open(config: StoreConfig) -> Result<Opened, ServerError> {
    let lease_ttl = config.lease_ttl;
    let token = config.token.clone();
    let db = tokio::task::spawn_blocking(move || {
        let failed = |action| {
            let dir = config.data_dir.clone();
            move |source| ServerError::Db {
                action,
                dir,
                source,
            }
        };
        let mut db = Db::open(
            &config.data_dir,
            config.party,
            config.budget,
            config.lease_ttl,
        )
        .map_err(failed("open the stockpile"))?;
        if config.drop_retired {
            let dropped = db
                .drop_retired()
                .map_err(failed("delete the retired streams"))?;
            for name in dropped {
                tracing::info!(
                    "deleted stream {name}, of a kind or a record layout this version does not read"
                );
            }
        }
        if config.audit {
            db.start_audit().map_err(failed("start the ledger"))?;
        }
        Ok::<_, ServerError>(db)
    })
    .await??;
    Ok(Opened {
        service: Service::new(db),
        lease_ttl,
        token,
    })
}

impl Opened {
    /// Samples the streams' counters every second from now on, for as long as the stockpile
    /// is open, into a window whose [`UsageWindow::prometheus`] gives the rates of use and
    /// seconds of stock.
    pub fn usage(&self) -> Arc<Mutex<UsageWindow>> {
        let window = Arc::new(Mutex::new(UsageWindow::default()));
        let (service, into) = (self.service.downgrade(), Arc::downgrade(&window));
        tokio::spawn(async move {
            let mut every = tokio::time::interval(USAGE_EVERY);
            loop {
                every.tick().await;
                let (Some(service), Some(into)) = (service.upgrade(), into.upgrade()) else {
                    return;
                };
                if let Ok(inventory) = service.inventory_now().await
                    && let Ok(mut window) = into.lock()
                {
                    window.record(std::time::Instant::now(), &inventory);
                }
            }
        });
        window
    }

    /// Serves the stockpile on `listener` until `shutdown` completes; then finishes the calls
    /// in progress and closes the database cleanly.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        let Opened {
            service,
            lease_ttl,
            token,
        } = self;
        let sweeper = service.spawn_lease_sweeper(lease_ttl.min(Duration::from_secs(5)));
        let grpc = StockpileServer::new(service)
            .max_decoding_message_size(MAX_GRPC_MESSAGE)
            .max_encoding_message_size(MAX_GRPC_MESSAGE);
        let result = tonic::transport::Server::builder()
            .initial_stream_window_size(Some(16 << 20))
            .initial_connection_window_size(Some(32 << 20))
            .add_service(InterceptedService::new(grpc, CheckToken::new(token)))
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                shutdown,
            )
            .await
            .map_err(ServerError::from);
        // Dropping the service (and with it the last handle on the database) closes RocksDB.
        sweeper.abort();
        result
    }
}
