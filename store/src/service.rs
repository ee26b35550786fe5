//! The `Stockpile` gRPC service over a [`Db`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dyad_proto::stockpile as pb;
use dyad_proto::stockpile::stockpile_server::Stockpile;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};

use dyad_store_client::MAX_WAIT;
use dyad_vocabulary::TagRange;

use crate::db::{Db, StoreError, StreamReport, Taken};

/// The service state shared by all calls.
#[derive(Clone)]
pub struct Service {
    db: Arc<Mutex<Db>>,
    /// Woken whenever items arrive, so waiting Takes look again.
    arrivals: Arc<Notify>,
}

/// A [`Service`] that does not keep the database open: background tasks hold this, so that
/// the database closes when the server drops the service.
pub struct WeakService {
    db: std::sync::Weak<Mutex<Db>>,
    arrivals: std::sync::Weak<Notify>,
}

impl WeakService {
    /// The service, while it is still open.
    pub fn upgrade(&self) -> Option<Service> {
        Some(Service {
            db: self.db.upgrade()?,
            arrivals: self.arrivals.upgrade()?,
        })
    }
}

impl From<StoreError> for Status {
    fn from(e: StoreError) -> Status {
        match e {
            StoreError::InvalidArgument(m) => Status::invalid_argument(m),
            StoreError::FailedPrecondition(m) => Status::failed_precondition(m),
            StoreError::ResourceExhausted(m) => Status::resource_exhausted(m),
            StoreError::NotFound(m) => Status::not_found(m),
            e @ StoreError::Storage(_) => Status::internal(e.to_string()),
        }
    }
}

impl Service {
    /// Serves `db`.
    pub fn new(db: Db) -> Service {
        Service {
            db: Arc::new(Mutex::new(db)),
            arrivals: Arc::new(Notify::new()),
        }
    }

    /// Runs `f` on the database on a blocking thread: RocksDB calls and synced writes block.
    async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Status> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut db = db
                .lock()
                .map_err(|_| StoreError::Storage("a store thread panicked".into()))?;
            f(&mut db)
        })
        .await
        .map_err(|e| Status::internal(format!("store task failed: {e}")))?
        .map_err(Status::from)
    }

    /// Tries `attempt` until it hands something out or `wait` has passed, looking again
    /// whenever items arrive; then fails naming what is missing.
    async fn wait_for(
        &self,
        wait: Duration,
        missing: impl Fn() -> String,
        attempt: impl Fn(&mut Db) -> Result<Option<Taken>, StoreError> + Clone + Send + 'static,
    ) -> Result<Taken, Status> {
        let deadline = Instant::now() + wait.min(MAX_WAIT);
        loop {
            // Register for wake-ups before looking, so an arrival in between is not missed.
            let arrived = self.arrivals.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if let Some(taken) = self.with_db(attempt.clone()).await? {
                return Ok(taken);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Status::resource_exhausted(missing()));
            }
            let _ = tokio::time::timeout(deadline - now, arrived).await;
        }
    }

    /// A handle that does not keep the database open.
    pub fn downgrade(&self) -> WeakService {
        WeakService {
            db: Arc::downgrade(&self.db),
            arrivals: Arc::downgrade(&self.arrivals),
        }
    }

    /// Every stream's line of the inventory, now.
    pub async fn inventory_now(&self) -> Result<Vec<StreamReport>, Status> {
        self.with_db(|db| Ok(db.inventory())).await
    }

    /// Resolves overdue leases as discarded, every `every`, until the service is dropped.
    pub fn spawn_lease_sweeper(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let db = Arc::downgrade(&self.db);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(db) = db.upgrade() else { return };
                let swept = tokio::task::spawn_blocking(move || {
                    db.lock()
                        .map_err(|_| StoreError::Storage("poisoned".into()))
                        .and_then(|mut db| db.expire_leases(Instant::now()))
                })
                .await;
                match swept {
                    Ok(Ok(0)) => {}
                    Ok(Ok(n)) => tracing::warn!(
                        "{n} leases were never acknowledged: their items count as discarded"
                    ),
                    Ok(Err(e)) => tracing::error!("expiring leases failed: {e}"),
                    Err(e) => tracing::error!("lease sweeper failed: {e}"),
                }
            }
        })
    }
}

fn reply(taken: Taken) -> Response<pb::TakeReply> {
    Response::new(pb::TakeReply {
        lease: taken.lease,
        item_bytes: taken.item_bytes,
        ranges: taken
            .ranges
            .iter()
            .map(|r| pb::ItemRange {
                lane: r.lane,
                first: r.seqs.start,
                count: r.count(),
            })
            .collect(),
        payload: taken.payload.into(),
    })
}

#[tonic::async_trait]
impl Stockpile for Service {
    async fn put(
        &self,
        request: Request<pb::PutRequest>,
    ) -> Result<Response<pb::PutReply>, Status> {
        let r = request.into_inner();
        let outcome = self
            .with_db(move |db| db.put(&r.stream, r.lane, r.first, &r.payload))
            .await?;
        if !outcome.already_present {
            self.arrivals.notify_waiters();
        }
        Ok(Response::new(pb::PutReply {
            already_present: outcome.already_present,
            pause: outcome.pause,
            stored_bytes: outcome.stored_bytes,
        }))
    }

    async fn take(
        &self,
        request: Request<pb::TakeRequest>,
    ) -> Result<Response<pb::TakeReply>, Status> {
        let r = request.into_inner();
        let at_least = if r.at_least == 0 { r.count } else { r.at_least };
        let (stream, count) = (r.stream.clone(), r.count);
        let db = self.db.clone();
        let missing = move || {
            let available = db
                .lock()
                .ok()
                .and_then(|db| db.inventory().into_iter().find(|s| s.stream == stream))
                .map_or(0, |s| s.available);
            format!("{stream}: asked for {at_least} items, {available} available after waiting")
        };
        let stream = r.stream;
        let taken = self
            .wait_for(
                Duration::from_millis(u64::from(r.wait_ms)),
                missing,
                move |db| db.take(&stream, at_least, count),
            )
            .await?;
        Ok(reply(taken))
    }

    async fn take_exact(
        &self,
        request: Request<pb::TakeExactRequest>,
    ) -> Result<Response<pb::TakeReply>, Status> {
        let r = request.into_inner();
        if r.ranges.is_empty() {
            return Err(Status::invalid_argument("name at least one range of items"));
        }
        let ranges: Vec<TagRange> = r
            .ranges
            .iter()
            .map(|r| TagRange::checked(r.lane, r.first, r.count))
            .collect::<Option<_>>()
            .ok_or_else(|| Status::invalid_argument("a range runs past the last item number"))?;
        let described: Vec<String> = ranges
            .iter()
            .map(|r| format!("lane {} items {}..{}", r.lane, r.seqs.start, r.seqs.end))
            .collect();
        let stream = r.stream.clone();
        let missing = move || {
            format!(
                "{stream}: {} not all put yet after waiting",
                described.join(", ")
            )
        };
        let stream = r.stream;
        let taken = self
            .wait_for(
                Duration::from_millis(u64::from(r.wait_ms)),
                missing,
                move |db| db.take_exact(&stream, &ranges),
            )
            .await?;
        Ok(reply(taken))
    }

    async fn ack(
        &self,
        request: Request<pb::AckRequest>,
    ) -> Result<Response<pb::AckReply>, Status> {
        let lease = request.into_inner().lease;
        self.with_db(move |db| db.ack(lease)).await?;
        Ok(Response::new(pb::AckReply {}))
    }

    async fn inventory(
        &self,
        _request: Request<pb::InventoryRequest>,
    ) -> Result<Response<pb::InventoryReply>, Status> {
        let reply = self
            .with_db(|db| {
                let budget = db.budget();
                Ok(pb::InventoryReply {
                    party: u32::from(db.party()),
                    streams: db
                        .inventory()
                        .into_iter()
                        .map(|s| pb::StreamInventory {
                            stream: s.stream,
                            item_bytes: s.item_bytes,
                            available: s.available,
                            bytes: s.bytes,
                            put: s.put,
                            taken: s.taken,
                            discarded: s.discarded,
                            in_flight: s.in_flight,
                        })
                        .collect(),
                    stored_bytes: db.stored_bytes(),
                    budget_bytes: budget.budget_bytes,
                    high_water_bytes: budget.high_water_bytes,
                })
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn lane_status(
        &self,
        request: Request<pb::LaneStatusRequest>,
    ) -> Result<Response<pb::LaneStatusReply>, Status> {
        let r = request.into_inner();
        let (next, lowest_available) = self
            .with_db(move |db| db.lane_status(&r.stream, r.lane))
            .await?;
        Ok(Response::new(pb::LaneStatusReply {
            next,
            lowest_available,
        }))
    }

    async fn align(
        &self,
        request: Request<pb::AlignRequest>,
    ) -> Result<Response<pb::AlignReply>, Status> {
        let r = request.into_inner();
        let (discarded, next) = self
            .with_db(move |db| db.align(&r.stream, r.lane, r.keep_below, r.next))
            .await?;
        Ok(Response::new(pb::AlignReply { discarded, next }))
    }
}
